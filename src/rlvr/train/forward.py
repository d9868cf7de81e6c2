"""The policy's per-token log-probs and entropy over a batch of (prompt + completion) rows.

Two ways to the same numbers:
- `policy_logprobs`: every row through the decoder whole;
- `shared_prompt_logprobs`: each distinct prompt through the decoder once, its KV cache then
  indexed out to the rows that share it (the n rollouts of a group), and only the completions
  run on top. Gradients flow through the cache and through the prompt's last hidden state, so
  values and gradients equal the whole-row pass (tests/test_train.py checks both); a group of
  8 rollouts pays for its prompt once instead of 8 times.

Both return [B, L-1] tensors aligned with the batch: position t predicts token t + 1. The LM
head and log-softmax are chunked (rlvr.algo.logprobs), never B x L x V.
"""

from __future__ import annotations

import torch

from rlvr.algo.logprobs import token_logprobs
from rlvr.sampling.kv_cache import cache_kwarg


def _decoder(model):
    return model.get_decoder() if hasattr(model, "get_decoder") else model.base_model


def _head_logprobs(model, hidden: torch.Tensor, targets: torch.Tensor, where: torch.Tensor, temperature: float):
    """Log-probs and entropy of `targets` at the `where` positions of hidden [B, T, H] -> [B, T]."""
    hidden = hidden.to(torch.promote_types(hidden.dtype, torch.float32))  # bf16 autocast output -> float32
    logp = torch.zeros(where.shape, dtype=hidden.dtype, device=hidden.device)
    entropy = torch.zeros_like(logp)
    if where.any():
        lp, ent = token_logprobs(hidden[where], model.get_output_embeddings().weight, targets[where], temperature)
        logp = logp.masked_scatter(where, lp.to(logp.dtype))
        entropy = entropy.masked_scatter(where, ent.to(logp.dtype))
    return logp, entropy


def policy_logprobs(model, input_ids, attention_mask, loss_mask, temperature: float, bf16: bool = False):
    """Per-token log-probs and entropy [B, L-1] at the masked positions, every row run whole.
    `bf16`: the decoder's matmuls under bf16 autocast; the LM head and log-softmax stay float32."""
    with torch.autocast(input_ids.device.type, dtype=torch.bfloat16, enabled=bf16):
        hidden = _decoder(model)(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, :-1]
    return _head_logprobs(model, hidden, input_ids[:, 1:], loss_mask.bool(), temperature)


def shared_prompt_logprobs(model, input_ids, attention_mask, prompt_len, loss_mask, temperature: float,
                           bf16: bool = False):
    """As `policy_logprobs`, with each distinct prompt run once. Rows are right-padded
    [prompt | completion | pad]; prompt_len [B] says where each completion starts."""
    from transformers import DynamicCache

    device, rows = input_ids.device, input_ids.shape[0]
    prompt_len = prompt_len.to(device)
    keys = [tuple(input_ids[r, : int(prompt_len[r])].tolist()) for r in range(rows)]
    owner_of: dict[tuple[int, ...], int] = {}  # distinct prompt -> its index
    first: list[int] = []  # distinct prompt -> a row holding it
    for r, key in enumerate(keys):
        if key not in owner_of:
            owner_of[key] = len(first)
            first.append(r)
    owner = torch.tensor([owner_of[key] for key in keys], device=device)  # row -> its prompt
    width = int(prompt_len.max())
    span = torch.arange(width, device=device)
    prompt_mask = (span[None, :] < prompt_len[first][:, None]).long()  # [U, P], prompts right-padded
    prompt_ids = input_ids[first, :width] * prompt_mask

    completion_len = attention_mask.sum(dim=1) - prompt_len
    steps = torch.arange(max(int(completion_len.max()), 1), device=device)
    positions = prompt_len[:, None] + steps[None, :]  # [B, C]: absolute positions of completion tokens
    completion_mask = (steps[None, :] < completion_len[:, None]).long()
    completion_ids = input_ids.gather(1, positions.clamp(max=input_ids.shape[1] - 1)) * completion_mask

    decoder = _decoder(model)
    cache_arg = cache_kwarg(decoder)
    cache = DynamicCache()
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        prompt_hidden = decoder(input_ids=prompt_ids, attention_mask=prompt_mask, use_cache=True,
                                **{cache_arg: cache}).last_hidden_state  # [U, P, H]
        cache.batch_select_indices(owner)  # [U, ...] -> [B, ...]; differentiable indexing
        full_mask = torch.cat([prompt_mask[owner], completion_mask], dim=1)
        completion_hidden = decoder(input_ids=completion_ids, attention_mask=full_mask, position_ids=positions,
                                    use_cache=True, **{cache_arg: cache}).last_hidden_state  # [B, C, H]
    # completion token j is predicted from the prompt's last position (j = 0) or completion token j - 1
    last_prompt = prompt_hidden[owner, prompt_len - 1]
    predicting = torch.cat([last_prompt[:, None], completion_hidden[:, :-1]], dim=1)
    before = (positions - 1).clamp(max=loss_mask.shape[1] - 1)  # loss_mask index of each prediction
    where = loss_mask.gather(1, before).bool() & completion_mask.bool()
    logp_c, entropy_c = _head_logprobs(model, predicting, completion_ids, where, temperature)
    logp = torch.zeros(loss_mask.shape, dtype=logp_c.dtype, device=device)
    entropy = torch.zeros_like(logp)
    keep = where.to(logp.dtype)  # scatter only real predictions (padded steps would land on clamped indices)
    return (logp.scatter_add(1, before, logp_c * keep), entropy.scatter_add(1, before, entropy_c * keep))


def row_logprobs(model, input_ids, attention_mask, prompt_len, loss_mask, temperature: float, bf16: bool = False,
                 share_prompts: bool = True):
    """The learner's forward pass over rows: `shared_prompt_logprobs` or `policy_logprobs`. A
    `LogprobPass` (a sharded learner, rlvr.train.sharding) runs it as its own forward."""
    if isinstance(model, LogprobPass):
        return model(input_ids, attention_mask, prompt_len, loss_mask, temperature, bf16, share_prompts)
    if share_prompts:
        return shared_prompt_logprobs(model, input_ids, attention_mask, prompt_len, loss_mask, temperature, bf16)
    return policy_logprobs(model, input_ids, attention_mask, loss_mask, temperature, bf16)


class LogprobPass(torch.nn.Module):
    """A causal LM whose forward is the learner's pass (decoder calls and the chunked head). FSDP2
    gathers a module's parameters in its forward: wrapped so, the embeddings, final norm and LM
    head that the decoder layers do not own are gathered and their gradients reduced like theirs."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, prompt_len, loss_mask, temperature: float, bf16: bool,
                share_prompts: bool):
        return row_logprobs(self.model, input_ids, attention_mask, prompt_len, loss_mask, temperature, bf16,
                            share_prompts)
