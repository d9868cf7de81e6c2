"""Decode attention that reads each prompt's KV cache once for all of its n samples.

After one prefill per prompt, the n samples of a prompt attend to the same prompt keys and
values. A plain cache holds n copies of them, so every decode step reads n copies: at batch 64 on
a CPU, reading the cache is about half of a small model's step. Here the cache holds only the
generated tokens (one row per sample) and the prompt's keys/values stay in a `SharedPrefix`.
Each attention layer stacks a prompt's queries (its live samples x the heads sharing a KV head),
scores them against the prompt's keys in one matmul, scores each sample against its own generated
keys, and takes one softmax over both parts: exactly attention over prompt + generated tokens.

It plugs into transformers through its AttentionInterface: during decode steps the model runs
with `attn_implementation = "rlvr_shared_prefix"` and gets the state by the `shared_prefix`
keyword, which transformers passes down to every attention call. `supported(model)` checks, on a
few tokens, that a model gives the same logits this way as with its own attention (a model that
does not route attention through the interface, or uses sliding windows or soft-capping, fails
the check and keeps the plain cache).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch

NAME = "rlvr_shared_prefix"


@dataclass
class SharedPrefix:
    """Prompt keys/values per layer and which prompt (and sample slot) each batch row belongs to."""

    keys: list[torch.Tensor]  # per layer [P, H_kv, L_prompt, D]
    values: list[torch.Tensor]
    pad: torch.Tensor  # [P, 1, 1, L_prompt]: 0 for prompt tokens, -inf for left padding
    flat: torch.Tensor  # [B] each live row's place among all P x n samples (prompt * n + slot)
    n: int
    calls: int = 0  # attention calls served (the support check counts them)

    @classmethod
    def from_prefill(cls, cache, prompt_mask: torch.Tensor, n: int) -> SharedPrefix:
        prompts = prompt_mask.shape[0]
        pad = torch.zeros(prompt_mask.shape, dtype=cache.layers[0].keys.dtype, device=prompt_mask.device)
        pad = pad.masked_fill(prompt_mask == 0, float("-inf"))[:, None, None, :]
        rows = torch.arange(prompts * n, device=prompt_mask.device)
        return cls([layer.keys for layer in cache.layers], [layer.values for layer in cache.layers],
                   pad, rows, n)

    def select(self, index: torch.Tensor) -> None:
        """Keep only the batch rows at `index` (finished samples leave the batch)."""
        self.flat = self.flat[index]

    @property
    def whole(self) -> bool:
        """Every sample still in the batch (rows in prompt x sample order): no gather needed."""
        return len(self.flat) == len(self.pad) * self.n

    def stack(self, x: torch.Tensor) -> torch.Tensor:
        """Per-row [B, H_kv, G, X] -> per-prompt [P, H_kv, n * G, X] (rows that left are zeros)."""
        _, kv_heads, heads_per_kv, width = x.shape
        if not self.whole:  # some samples finished: put the rest in their slots
            x = x.new_zeros(len(self.pad) * self.n, kv_heads, heads_per_kv, width).index_copy_(0, self.flat, x)
        return x.view(-1, self.n, kv_heads, heads_per_kv, width).transpose(1, 2).reshape(
            -1, kv_heads, self.n * heads_per_kv, width)

    def unstack(self, x: torch.Tensor, heads_per_kv: int) -> torch.Tensor:
        """Inverse of `stack` for the live rows: [P, H_kv, n * G, X] -> [B, H_kv, G, X]."""
        prompts, kv_heads, _, width = x.shape
        x = x.view(prompts, kv_heads, self.n, heads_per_kv, width).transpose(1, 2).reshape(
            -1, kv_heads, heads_per_kv, width)
        return x if self.whole else x.index_select(0, self.flat)


def shared_prefix_attention(module, query, key, value, attention_mask, scaling: float, dropout: float = 0.0,
                            shared_prefix: SharedPrefix | None = None, **kwargs):
    """One decode step of attention. query [B, H, 1, D]; key/value: the generated tokens so far
    [B, H_kv, L_gen, D]. Returns ([B, 1, H, D], None) as transformers' attention functions do."""
    state = shared_prefix
    if state is None:  # a forward from outside the decode loop, e.g. another thread using the model
        # (its padding mask was not built under this implementation, so it cannot be served correctly)
        raise RuntimeError("this model's attention is rlvr's shared-prefix attention while a TorchSampler decodes "
                           "with it; run other forwards of the same model after sampling, not during it")
    if query.shape[2] != 1:
        raise NotImplementedError("shared-prefix attention serves single-token decode steps")
    if any(kwargs.get(k) is not None for k in ("sliding_window", "softcap", "s_aux")):
        raise NotImplementedError("shared-prefix attention has no sliding window, soft-capping or sinks")
    state.calls += 1
    prefix_keys, prefix_values = state.keys[module.layer_idx], state.values[module.layer_idx]
    rows, heads, _, dim = query.shape
    kv_heads = key.shape[1]
    per_kv = heads // kv_heads
    q = query.reshape(rows, kv_heads, per_kv, dim)
    prefix_scores = torch.matmul(state.stack(q), prefix_keys.transpose(-1, -2)) * scaling + state.pad
    scores = torch.cat([state.unstack(prefix_scores, per_kv), torch.matmul(q, key.transpose(-1, -2)) * scaling], -1)
    weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    prefix_len = prefix_keys.shape[-2]
    out = state.unstack(torch.matmul(state.stack(weights[..., :prefix_len]), prefix_values), per_kv)
    out = out + torch.matmul(weights[..., prefix_len:], value)
    return out.reshape(rows, 1, heads, dim), None


