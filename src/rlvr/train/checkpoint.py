"""Checkpoints that a kill at any moment cannot corrupt.

RUN_DIR/checkpoints/step-K/ holds Hugging Face weights (safetensors + config + tokenizer) and
`state.pt` (optimizer, scheduler, RNG states, step). It is written under a temporary name and
renamed when complete; RUN_DIR/checkpoints/latest names the newest complete one and is itself
replaced atomically. Older checkpoints beyond `keep` are deleted after the pointer moves.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import torch


def save_checkpoint(run_dir: Path, step: int, model, tokenizer, optimizer, scheduler, keep: int = 2,
                    world: int = 1) -> Path:
    root = run_dir / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step}"
    tmp = root / f".tmp-step-{step}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    torch.save({"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(), "python_rng": random.getstate(), "world": world},
               tmp / "state.pt")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    pointer = root / ".latest.tmp"
    pointer.write_text(final.name)
    os.replace(pointer, root / "latest")
    for old in sorted(root.glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(run_dir: Path) -> Path | None:
    pointer = run_dir / "checkpoints" / "latest"
    if not pointer.exists():
        return None
    path = run_dir / "checkpoints" / pointer.read_text().strip()
    return path if (path / "state.pt").exists() else None


def load_state(path: Path, optimizer, scheduler, world: int = 1) -> int:
    """Restore optimizer, scheduler and RNG states; returns the step to continue from. A run
    resumes with the number of ranks it was saved with (each rank's share of prompts and its
    random stream depend on it): another number is an error."""
    state = torch.load(path / "state.pt", weights_only=False)
    saved = state.get("world", 1)
    if saved != world:
        raise ValueError(f"{path} was saved by a run of {saved} rank(s); resume it with {saved} "
                         f"(torchrun --nproc-per-node {saved}), not {world}")
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    random.setstate(state["python_rng"])
    return int(state["step"])
