"""CUDA paths: the sampler, the Triton log-probs and a training run on a GPU.

CI has no GPU, so these are skipped there (and say so); they ran on a lent H200 (docs/benchmarks.md,
"GPU"). The Triton kernels' arithmetic is also checked on CPU by tests/test_logprobs.py under
Triton's interpreter where triton is installed.
"""

import json
import subprocess
import sys

import pytest
import torch

from rlvr.algo.logprobs import naive_token_logprobs, token_logprobs
from rlvr.sampling.base import SamplingParams
from rlvr.sampling.torch_backend import TorchSampler

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_triton_logprobs_match_float64_on_cuda():
    torch.manual_seed(0)
    n, h, v = 1500, 64, 50_000  # several token chunks; v not a multiple of the block
    hidden = (torch.randn(n, h, device="cuda") * 0.5).requires_grad_()
    weight = (torch.randn(v, h, device="cuda") * 0.1).requires_grad_()
    targets = torch.randint(0, v, (n,), device="cuda")
    lp, ent = token_logprobs(hidden, weight, targets, 0.8)  # auto -> triton on CUDA
    coef = torch.randn(n, device="cuda")
    (lp * coef + 0.3 * ent).sum().backward()
    h64, w64 = hidden.detach().double().requires_grad_(), weight.detach().double().requires_grad_()
    ref_lp, ref_ent = naive_token_logprobs(h64, w64, targets, 0.8)
    (ref_lp * coef.double() + 0.3 * ref_ent).sum().backward()
    assert (lp.double() - ref_lp).abs().max() < 1e-4 and (ent.double() - ref_ent).abs().max() < 1e-4
    assert torch.allclose(hidden.grad.double(), h64.grad, atol=1e-4)
    assert torch.allclose(weight.grad.double(), w64.grad, atol=1e-4)


def test_greedy_on_cuda_matches_generate(tiny_model_dir):
    sampler = TorchSampler.from_pretrained(tiny_model_dir, device="cuda", batch_size=8)
    sampler.model.float()  # float32: exact parity (bf16 rounding can flip near-ties between code paths)
    prompts = ["Compute 7 - 2.", "Solve for x: 2x + 1 = 5.", "Order: Ana, Ben."]
    ours = sampler.sample(prompts, SamplingParams(n=1, temperature=0, max_new_tokens=24))
    for prompt, group in zip(prompts, ours):
        ids = torch.tensor([sampler.encode(prompt)], device="cuda")
        ref = sampler.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=24, do_sample=False,
                                     pad_token_id=sampler.tokenizer.pad_token_id)[0, ids.shape[1]:].tolist()
        got = group[0].token_ids
        assert got == ref[: len(got)] and (len(got) == len(ref) or got[-1] in sampler.eos_ids)


def test_cuda_sampling_logprobs_are_the_models(tiny_model_dir):
    """bf16 on CUDA: the reported log-probs are those of a full forward of the same model."""
    sampler = TorchSampler.from_pretrained(tiny_model_dir, device="cuda", batch_size=16)
    assert next(sampler.model.parameters()).dtype == torch.bfloat16
    params = SamplingParams(n=4, temperature=1.0, max_new_tokens=16, seed=1)
    groups = sampler.sample(["Compute 2 + 3.", "Order: Ana, Ben."], params)
    again = sampler.sample(["Compute 2 + 3.", "Order: Ana, Ben."], params)
    assert [s.token_ids for g in groups for s in g] == [s.token_ids for g in again for s in g]  # seeded
    for s in (s for g in groups for s in g):
        ids = torch.tensor([s.prompt_ids + s.token_ids], device="cuda")
        with torch.no_grad():
            logits = sampler.model(input_ids=ids).logits[0, len(s.prompt_ids) - 1 : -1].float()
        ref = torch.log_softmax(logits, -1).gather(-1, torch.tensor(s.token_ids, device="cuda")[:, None])[:, 0]
        assert s.logprobs == pytest.approx(ref.tolist(), abs=0.05)  # bf16: cache vs full-forward rounding


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_on_cuda(tmp_path, tiny_model_dir, rubric_data, precision):
    from safetensors.torch import load_file

    cfg = {"model": str(tiny_model_dir), "suite": None, "data": str(rubric_data), "eval_suite": None,
           "output": str(tmp_path / "run"), "steps": 3, "prompts_per_step": 4, "rollouts_per_prompt": 4,
           "max_new_tokens": 10, "mask_truncated": False, "lr": 0.01, "save_every": 3, "workers": 1,
           "device": "cuda", "precision": precision, "microbatch_size": 4}
    path = tmp_path / "cfg.yaml"
    from .test_train import sections

    path.write_text(json.dumps(sections(cfg)))
    result = subprocess.run([sys.executable, "-m", "rlvr.cli", "train", str(path)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    weights = load_file(str(tmp_path / "run" / "checkpoints" / "step-3" / "model.safetensors"))
    start = load_file(str(tiny_model_dir / "model.safetensors"))
    assert any(not torch.equal(weights[k], start[k]) for k in start)
