import os
import subprocess
import sys

import pytest
import torch

from rlvr.algo.logprobs import naive_token_logprobs, token_logprobs


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_chunked_equals_naive_values_and_gradients(temperature):
    torch.manual_seed(0)
    n, h, v = 37, 16, 1000
    hidden = torch.randn(n, h, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(v, h, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, v, (n,))
    lp, ent = token_logprobs(hidden, weight, targets, temperature, token_chunk=8, vocab_chunk=128)
    ref_lp, ref_ent = naive_token_logprobs(hidden, weight, targets, temperature)
    assert torch.allclose(lp.double(), ref_lp, atol=1e-5) and torch.allclose(ent.double(), ref_ent, atol=1e-5)
    coef = torch.randn(n, dtype=torch.float64)
    (lp.double() * coef).sum().add(0.3 * ent.double().sum()).backward()
    g_h, g_w = hidden.grad.clone(), weight.grad.clone()
    hidden.grad, weight.grad = None, None
    (ref_lp * coef).sum().add(0.3 * ref_ent.sum()).backward()
    assert torch.allclose(g_h, hidden.grad, atol=1e-4) and torch.allclose(g_w, weight.grad, atol=1e-4)


def test_gradcheck_small():
    torch.manual_seed(1)
    hidden = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(11, 4, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 11, (5,))

    def fn(h, w):
        lp, ent = token_logprobs(h, w, targets, 1.0, token_chunk=2, vocab_chunk=3)
        return lp.double().sum() + ent.double().sum() * 0.5

    # forward runs in float32 internally, so compare to the analytic reference at loose tolerance
    h_ref, w_ref = hidden.detach().clone().requires_grad_(True), weight.detach().clone().requires_grad_(True)
    lp, ent = naive_token_logprobs(h_ref, w_ref, targets)
    (lp.sum() + ent.sum() * 0.5).backward()
    fn(hidden, weight).backward()
    assert torch.allclose(hidden.grad, h_ref.grad, atol=1e-4) and torch.allclose(weight.grad, w_ref.grad, atol=1e-4)


TRITON_CHECK = """
import torch
from rlvr.algo.logprobs import naive_token_logprobs
from rlvr.algo.logprobs_triton import triton_token_logprobs
torch.manual_seed(0)
n, v, temperature = 37, 1000, 0.7  # 3 token chunks, vocabulary not a multiple of the block
hidden = torch.randn(n, 16, requires_grad=True)
weight = torch.randn(v, 16, requires_grad=True)
targets = torch.randint(0, v, (n,))
coef = torch.randn(n)
lp, ent = triton_token_logprobs(hidden, weight, targets, temperature, token_chunk=16, block=128)
(lp * coef + 0.3 * ent).sum().backward()
h64, w64 = hidden.detach().double().requires_grad_(), weight.detach().double().requires_grad_()
ref_lp, ref_ent = naive_token_logprobs(h64, w64, targets, temperature)
(ref_lp * coef.double() + 0.3 * ref_ent).sum().backward()
print(max(float((lp.double() - ref_lp).abs().max()), float((ent.double() - ref_ent).abs().max()),
          float((hidden.grad.double() - h64.grad).abs().max() / h64.grad.abs().max()),
          float((weight.grad.double() - w64.grad).abs().max() / w64.grad.abs().max())))
"""


def test_triton_kernels_under_the_interpreter():
    """The Triton kernels' arithmetic on CPU (TRITON_INTERPRET=1); tests/test_cuda.py runs them compiled."""
    pytest.importorskip("triton", reason="triton is not installed (it comes with CUDA builds of torch)")
    if torch.cuda.is_available():  # compiled there instead; triton 3.6's interpreter cannot run range(0, vocab, BLOCK)
        pytest.skip("a GPU is here: tests/test_cuda.py runs the kernels compiled")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    result = subprocess.run([sys.executable, "-c", TRITON_CHECK],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip()) < 1e-4


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown log-prob backend"):
        token_logprobs(torch.zeros(1, 2), torch.zeros(3, 2), torch.zeros(1, dtype=torch.long), backend="cuda")
