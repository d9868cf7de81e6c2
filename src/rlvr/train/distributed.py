"""Training on several processes with torch.distributed (launched by torchrun).

`Ranks` is what the learner needs to know of the others: its rank, how many there are, and three
collectives: summing numbers (the loss's normalizers are global counts, gathered before the
backward pass, so that N ranks compute the loss of one process over the same global batch),
agreeing on a count (every rank runs the same number of optimizer steps), and summing gradients
(one flat all-reduce per optimizer step, when the weights are replicated; FSDP2 reduces a sharded
learner's own, rlvr.train.sharding). With one process every collective is the identity, so the
single-process code path is the same code.

    torchrun --nproc-per-node 2 -m rlvr train CONFIG.yaml     # (see docs/distributed.md)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import timedelta

import torch
import torch.distributed as dist


@dataclass
class Traffic:
    """What the collectives of a run cost this rank: seconds waited and bytes reduced."""

    seconds: float = 0.0
    bytes: int = 0


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    traffic: Traffic = field(default_factory=Traffic, compare=False)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sums over the ranks (float64, so counts stay exact)."""
        if self.world == 1:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64)
        self._reduce(tensor, dist.ReduceOp.SUM)
        return tensor.tolist()

    def max(self, value: int) -> int:
        if self.world == 1:
            return value
        tensor = torch.tensor([value], dtype=torch.int64)
        self._reduce(tensor, dist.ReduceOp.MAX)
        return int(tensor.item())

    def barrier(self) -> None:
        self.sum([0.0])

    def sum_gradients(self, parameters: list[torch.nn.Parameter]) -> None:
        """Replace each gradient by its sum over the ranks; a rank with no gradient (no rows with
        a loss this step) contributes zeros. One flat buffer: one collective per step."""
        if self.world == 1:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
        flat = torch.cat([g.reshape(-1) for g in grads])
        self._reduce(flat, dist.ReduceOp.SUM)
        offset = 0
        for p, g in zip(parameters, grads):
            p.grad = flat[offset : offset + g.numel()].view_as(g).clone()
            offset += g.numel()


    def _reduce(self, tensor: torch.Tensor, op) -> None:
        start = time.perf_counter()
        dist.all_reduce(tensor, op=op)
        self.traffic.seconds += time.perf_counter() - start
        self.traffic.bytes += tensor.numel() * tensor.element_size()


SINGLE = Ranks()


def join(timeout_s: float | None = None) -> Ranks:
    """This process's place among torchrun's (RANK, WORLD_SIZE, MASTER_ADDR/PORT in the
    environment), or SINGLE without them. A collective waits at most `timeout_s` (default
    RLVR_DIST_TIMEOUT_S or 30 minutes: longer than rank 0 may work alone, writing a checkpoint or a
    report), so a rank on another machine that died ends the others instead of hanging them; on one
    machine torchrun ends them at once."""
    timeout_s = timeout_s or float(os.environ.get("RLVR_DIST_TIMEOUT_S", 1800))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return SINGLE
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":  # one GPU per rank of a machine: device "cuda" is this rank's
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return Ranks(dist.get_rank(), dist.get_world_size())
