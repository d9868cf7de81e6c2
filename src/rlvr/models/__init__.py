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
    """A shipped model's directory for its name, otherwise the path itself."""
    return SHIPPED.get(str(name_or_path), Path(name_or_path))
