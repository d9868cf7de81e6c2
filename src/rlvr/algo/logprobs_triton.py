"""The chunked log-probs of `rlvr.algo.logprobs` with Triton kernels, for CUDA.

Same formulas, different blocking: on a GPU a whole vocabulary row fits the work of one
program, so tokens go in chunks of `token_chunk` rows and each chunk's logits
[token_chunk, V] come from one cuBLAS matmul. Two kernels then read that buffer once each:

- `_row_stats`: per row, the online max / sum-exp / sum-exp*z (one running value per lane,
  combined at the end, so each float32 sum runs over V / BLOCK terms) -> lse, entropy, log p;
- `_row_grad`: per row, dz = -p (g_logp + g_entropy (log p + H)) + g_logp onehot(target),
  written over the logits in place, then dh = dz W and dW = dz^T h as two matmuls.

Peak memory is one [token_chunk, V] float32 buffer (token_chunk 512 at V 151,936: 311 MB),
whatever the number of tokens. `TRITON_INTERPRET=1` runs the kernels on CPU tensors (the
test does, where triton is installed).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _row_stats(logits_ptr, stride, targets_ptr, lse_ptr, entropy_ptr, logp_ptr, vocab, inv_temp,
               BLOCK: tl.constexpr):
    row = tl.program_id(0)
    base = logits_ptr + row.to(tl.int64) * stride
    lanes = tl.arange(0, BLOCK)
    # masked lanes read -1e30, not -inf: exp(-1e30 - max) is 0 and 0 * -1e30 stays finite
    m = tl.full([BLOCK], -1.0e30, tl.float32)
    d = tl.zeros([BLOCK], tl.float32)
    s = tl.zeros([BLOCK], tl.float32)
    for start in range(0, vocab, BLOCK):
        cols = start + lanes
        z = tl.load(base + cols, mask=cols < vocab, other=-1.0e30).to(tl.float32) * inv_temp
        new_m = tl.maximum(m, z)
        scale = tl.exp(m - new_m)
        e = tl.exp(z - new_m)
        d = d * scale + e
        s = s * scale + e * z
        m = new_m
    top = tl.max(m, 0)
    weight = tl.exp(m - top)
    total = tl.sum(d * weight, 0)
    lse = top + tl.log(total)
    target = tl.load(targets_ptr + row)
    target_logit = tl.load(base + target).to(tl.float32) * inv_temp
    tl.store(lse_ptr + row, lse)
    tl.store(logp_ptr + row, target_logit - lse)
    tl.store(entropy_ptr + row, lse - tl.sum(s * weight, 0) / total)


@triton.jit
def _row_grad(logits_ptr, stride, targets_ptr, lse_ptr, entropy_ptr, grad_logp_ptr, grad_entropy_ptr, vocab,
              inv_temp, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    base = logits_ptr + row.to(tl.int64) * stride
    lanes = tl.arange(0, BLOCK)
    lse = tl.load(lse_ptr + row)
    entropy = tl.load(entropy_ptr + row)
    g_logp = tl.load(grad_logp_ptr + row)
    g_entropy = tl.load(grad_entropy_ptr + row)
    target = tl.load(targets_ptr + row)
    for start in range(0, vocab, BLOCK):
        cols = start + lanes
        inside = cols < vocab
        log_p = tl.load(base + cols, mask=inside, other=0.0).to(tl.float32) * inv_temp - lse
        dz = -tl.exp(log_p) * (g_logp + g_entropy * (log_p + entropy))
        dz = tl.where(cols == target, dz + g_logp, dz) * inv_temp
        tl.store(base + cols, dz, mask=inside)


def _chunk_logits(h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (h @ weight.T).float()


class _TritonLogProbs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, targets, temperature: float, token_chunk: int, block: int):
        n, vocab = hidden.shape[0], weight.shape[0]
        lse, entropy, logp = (torch.empty(n, dtype=torch.float32, device=hidden.device) for _ in range(3))
        for t0 in range(0, n, token_chunk):
            t1 = min(t0 + token_chunk, n)
            z = _chunk_logits(hidden[t0:t1], weight)
            _row_stats[(t1 - t0,)](z, z.stride(0), targets[t0:t1], lse[t0:t1], entropy[t0:t1], logp[t0:t1],
                                   vocab, 1.0 / temperature, BLOCK=block)
        ctx.save_for_backward(hidden, weight, targets, lse, entropy)
        ctx.temperature, ctx.token_chunk, ctx.block = temperature, token_chunk, block
        return logp, entropy

    @staticmethod
    def backward(ctx, grad_logp, grad_entropy):
        hidden, weight, targets, lse, entropy = ctx.saved_tensors
        grad_logp = torch.zeros_like(lse) if grad_logp is None else grad_logp.float().contiguous()
        grad_entropy = torch.zeros_like(lse) if grad_entropy is None else grad_entropy.float().contiguous()
        grad_hidden = torch.empty(hidden.shape, dtype=torch.float32, device=hidden.device)
        grad_weight = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device)
        w32 = weight.float()
        for t0 in range(0, hidden.shape[0], ctx.token_chunk):
            t1 = min(t0 + ctx.token_chunk, hidden.shape[0])
            h = hidden[t0:t1]
            dz = _chunk_logits(h, weight)  # becomes dz in place
            _row_grad[(t1 - t0,)](dz, dz.stride(0), targets[t0:t1], lse[t0:t1], entropy[t0:t1], grad_logp[t0:t1],
                                  grad_entropy[t0:t1], weight.shape[0], 1.0 / ctx.temperature, BLOCK=ctx.block)
            grad_hidden[t0:t1] = dz @ w32
            grad_weight.addmm_(dz.T, h.float())
        return grad_hidden.to(hidden.dtype), grad_weight.to(weight.dtype), None, None, None, None


def triton_token_logprobs(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                          temperature: float = 1.0, token_chunk: int = 512,
                          block: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p(target) [N], entropy [N]) as `rlvr.algo.logprobs.token_logprobs`, with Triton kernels.

    hidden [N, H], weight [V, H], targets [N]; CUDA tensors (or CPU under TRITON_INTERPRET=1).
    Results are float32; differentiable in hidden and weight.
    """
    return _TritonLogProbs.apply(hidden.contiguous(), weight.contiguous(), targets.contiguous(),
                                 float(temperature), token_chunk, block)
