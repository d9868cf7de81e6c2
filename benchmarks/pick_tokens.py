"""One decode step's token draw: rlvr's `pick_tokens` vs the straightforward way, side by side.

The straightforward way: log_softmax over the vocabulary, exp, one float64 cumulative sum, one
uniform per row (what `pick_tokens` did before its two-level CDF and in-place exp). Both draw
from the same uniforms, so the tokens should agree except within float32 rounding of a CDF
boundary. Timings alternate between the two, medians over `--reps`.

    .venv/bin/python benchmarks/pick_tokens.py [--rows 64] [--vocab 151936] [--reps 12]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rlvr.sampling.base import SamplingParams
from rlvr.sampling.torch_backend import pick_tokens


def straightforward(logits: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    logp = torch.log_softmax(logits.float(), dim=-1)
    cdf = logp.exp().double().cumsum(dim=-1)
    u = torch.rand(len(logits), 1, generator=generator, dtype=torch.float64)
    tokens = torch.searchsorted(cdf, u * cdf[:, -1:], right=True)[:, 0].clamp(max=logits.shape[1] - 1)
    return tokens, logp.gather(-1, tokens[:, None])[:, 0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--vocab", type=int, default=151_936)
    parser.add_argument("--reps", type=int, default=12)
    args = parser.parse_args()
    logits = torch.randn(args.rows, args.vocab, generator=torch.Generator().manual_seed(0)) * 3
    times: dict[str, list[float]] = {"straightforward": [], "pick_tokens": []}
    agree, gap = [], 0.0
    for rep in range(args.reps):
        start = time.perf_counter()
        ref_tokens, ref_lp = straightforward(logits, torch.Generator().manual_seed(rep))
        times["straightforward"].append(time.perf_counter() - start)
        start = time.perf_counter()
        tokens, lp, _ = pick_tokens(logits, SamplingParams(), torch.Generator().manual_seed(rep))
        times["pick_tokens"].append(time.perf_counter() - start)
        same = tokens == ref_tokens
        agree.append(float(same.float().mean()))
        gap = max(gap, float((lp[same] - ref_lp[same]).abs().max()) if bool(same.any()) else 0.0)
    ms = {k: 1000 * statistics.median(v) for k, v in times.items()}
    print(f"{args.rows} rows x {args.vocab} vocabulary, temperature 1, median of {args.reps}")
    for name, value in ms.items():
        print(f"  {name:16s} {value:7.1f} ms per step")
    print(f"  speed-up {ms['straightforward'] / ms['pick_tokens']:.2f}x; same token in "
          f"{100 * statistics.mean(agree):.2f}% of rows; max |log-prob difference| {gap:.1e}")


if __name__ == "__main__":
    main()
