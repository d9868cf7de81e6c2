"""Large linear layers through oneDNN with prepacked weights while sampling on a CPU.

PyTorch's CPU `nn.Linear` calls MKL's sgemm. At decode shapes (64 rows x 768 x 2,304, float32)
on an AVX2-only AMD EPYC, oneDNN with the weight reordered once into its own blocked layout ran
1.3x faster (8-64 rows: up to 2x), and sampling from a 100M-parameter Qwen2 1.23-1.34x faster
(1.6x with Qwen2's vocabulary), the same tokens (docs/benchmarks.md). Small layers gain nothing
(the shipped 3.6M tiny reasoner samples no faster), so only weights of at least `MIN_ELEMENTS`
entries are packed.

A packed weight is a copy, so layers are packed only while their copies fit in a quarter of the
memory available when the sampler is made (a model too large for that keeps the rest on MKL). The
copy is made when sampling starts and again only when the weight changed (the trainer updates
the policy between sampling calls). The layers are switched only inside
`PrepackedLinears.active()` and only where no gradient is being recorded; anything else runs the
layer's own forward.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import torch

MIN_ELEMENTS = 1 << 18  # 512 x 512; the tiny reasoner's largest layer (256 x 782) stays on MKL
BATCH_HINT = 64  # rows the packed layout is tuned for (a decode step of the default batch)


def available() -> bool:
    """oneDNN is built into this PyTorch and has the packed linear kernels."""
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


CGROUP_MEMORY = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
                 ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))


def available_memory() -> int:
    """Bytes of memory free now: the machine's free physical memory, or less where a container's
    cgroup limit leaves less (the system's count ignores that limit); 0 where neither says."""
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0
    for limit_file, usage_file in CGROUP_MEMORY:
        try:
            with open(limit_file) as limit, open(usage_file) as usage:
                text = limit.read().strip()
                if text != "max":
                    free = min(free, max(0, int(text) - int(usage.read())))
        except (OSError, ValueError):
            continue
    return free


class PrepackedLinears:
    """The float32 `nn.Linear` layers of a CPU model worth packing, and their packed weights."""

    def __init__(self, model: torch.nn.Module, min_elements: int = MIN_ELEMENTS, max_bytes: int | None = None):
        budget = available_memory() // 4 if max_bytes is None else max_bytes
        self.layers: list[torch.nn.Linear] = []
        for m in model.modules() if available() else ():
            if (type(m) is torch.nn.Linear  # not subclasses (quantized or adapter layers)
                    and "forward" not in m.__dict__  # nor layers whose forward is already replaced
                    and m.weight.device.type == "cpu" and m.weight.dtype == torch.float32
                    and min_elements <= m.weight.numel() and m.weight.nbytes <= budget):
                self.layers.append(m)
                budget -= m.weight.nbytes
        self._packed: dict[int, tuple[tuple, torch.Tensor]] = {}  # id(layer) -> (weight's key, packed copy)
        self._depth = 0
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.layers)

    @contextmanager
    def active(self):
        """Route the layers through their packed weights inside the block (re-entrant); the
        outermost entry repacks every weight that changed since the last one."""
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                with torch.no_grad():
                    for layer in self.layers:
                        self._repack_if_changed(layer)
                        layer.forward = self._forward_of(layer)
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    for layer in self.layers:
                        del layer.forward  # back to the class's forward

    def _repack_if_changed(self, layer: torch.nn.Linear) -> None:
        # The version counter misses writes through `.data` and fused optimizers' steps, so the
        # weight's sum (one read, ~1/10 of a repack) is part of the key.
        weight = layer.weight.detach()
        key = (weight.data_ptr(), weight._version, float(weight.sum()))
        known = self._packed.get(id(layer))
        if known is None or known[0] != key:
            self._packed[id(layer)] = (key, torch.ops.mkldnn._reorder_linear_weight(weight, BATCH_HINT))

    def _forward_of(self, layer: torch.nn.Linear):
        packed = self._packed[id(layer)][1]
        bias = None if layer.bias is None else layer.bias.detach()

        def forward(x: torch.Tensor) -> torch.Tensor:
            if torch.is_grad_enabled() or x.dtype != torch.float32:
                return torch.nn.functional.linear(x, layer.weight, layer.bias)
            out = torch.ops.mkldnn._linear_pointwise(x.reshape(-1, x.shape[-1]), packed, bias, "none", [], "")
            return out.view(*x.shape[:-1], layer.out_features)

        return forward
