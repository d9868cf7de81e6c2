"""Peak memory and time: chunked per-token log-probs + entropy vs naive log_softmax + gather.

Each measurement runs in a fresh subprocess (peak RSS above the inputs' baseline), interleaved,
at Qwen2's vocabulary (151,936) and 4,096 tokens; forward only (old/reference log-probs) and
forward + backward (the policy). Results are compared for equality.
Target (issue 4): >= 5x less peak memory, equal within 1e-5, time within 1.2x.
`--device cuda` measures naive, the torch blocks and the Triton kernels on a GPU in one process
(peak = torch.cuda.max_memory_allocated above the inputs; time = median of 5 after a warm-up).

    .venv/bin/python benchmarks/chunked_logprobs.py [--tokens 4096] [--vocab 151936] [--hidden 256]
    python benchmarks/chunked_logprobs.py --device cuda [--hidden 896]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def child(method: str, backward: bool, tokens: int, vocab: int, hidden: int, out: str) -> None:
    import torch

    from rlvr.algo.logprobs import naive_token_logprobs, token_logprobs

    torch.manual_seed(0)
    h = (torch.randn(tokens, hidden) * 0.5).requires_grad_(backward)
    w = (torch.randn(vocab, hidden) * 0.05).requires_grad_(backward)
    targets = torch.randint(0, vocab, (tokens,))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn = token_logprobs if method == "chunked" else naive_token_logprobs
    start = time.perf_counter()
    with torch.set_grad_enabled(backward):
        logp, entropy = fn(h, w, targets)
        if backward:
            (logp.sum() + 0.01 * entropy.sum()).backward()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    grad = h.grad[:64].flatten().tolist() if backward else []
    # float64 truth on the first 64 tokens, after the peak was read
    truth_lp, truth_ent = naive_token_logprobs(h[:64].detach().double(), w.detach().double(), targets[:64])
    logp, entropy = logp.detach(), entropy.detach()
    errors = {"logp": float((logp[:64].double() - truth_lp).abs().max()),
              "entropy": float((entropy[:64].double() - truth_ent).abs().max())}
    json.dump({"seconds": seconds, "peak_mb": (peak - base) / 1024, "logp": logp.tolist(),
               "entropy": entropy.tolist(), "grad": grad, "error_vs_float64": errors}, open(out, "w"))


def measure(method, backward, args) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([sys.executable, __file__, "--child", method, "--backward", str(int(backward)),
                        "--tokens", str(args.tokens), "--vocab", str(args.vocab), "--hidden", str(args.hidden),
                        "--out", f.name], check=True)
        return json.load(open(f.name))


def _cuda_pass(fn, h, w, targets, coef, backward: bool):
    import torch

    h.grad = w.grad = None
    with torch.set_grad_enabled(backward):
        lp, ent = fn(h, w, targets)
        if backward:
            (lp * coef + 0.01 * ent).sum().backward()
    return lp.detach(), ent.detach(), (h.grad if backward else None)


def cuda_main(args) -> None:
    import torch

    from rlvr.algo.logprobs import naive_token_logprobs, token_logprobs

    torch.manual_seed(0)
    h0 = torch.randn(args.tokens, args.hidden, device="cuda") * 0.5
    w0 = torch.randn(args.vocab, args.hidden, device="cuda") * 0.05
    targets = torch.randint(0, args.vocab, (args.tokens,), device="cuda")
    coef = torch.randn(args.tokens, device="cuda")
    methods = {"naive": naive_token_logprobs,
               "torch blocks": lambda h, w, t: token_logprobs(h, w, t, backend="torch"),
               "triton": lambda h, w, t: token_logprobs(h, w, t, backend="triton")}
    print(f"machine: {torch.cuda.get_device_name()}, torch {torch.__version__}; {args.tokens} tokens, "
          f"vocabulary {args.vocab}, hidden {args.hidden}, float32")
    print(f"{'pass':<18} {'method':<13} {'peak MB':>9} {'ms':>9} {'mem vs naive':>13} {'time vs naive':>14} "
          f"{'max |diff| vs naive':>20}")
    for backward in (False, True):
        rows = {}
        for name, fn in methods.items():
            h, w = h0.clone().requires_grad_(backward), w0.clone().requires_grad_(backward)

            _cuda_pass(fn, h, w, targets, coef, backward)  # warm-up (Triton compiles here)
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            times = []
            for _ in range(5):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                out = _cuda_pass(fn, h, w, targets, coef, backward)
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            peak = (torch.cuda.max_memory_allocated() - base) / 2**20
            rows[name] = (peak, sorted(times)[2], out)
        ref = rows["naive"]
        for name, (peak, ms, out) in rows.items():
            diff = max(float((a.double() - b.double()).abs().max()) for a, b in zip(out, ref[2]) if a is not None)
            print(f"{'forward+backward' if backward else 'forward':<18} {name:<13} {peak:>9.0f} {ms:>9.2f} "
                  f"{ref[0] / max(peak, 1e-3):>12.1f}x {ms / ref[1]:>13.2f}x {diff:>20.1e}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--vocab", type=int, default=151_936)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--child")
    parser.add_argument("--backward", type=int, default=0)
    parser.add_argument("--out")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    if args.device == "cuda":
        return cuda_main(args)
    if args.child:
        return child(args.child, bool(args.backward), args.tokens, args.vocab, args.hidden, args.out)
    print(f"machine: {os.cpu_count()} cores, CPU; {args.tokens} tokens, vocabulary {args.vocab}, hidden {args.hidden}")
    print(f"{'pass':<18} {'naive MB':>9} {'chunked MB':>11} {'mem ratio':>10} {'naive s':>8} {'chunked s':>10} "
          f"{'time ratio':>11} {'max |diff|':>11}")
    for backward in (False, True):
        naive = measure("naive", backward, args)
        chunked = measure("chunked", backward, args)
        diffs = {key: max((abs(a - b) for a, b in zip(naive[key], chunked[key])), default=0.0)
                 for key in ("logp", "entropy", "grad")}
        diff = max(diffs.values())
        label = "forward+backward" if backward else "forward"
        print(f"{label:<18} {naive['peak_mb']:>9.0f} {chunked['peak_mb']:>11.0f} "
              f"{naive['peak_mb'] / max(chunked['peak_mb'], 1):>9.1f}x {naive['seconds']:>8.2f} "
              f"{chunked['seconds']:>10.2f} {chunked['seconds'] / naive['seconds']:>10.2f}x {diff:>11.1e}  "
              + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items() if v))
        print(f"{'':<18} error vs float64 (first 64 tokens): naive {naive['error_vs_float64']}, "
              f"chunked {chunked['error_vs_float64']}")


if __name__ == "__main__":
    main()
