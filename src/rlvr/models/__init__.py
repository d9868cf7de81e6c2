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


def native_bf16(device: str) -> bool:
    """Whether `device` multiplies bf16 matrices in hardware: a CUDA GPU with bf16, or a CPU with
    AMX or AVX512-BF16. Elsewhere bf16 autocast is emulated (20x slower than fp32 for the tiny
    reasoner's SFT step on an AVX2-only CPU: benchmarks/sft_precision.py)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # torch.cpu's own checks
    return device == "cpu" and any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def resolve_precision(precision: str, device: str) -> str:
    """`auto` -> bf16 where `device` computes it natively, else fp32; `fp32` / `bf16` as given."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


def precision_note(precision: str, device: str) -> str | None:
    """One line on what `precision` means on `device`, when it is worth saying: what `auto`
    chose, or that an explicit bf16 will be slow because this CPU emulates it."""
    if precision == "auto":
        return f"precision: auto -> {resolve_precision(precision, device)} on {device}"
    if precision == "bf16" and device == "cpu" and not native_bf16(device):
        return ("warning: precision bf16 on a CPU without AMX/AVX512-BF16: autocast is emulated there and "
                "much slower than fp32 (use precision: auto or fp32)")
    return None


def model_path(name_or_path: str | Path) -> Path:
    """A shipped model's directory for its name; for a training run (`rlvr train`'s RUN_DIR, or
    its `checkpoints/latest` pointer file) the checkpoint `latest` names; otherwise the path itself."""
    path = SHIPPED.get(str(name_or_path), Path(name_or_path))
    if path.is_dir() and not (path / "config.json").exists() and (path / "checkpoints" / "latest").is_file():
        path = path / "checkpoints" / "latest"
    if path.is_file() and path.name == "latest":
        return path.parent / path.read_text().strip()
    return path
