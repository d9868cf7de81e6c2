"""Checkpoints that a kill at any moment cannot corrupt.

RUN_DIR/checkpoints/step-K/ holds Hugging Face weights (safetensors + config + tokenizer),
`state.pt` (scheduler, step, rank count; the optimizer too unless sharded), `rng-rank-R.pt` (each
rank's random states) and, for a sharded learner, `optimizer/` (its AdamW state, each rank's shard,
written with torch.distributed.checkpoint). It is written under a temporary name and renamed when
complete; RUN_DIR/checkpoints/latest names the newest complete one and is itself replaced
atomically. Older checkpoints beyond `keep` are deleted after the pointer moves. With several
ranks every rank calls these functions (the directory must be on a file system they share).
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import torch

from rlvr.train.distributed import SINGLE, Ranks
from rlvr.train.sharding import Policy


def save_checkpoint(run_dir: Path, step: int, policy: Policy, tokenizer, optimizer, scheduler, keep: int = 2,
                    ranks: Ranks = SINGLE) -> Path:
    root = run_dir / "checkpoints"
    final = root / f"step-{step}"
    tmp = root / f".tmp-step-{step}"
    if ranks.main:
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)  # a write that a kill interrupted
        tmp.mkdir()
    ranks.barrier()
    if ranks.main:
        policy.full.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        state = {"step": step, "scheduler": scheduler.state_dict(), "world": ranks.world, "sharded": policy.sharded}
        if not policy.sharded:
            state["optimizer"] = optimizer.state_dict()
        torch.save(state, tmp / "state.pt")
    torch.save(rng_states(), tmp / f"rng-rank-{ranks.rank}.pt")
    if policy.sharded:
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

        dcp.save({"optimizer": get_optimizer_state_dict(policy.trainer, optimizer)}, checkpoint_id=tmp / "optimizer")
    ranks.barrier()  # every rank's part is written
    if ranks.main:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        pointer = root / ".latest.tmp"
        pointer.write_text(final.name)
        os.replace(pointer, root / "latest")
        for old in sorted(root.glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    ranks.barrier()  # no rank goes on before the checkpoint is in place
    return final


def rng_states() -> dict:
    states = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def latest_checkpoint(run_dir: Path) -> Path | None:
    pointer = run_dir / "checkpoints" / "latest"
    if not pointer.exists():
        return None
    path = run_dir / "checkpoints" / pointer.read_text().strip()
    return path if (path / "state.pt").exists() else None


def load_state(path: Path, optimizer, scheduler, ranks: Ranks = SINGLE, policy: Policy | None = None) -> int:
    """Restore optimizer, scheduler and this rank's random states; returns the step to continue
    from. A run resumes with the number of ranks it was saved with (each rank's share of prompts,
    its random stream and its optimizer shard depend on it), and sharded as it was: anything
    else is an error naming what the checkpoint needs."""
    state = torch.load(path / "state.pt", weights_only=False)
    saved, sharded = state.get("world", 1), state.get("sharded", False)
    if saved != ranks.world:
        raise ValueError(f"{path} was saved by a run of {saved} rank(s); resume it with {saved} "
                         f"(torchrun --nproc-per-node {saved}), not {ranks.world}")
    if policy is not None and sharded != policy.sharded:
        needed = "fsdp2" if sharded else "replicate"
        raise ValueError(f"{path} was saved with learner.sharding {needed}; resume it with --set "
                         f"learner.sharding={needed}")
    if sharded:
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict, set_optimizer_state_dict

        shards = {"optimizer": get_optimizer_state_dict(policy.trainer, optimizer)}
        dcp.load(shards, checkpoint_id=path / "optimizer")
        set_optimizer_state_dict(policy.trainer, optimizer, shards["optimizer"])
    else:
        optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    rng = path / f"rng-rank-{ranks.rank}.pt"
    rng = torch.load(rng, weights_only=False) if rng.exists() else \
        {"torch": state["torch_rng"], "python": state["python_rng"]}  # checkpoints from before per-rank files
    torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return int(state["step"])
