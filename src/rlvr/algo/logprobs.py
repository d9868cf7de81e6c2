"""Per-token log-probs and entropy without materializing [tokens x vocabulary] at once.

`token_logprobs(hidden [N, H], weight [V, H], targets [N])` returns (logp [N], entropy [N]) for
logits z = hidden @ weight.T / temperature. The naive way, `log_softmax(z).gather(...)`,
holds N x V floats (4,096 tokens x 151,936 vocabulary = 2.5 GB in float32, and as much again
for its gradient). Here:

- forward, one pass over vocabulary blocks with the online normalizer (Milakov & Gimelshein
  2018): m_j = max(m_{j-1}, max z_block), d_j = d_{j-1} exp(m_{j-1} - m_j) + sum exp(z_block - m_j),
  and likewise s_j for sum exp(z - m) z, so lse = m + log d and entropy = lse - s / d;
- backward, a second pass recomputes each block's logits and accumulates
  dz = g_logp (onehot - p) - g_entropy p (log p + H), then dh = dz W and dW = dz^T h.

Only [token_chunk x vocab_chunk] logits exist at any time.
"""

from __future__ import annotations

import functools

import torch


def _compute_dtype(t: torch.Tensor) -> torch.dtype:
    """float32 at least (bf16/fp16 inputs), float64 when given float64."""
    return torch.promote_types(t.dtype, torch.float32)


def _logits(h: torch.Tensor, w: torch.Tensor, ct: torch.dtype, temperature: float) -> torch.Tensor:
    z = (h @ w.T).to(ct)
    return z.div_(temperature) if temperature != 1.0 else z


def _blocks(total: int, size: int):
    for start in range(0, total, size):
        yield start, min(start + size, total)


class _ChunkedLogProbs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, targets, temperature: float, token_chunk: int, vocab_chunk: int):
        n, ct = hidden.shape[0], _compute_dtype(hidden)
        logp = torch.empty(n, dtype=ct, device=hidden.device)
        entropy = torch.empty_like(logp)
        lse_all = torch.empty_like(logp)
        for t0, t1 in _blocks(n, token_chunk):
            h = hidden[t0:t1]
            tgt = targets[t0:t1]
            m = torch.full((t1 - t0,), float("-inf"), dtype=ct, device=hidden.device)
            # the running sums are float64: 150k-term float32 sums lose ~1e-6 relative
            d = torch.zeros(t1 - t0, dtype=torch.float64, device=hidden.device)
            s = torch.zeros_like(d)
            target_logit = torch.zeros_like(m)
            for v0, v1 in _blocks(weight.shape[0], vocab_chunk):
                z = _logits(h, weight[v0:v1], ct, temperature)  # [tokens, vocab block]
                new_m = torch.maximum(m, z.max(dim=-1).values)
                scale = torch.exp(m - new_m)
                e = torch.sub(z, new_m[:, None]).exp_()
                # block sums in float32 (torch sums pairwise), the running sums across blocks in float64
                d = d * scale + e.sum(dim=-1).double()
                s = s * scale + e.mul_(z).sum(dim=-1).double()
                m = new_m
                inside = (tgt >= v0) & (tgt < v1)
                if inside.any():
                    rows = inside.nonzero()[:, 0]
                    target_logit[rows] = z[rows, tgt[rows] - v0]
            lse = m + torch.log(d).to(ct)
            lse_all[t0:t1] = lse
            logp[t0:t1] = target_logit - lse
            entropy[t0:t1] = lse - (s / d).to(ct)
        ctx.save_for_backward(hidden, weight, targets, lse_all, entropy)
        ctx.temperature, ctx.token_chunk, ctx.vocab_chunk = temperature, token_chunk, vocab_chunk
        return logp, entropy

    @staticmethod
    def backward(ctx, grad_logp, grad_entropy):
        hidden, weight, targets, lse_all, entropy = ctx.saved_tensors
        temperature = ctx.temperature
        ct = lse_all.dtype
        grad_logp = torch.zeros_like(lse_all) if grad_logp is None else grad_logp.to(ct)
        grad_entropy = torch.zeros_like(lse_all) if grad_entropy is None else grad_entropy.to(ct)
        grad_hidden = torch.zeros(hidden.shape, dtype=ct, device=hidden.device)
        grad_weight = torch.zeros(weight.shape, dtype=ct, device=weight.device)
        for t0, t1 in _blocks(hidden.shape[0], ctx.token_chunk):
            h = hidden[t0:t1]
            tgt, lse, ent = targets[t0:t1], lse_all[t0:t1], entropy[t0:t1]
            g_lp, g_ent = grad_logp[t0:t1, None], grad_entropy[t0:t1, None]
            for v0, v1 in _blocks(weight.shape[0], ctx.vocab_chunk):
                w = weight[v0:v1]
                # dz = -p (g_lp + g_ent (log p + H)), built in place: two block-sized buffers in all
                log_p = _logits(h, w, ct, temperature).sub_(lse[:, None])
                p = torch.exp(log_p)
                dz = log_p.add_(ent[:, None]).mul_(g_ent).add_(g_lp).mul_(p).neg_()
                inside = (tgt >= v0) & (tgt < v1)
                if inside.any():
                    rows = inside.nonzero()[:, 0]
                    dz[rows, tgt[rows] - v0] += grad_logp[t0:t1][rows]
                if temperature != 1.0:
                    dz.div_(temperature)
                grad_hidden[t0:t1] += dz @ w.to(ct)
                grad_weight[v0:v1] += dz.T @ h.to(ct)
        return grad_hidden.to(hidden.dtype), grad_weight.to(weight.dtype), None, None, None, None


def token_logprobs(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0,
                   token_chunk: int = 256, vocab_chunk: int = 4096,
                   backend: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """(log p(target) [N], entropy [N]) for logits hidden @ weight.T / temperature, chunked.

    hidden [N, H] (flatten [B, T, H] first), weight [V, H] (the LM head), targets [N] token ids.
    Differentiable in hidden and weight. The default blocks (256 x 4,096 float32 = 4 MB) stay in
    a CPU's cache; larger ones were ~20% slower here.
    backend: "torch" (these blocks), "triton" (rlvr.algo.logprobs_triton), or "auto": triton for
    CUDA tensors when triton is installed, else torch.
    """
    if backend == "triton" or (backend == "auto" and hidden.is_cuda and _triton_available()):
        from rlvr.algo.logprobs_triton import triton_token_logprobs

        return triton_token_logprobs(hidden, weight, targets, temperature)
    if backend not in ("auto", "torch", "triton"):
        raise ValueError(f"unknown log-prob backend {backend!r}: use auto, torch or triton")
    return _ChunkedLogProbs.apply(hidden, weight, targets, float(temperature), token_chunk, vocab_chunk)


@functools.cache
def _triton_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("triton") is not None


def naive_token_logprobs(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                         temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference: full logits, log_softmax, gather (N x V floats in memory)."""
    logp_all = torch.log_softmax((hidden @ weight.T).to(_compute_dtype(hidden)) / temperature, dim=-1)
    entropy = -(logp_all.exp() * logp_all).sum(dim=-1)
    return logp_all.gather(-1, targets[:, None])[:, 0], entropy