def _register() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(NAME, shared_prefix_attention)


@contextmanager
def decoding_with_shared_prefix(model):
    """Route the model's attention through `shared_prefix_attention` inside the block."""
    _register()
    config = model.config
    previous = config._attn_implementation
    config._attn_implementation = NAME
    try:
        yield
    finally:
        config._attn_implementation = previous


def supported(model) -> bool:
    """True when decoding `model` with a shared prefix gives its own logits (checked on a few tokens)."""
    from rlvr.sampling.kv_cache import cache_kwarg, forward_step, growing_cache

    if not hasattr(growing_cache(), "layers"):
        return False
    device = next(model.parameters()).device
    arg = cache_kwarg(model)

    def run(cache, **inputs):  # -> (last-position logits in float32, the cache after the forward)
        logits, cache = forward_step(model, arg, cache, **inputs)
        return logits.float(), cache

    vocab = model.config.vocab_size
    prompts = torch.tensor([[0, 3, 5, 7], [11, 13, 2, 9]], device=device) % vocab
    mask = torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]], device=device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    step = torch.tensor([[4], [6], [8], [10]], device=device) % vocab  # one token for each of 2 x 2 samples
    step_positions = positions[:, -1:].repeat_interleave(2, 0) + 1
    try:
        with torch.inference_mode():
            _, copied = run(growing_cache(), input_ids=prompts.repeat_interleave(2, 0),
                            attention_mask=mask.repeat_interleave(2, 0), position_ids=positions.repeat_interleave(2, 0))
            expected, _ = run(copied, input_ids=step, position_ids=step_positions,
                              attention_mask=torch.cat([mask.repeat_interleave(2, 0), mask.new_ones(4, 1)], 1))
            _, prefill = run(growing_cache(), input_ids=prompts, attention_mask=mask, position_ids=positions)
            state = SharedPrefix.from_prefill(prefill, mask, 2)
            with decoding_with_shared_prefix(model):
                got, _ = run(growing_cache(), input_ids=step, position_ids=step_positions, shared_prefix=state)
    except (NotImplementedError, TypeError, AttributeError, RuntimeError, IndexError):
        return False
    scale = expected.abs().max().clamp(min=1.0)
    return state.calls > 0 and bool(((got - expected).abs().max() / scale) < 1e-3)
