"""Time one `rlvr sft` step of the shipped tiny reasoner, split into its parts, on a device.

    python benchmarks/sft_step_time.py [--device cuda] [--batch 256] [--steps 20]

Prints the median time of data collation, forward, backward and optimizer step (synchronized),
then a profiler table of the costliest operators, to tell a launch-bound step from a compute-bound one.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rlvr.config import SFTConfig
from rlvr.models import model_path
from rlvr.train.sft import batches, training_examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
    parser.add_argument("--data-seeds", type=int, default=0, help="also time making this many seeds' data")
    args = parser.parse_args()
    path = model_path("tiny-reasoner")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).to(args.device)
    print("device", args.device, "attention", model.config._attn_implementation, "torch", torch.__version__)
    cfg = SFTConfig(model=str(path), per_task=40, suite_seeds=[1000, 1001])
    examples = training_examples(cfg, tokenizer)
    if args.data_seeds:
        start = time.perf_counter()
        made = training_examples(cfg.model_copy(update={"suite_seeds": list(range(args.data_seeds)), "workers": 0}),
                                 tokenizer)
        print(f"data: {len(made)} examples in {time.perf_counter() - start:.1f} s with one process per core")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    times: dict[str, list[float]] = {"collate": [], "forward": [], "backward": [], "optimizer": []}
    batch_iter = batches(examples, args.batch, tokenizer.pad_token_id, random.Random(0))

    def step(record: bool) -> None:
        t0 = time.perf_counter()
        ids, labels, mask = (t.to(args.device) for t in next(batch_iter))
        sync()
        t1 = time.perf_counter()
        with torch.autocast(args.device.split(":")[0], dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        sync()
        t2 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        sync()
        t3 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss.item()
        t4 = time.perf_counter()
        if record:
            for key, value in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                times[key].append(value)

    for _ in range(3):
        step(False)
    for _ in range(args.steps):
        step(True)
    medians = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print("median ms:", {k: round(v, 1) for k, v in medians.items()}, "total", round(sum(medians.values()), 1))
    with torch.profiler.profile() as prof:
        for _ in range(3):
            step(False)
    sort = "self_cuda_time_total" if args.device.startswith("cuda") else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=sort, row_limit=15))


if __name__ == "__main__":
    main()
