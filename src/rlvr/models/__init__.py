"""Models rlvr builds itself (no hub downloads): tokenizers and small causal LMs, and the
shipped tiny reasoner, found by name.

>>> model_path("tiny-reasoner").name
'tiny-reasoner'
>>> str(model_path("some/dir"))
'some/dir'
"""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SHIPPED = {"tiny-reasoner": ASSETS / "tiny-reasoner"}  # recipes/tiny_reasoner.yaml builds it


def resolve_device(device: str) -> str:
    """`auto` -> cuda when there is one, else cpu; anything else as given."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_path(name_or_path: str | Path) -> Path:
    """A shipped model's directory for its name; for a training run (`rlvr train`'s RUN_DIR, or
    its `checkpoints/latest` pointer file) the checkpoint `latest` names; otherwise the path itself."""
    path = SHIPPED.get(str(name_or_path), Path(name_or_path))
    if path.is_dir() and not (path / "config.json").exists() and (path / "checkpoints" / "latest").is_file():
        path = path / "checkpoints" / "latest"
    if path.is_file() and path.name == "latest":
        return path.parent / path.read_text().strip()
    return path
