"""A KV cache that grows in place instead of by concatenation.

transformers' DynamicLayer appends each step's keys/values with torch.cat, copying the whole
cache every step (O(L^2) bytes over a generation, a large share of CPU decode time at batch 64).
GrowingLayer keeps a buffer with spare capacity (doubled when full) and writes each step into
it; attention reads a view of the filled part. Row selection and repetition (used to drop
finished samples and to share a prompt's prefill across its n samples) act on the buffer.

Built on transformers' Cache "layers" API (5.x). `growing_cache()` falls back to a plain
DynamicCache where that API is absent.
"""

from __future__ import annotations

import functools
import inspect

import torch


def cache_kwarg(module) -> str:
    """The keyword a model's forward takes its KV cache by: transformers 5.x renamed
    `past_key_values` to `cache`; support both."""
    return "cache" if "cache" in inspect.signature(module.forward).parameters else "past_key_values"


def forward_step(model, cache_arg: str, cache, **inputs):
    """One forward that continues `cache` -> (last-position logits [B, V], the cache after it).
    `cache_arg` is `cache_kwarg(model)`, looked up once by the caller. Only the last position's
    logits are computed where the model allows it (`logits_to_keep`): a prefill of 60 tokens at a
    152k vocabulary would otherwise spend more on unused logits than on the decoder."""
    if keeps_only_some_logits(type(model)):
        inputs["logits_to_keep"] = 1
    out = model(**inputs, use_cache=True, **{cache_arg: cache})
    return out.logits[:, -1, :], out.cache if cache_arg == "cache" else out.past_key_values


@functools.cache
def keeps_only_some_logits(model_class) -> bool:
    return "logits_to_keep" in inspect.signature(model_class.forward).parameters


def growing_cache():
    from transformers import DynamicCache

    try:
        from transformers.cache_utils import DynamicLayer
    except ImportError:
        return DynamicCache()
    cache = DynamicCache()
    if getattr(cache, "layer_class_to_replicate", None) is not DynamicLayer or cache.layers:
        return cache
    cache.layer_class_to_replicate = _growing_layer_class(DynamicLayer)
    return cache


def _growing_layer_class(base):
    class GrowingLayer(base):
        """DynamicLayer with an in-place, amortized-doubling buffer."""

        _k = _v = None
        _len = 0

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            start, end = self._len, self._len + key_states.shape[-2]
            if self._k is None or end > self._k.shape[-2]:
                capacity = max(end + 64, 2 * (0 if self._k is None else self._k.shape[-2]))
                self._k = self._grow(self._k, key_states, capacity)
                self._v = self._grow(self._v, value_states, capacity)
            self._k[..., start:end, :] = key_states
            self._v[..., start:end, :] = value_states
            self._len = end
            self._views()
            return self.keys, self.values

        def _grow(self, old, new_states, capacity):
            shape = (*new_states.shape[:-2], capacity, new_states.shape[-1])
            buffer = new_states.new_empty(shape)
            if old is not None:
                buffer[..., : self._len, :] = old[..., : self._len, :]
            return buffer

        def _views(self):
            self.keys = self._k[..., : self._len, :]
            self.values = self._v[..., : self._len, :]

        def get_seq_length(self) -> int:
            return self._len

        def batch_repeat_interleave(self, repeats: int) -> None:
            if self._len:
                self._k = self._k.repeat_interleave(repeats, dim=0)
                self._v = self._v.repeat_interleave(repeats, dim=0)
                self._views()

        def batch_select_indices(self, indices: torch.Tensor) -> None:
            if self._len:
                # index_select: ~6x faster than advanced indexing for whole rows on CPU
                self._k, self._v = self._k.index_select(0, indices), self._v.index_select(0, indices)
                self._views()

        def crop(self, tokens_to_remove: int) -> None:
            if tokens_to_remove < 0 and self._len:
                self._len = max(0, self._len + tokens_to_remove)
                self._views()

        def reset(self) -> None:
            self._k = self._v = None
            self._len = 0
            super().reset()

    return GrowingLayer
