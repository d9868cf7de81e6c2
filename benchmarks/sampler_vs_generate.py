"""Tokens per second: rlvr's TorchSampler vs transformers' model.generate(), side by side.

Same model, prompts, n (num_return_sequences), sampling settings and max_new_tokens; 64
sequences per batch. Tokens counted are real completion tokens (up to and including EOS) for
both. Also checks that greedy outputs are identical. Models have random weights (no hub):
`tiny` (our builder's default size), `qwen2-100m` (a ~100M-parameter Qwen2 config with our
2,048-token vocabulary) and `qwen2-100m-vocab152k` (~100M, Qwen2's 151,936-token vocabulary).
rlvr runs three times: with its CPU defaults (the prompt cache shared by a prompt's n samples,
`rlvr/sampling/shared_prefix.py`, and large linears through oneDNN with packed weights,
`rlvr/sampling/prepacked.py`), with a plain cache (n copies), and with the shared cache but
PyTorch's own linears (`rlvr mkl`), so the packed weights' share of the gain shows. `--few-shot K` puts K worked
examples before each question, for prompts of a few hundred tokens.

    .venv/bin/python benchmarks/sampler_vs_generate.py [--models tiny,qwen2-100m] [--new-tokens 64] [--few-shot 8]
    python benchmarks/sampler_vs_generate.py --device cuda [--batch 256]   # bf16 weights on a GPU
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from rlvr.models.tiny import build_model, build_tokenizer
from rlvr.sampling.base import SamplingParams
from rlvr.sampling.kv_cache import keeps_only_some_logits
from rlvr.sampling.torch_backend import TorchSampler
from rlvr.suites.synthetic import synthetic_suite

SIZES = {"tiny": {"hidden": 64, "layers": 2, "heads": 4},
         "qwen2-100m": {"hidden": 768, "layers": 10, "heads": 12},
         # Qwen2's real vocabulary: the output layer and the per-step sampling over 151,936 logits
         # dominate, as they do for real models of this size.
         "qwen2-100m-vocab152k": {"hidden": 512, "layers": 8, "heads": 8, "vocab_size": 151_936}}


def count_tokens(rows: torch.Tensor, eos: set[int], pad: int) -> int:
    total = 0
    for row in rows.tolist():
        for t in row:
            total += 1
            if t in eos:
                break
    return total


def bench(name: str, tokenizer, prompts: list[str], n: int, new_tokens: int, model=None, device: str = "cpu",
          dtype: str = "fp32", floor: bool = False) -> None:
    model = model if model is not None else build_model(tokenizer, **SIZES[name]).eval()
    if device == "cuda" or dtype == "bf16":  # bf16 is what TorchSampler.from_pretrained loads on CUDA
        model = model.to(device=device, dtype=torch.bfloat16)
    params_m = sum(p.numel() for p in model.parameters()) / 1e6
    sampler = TorchSampler(model, tokenizer, batch_size=len(prompts) * n, share_prompt_cache=device == "cpu")
    plain = TorchSampler(model, tokenizer, batch_size=len(prompts) * n, share_prompt_cache=False)
    unpacked = TorchSampler(model, tokenizer, batch_size=len(prompts) * n, share_prompt_cache=device == "cpu",
                            prepack_linears=False)
    packed_layers = len(sampler.prepacked.layers) if sampler.prepacked else 0
    ids = [sampler.encode(p) for p in prompts]
    params = SamplingParams(n=n, temperature=1.0, top_p=1.0, max_new_tokens=new_tokens, seed=0)

    pad = tokenizer.pad_token_id
    width = max(len(x) for x in ids)
    batch = torch.tensor([[pad] * (width - len(x)) + x for x in ids], device=device)
    mask = (torch.arange(width)[None, :] >= torch.tensor([width - len(x) for x in ids])[:, None]).long().to(device)

    def run_generate(do_sample: bool):
        with torch.inference_mode():
            return model.generate(batch, attention_mask=mask, max_new_tokens=new_tokens, do_sample=do_sample,
                                  top_p=1.0 if do_sample else None, top_k=0, temperature=1.0 if do_sample else None,
                                  num_return_sequences=n if do_sample else 1, pad_token_id=pad,
                                  eos_token_id=list(sampler.eos_ids))[:, width:]

    # greedy parity
    ours_greedy = sampler.generate(ids, SamplingParams(n=1, temperature=0, max_new_tokens=new_tokens))
    ref_greedy = run_generate(False)
    same = all(g[0].token_ids == r[: len(g[0].token_ids)].tolist() for g, r in zip(ours_greedy, ref_greedy))

    times = {"rlvr": [], "plain": [], "mkl": [], "generate": []}
    tokens = {}
    for _ in range(2):  # interleaved repeats share the machine's noise
        for key, which in (("rlvr", sampler), ("plain", plain), ("mkl", unpacked)):
            t = time.perf_counter()
            out = which.generate(ids, params)
            times[key].append(time.perf_counter() - t)
            tokens[key] = sum(len(s.token_ids) for g in out for s in g)
        torch.manual_seed(0)
        t = time.perf_counter()
        ref = run_generate(True)
        if device == "cuda":
            torch.cuda.synchronize()
        times["generate"].append(time.perf_counter() - t)
        tokens["generate"] = count_tokens(ref, sampler.eos_ids, pad)
    rate = {k: tokens[k] / min(v) for k, v in times.items()}
    print(f"{name:<21} {params_m:>7.1f}M  {len(prompts)}x{n} {width:>7}  {rate['generate']:>12.0f} "
          f"{rate['plain']:>10.0f} {rate['mkl']:>10.0f} {rate['rlvr']:>10.0f} "
          f"{rate['plain'] / rate['generate']:>7.2f}x {rate['mkl'] / rate['generate']:>7.2f}x "
          f"{rate['rlvr'] / rate['generate']:>7.2f}x   "
          f"greedy identical: {same}; {packed_layers} packed linears")
    if floor:
        ours, theirs = forwards_alone(model, batch, len(prompts) * n, new_tokens)
        print(f"{'':<21} forwards alone (no cache, no sampling; an estimate, not a bound): rlvr {ours:.2f} s "
              f"(measured {min(times['rlvr']):.2f} s), generate() {theirs:.2f} s (measured "
              f"{min(times['generate']):.2f} s); their ratio: {theirs / ours:.2f}x")


@torch.inference_mode()
def forwards_alone(model, batch: torch.Tensor, rows: int, new_tokens: int) -> tuple[float, float]:
    """Seconds of the forwards a sampler of this model runs, with the KV cache and sampling left
    out (a decode loop's own forwards can come in under this: another attention path): one
    prefill per prompt + new_tokens single-token steps of `rows` rows, and the same with every
    prompt prefilled once per sample, as generate() does."""
    n = rows // batch.shape[0]
    step_ids = batch[:, -1:].repeat_interleave(n, 0)
    last_only = {"logits_to_keep": 1} if keeps_only_some_logits(type(model)) else {}  # as forward_step does

    def seconds(ids: torch.Tensor, repeats: int = 1) -> float:
        model(input_ids=ids, use_cache=False)  # warm-up
        t = time.perf_counter()
        for _ in range(repeats):
            model(input_ids=ids, use_cache=False, **last_only)
        return (time.perf_counter() - t) / repeats

    step = seconds(step_ids, repeats=8) * new_tokens
    return seconds(batch) + step, seconds(batch.repeat_interleave(n, 0)) + step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="tiny,qwen2-100m,qwen2-100m-vocab152k")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64, help="sequences per batch (prompts x n)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"], help="weights on CPU (CUDA: always bf16)")
    parser.add_argument("--few-shot", type=int, default=0, help="worked examples before each question")
    parser.add_argument("--floor", action="store_true", help="also time the model's forwards alone, without a "
                                                             "cache: the arithmetic both samplers must do")
    parser.add_argument("--model-dir", help="also measure a trained model (e.g. runs/tiny_reasoner), whose "
                                            "samples stop at different lengths")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    problems = synthetic_suite(per_task=-(-args.batch // args.n // 10), levels=(1,))
    tokenizer = build_tokenizer([p.prompt_text() + p.meta["solution"] for p in synthetic_suite(per_task=3)], 2048)
    prompts = [p.prompt_text() for p in problems][: args.batch // args.n]
    shots = [p.prompt_text() + "\n" + p.meta["solution"] for p in synthetic_suite(per_task=1, levels=(2,))]
    prompts = ["\n\n".join(shots[i : i + args.few_shot] + [q]) for i, q in enumerate(prompts)]
    where = torch.cuda.get_device_name() + ", bf16" if args.device == "cuda" else f"CPU, {args.dtype}"
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, {where}; "
          f"batch = {len(prompts) * args.n} sequences, "
          f"max_new_tokens = {args.new_tokens}, temperature 1.0, top_p 1.0 (the RL setting)")
    print(f"{'model':<21} {'params':>8}  batch  prompt  {'generate tok/s':>14} {'rlvr plain':>10} "
          f"{'rlvr mkl':>10} {'rlvr':>10} {'plain/gen':>9} {'mkl/gen':>7} {'rlvr/gen':>7}")
    for name in [m for m in args.models.split(",") if m]:
        bench(name, tokenizer, prompts, args.n, args.new_tokens, device=args.device, dtype=args.dtype, floor=args.floor)
    if args.model_dir:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        trained = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32).eval()
        bench("trained:" + args.model_dir.rstrip("/").split("/")[-1], AutoTokenizer.from_pretrained(args.model_dir),
              prompts, args.n, args.new_tokens, model=trained, device=args.device, dtype=args.dtype)


if __name__ == "__main__":
    main()
