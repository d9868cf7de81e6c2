"""SFT step time of the shipped tiny reasoner in fp32 vs bf16 autocast, side by side in one run.

Same batches (32 synthetic worked solutions each), same model, interleaved (fp32, bf16, fp32,
bf16) so machine noise hits both; prints seconds per step and the ratio.

    .venv/bin/python benchmarks/sft_precision.py [--steps 8]
"""

from __future__ import annotations

import argparse
import random
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rlvr.models import model_path
from rlvr.suites.synthetic import synthetic_suite
from rlvr.train.sft import batches, compact, encode_example


def seconds_per_step(model, optimizer, chosen, precision: str) -> float:
    start = time.perf_counter()
    for ids, labels, mask in chosen:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    path = model_path("tiny-reasoner")
    model, tokenizer = AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    examples = [compact(*encode_example(tokenizer, p)) for p in synthetic_suite(per_task=10, seed=20)]
    chosen = list(batches(examples, 32, tokenizer.pad_token_id, random.Random(0)))[: args.steps]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)  # tiny: the weights barely move between rounds
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for precision in ["fp32", "bf16"] * 2:
        times[precision].append(seconds_per_step(model, optimizer, chosen, precision))
    fp32, bf16 = min(times["fp32"]), min(times["bf16"])
    tokens = sum(ids.numel() for ids, _, _ in chosen) / len(chosen)
    print(f"{args.steps} steps of batch 32 (~{tokens:.0f} tokens incl. padding), best of 2 rounds each")
    print("| precision | s/step |\n|---|---|")
    print(f"| fp32 | {fp32:.3f} |\n| bf16 autocast | {bf16:.3f} |")
    print(f"bf16 speed-up: {fp32 / bf16:.2f}x")


if __name__ == "__main__":
    main()
