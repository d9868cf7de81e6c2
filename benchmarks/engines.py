"""Rollout engines side by side: tokens/s of rlvr's torch engine, vLLM driven by rlvr, and vLLM's
own `LLM.generate` on the same prompts and settings; the cost of a weight push.

Same model, prompts (synthetic-suite questions rendered with the chat template), n, temperature 1,
fp32 and max_new_tokens for all three; tokens counted are the completion tokens each returns.
Rounds alternate between the engines (the machine is noisy) and the medians are compared:
`vllm (rlvr) / vllm (own)` is what rlvr adds on top of vLLM (target >= 0.9). The push is
`VllmSampler.sync_weights()` (all weights in place, prefix cache reset), reported in ms and as a
share of a training step of `benchmarks`' default shape measured by rlvr train (`--step-s`).

    .venv/bin/python benchmarks/engines.py [--prompts 16] [--n 8] [--new-tokens 128] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rlvr.models import model_path
from rlvr.sampling.base import SamplingParams
from rlvr.sampling.torch_backend import TorchSampler
from rlvr.sampling.vllm_backend import VllmSampler
from rlvr.suites.synthetic import synthetic_suite


def tokens_per_second(run) -> float:
    t0 = time.perf_counter()
    tokens = run()
    return tokens / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-reasoner")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--step-s", type=float, default=None, help="a training step's seconds, for the push's share")
    args = parser.parse_args()

    path = model_path(args.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    problems = synthetic_suite(per_task=2, seed=11)[: args.prompts]
    torch_engine = TorchSampler(model, tokenizer, batch_size=args.prompts * args.n)
    vllm_engine = VllmSampler(path, tokenizer, batch_size=args.prompts * args.n, max_model_len=args.new_tokens + 512)
    vllm_engine.attach(model)
    prompt_ids = [torch_engine.encode(p.prompt_text()) for p in problems]
    params = SamplingParams(n=args.n, temperature=1.0, max_new_tokens=args.new_tokens)

    from vllm import SamplingParams as VllmParams
    from vllm.inputs import TokensPrompt

    own_params = VllmParams(n=args.n, temperature=1.0, max_tokens=args.new_tokens, logprobs=0)
    own_prompts = [TokensPrompt(prompt_token_ids=ids) for ids in prompt_ids]

    def count(groups) -> int:
        return sum(len(s.token_ids) for g in groups for s in g)

    runs = {
        "torch (rlvr)": lambda: count(torch_engine.generate(prompt_ids, params)),
        "vllm (rlvr)": lambda: count(vllm_engine.generate(prompt_ids, params)),
        "vllm (own LLM.generate)": lambda: sum(len(c.token_ids) for o in vllm_engine.llm.generate(
            own_prompts, own_params, use_tqdm=False) for c in o.outputs),
    }
    for run in runs.values():  # warm-up
        run()
    speeds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            speeds[name].append(tokens_per_second(run))
    pushes = []
    for _ in range(5):
        t0 = time.perf_counter()
        vllm_engine.sync_weights()
        pushes.append(time.perf_counter() - t0)

    median = {name: statistics.median(v) for name, v in speeds.items()}
    print(f"{args.model}: {args.prompts} prompts x {args.n} samples, up to {args.new_tokens} new tokens, "
          f"temperature 1, fp32, {torch.get_num_threads()} threads, medians of {args.rounds} alternating rounds")
    for name, value in median.items():
        print(f"  {name:26s} {value:8.0f} tok/s")
    print(f"  vllm (rlvr) / vllm (own):  {median['vllm (rlvr)'] / median['vllm (own LLM.generate)']:.2f}x")
    print(f"  torch (rlvr) / vllm (own): {median['torch (rlvr)'] / median['vllm (own LLM.generate)']:.2f}x")
    push = statistics.median(pushes)
    share = f", {100 * push / args.step_s:.1f}% of a {args.step_s:.1f} s step" if args.step_s else ""
    print(f"  weight push: {1000 * push:.0f} ms (median of 5){share}")


if __name__ == "__main__":
    main()
