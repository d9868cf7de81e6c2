"""Tools in experiments/ that change models (not measurements): they must do what they claim."""

import importlib.util
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rlvr.models.tiny import build_model
from rlvr.sampling.base import SamplingParams
from rlvr.sampling.torch_backend import TorchSampler

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_grow_depth_adds_layers_that_change_nothing_until_trained(tiny_model_dir, tmp_path):
    import copy

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    original = build_model(tokenizer, hidden=32, layers=3, heads=2, seed=4).eval()
    grown = load("grow_depth").grow(copy.deepcopy(original), [0, 2])
    assert len(grown.model.layers) == grown.config.num_hidden_layers == 5
    assert [layer.self_attn.layer_idx for layer in grown.model.layers] == [0, 1, 2, 3, 4]
    ids = torch.tensor([[3, 17, 42, 8, 99, 5]])
    with torch.no_grad():
        assert torch.allclose(grown(ids).logits, original(ids).logits, atol=1e-6)
    # with a KV cache (one entry per layer) it samples what the original samples, and survives a save
    params = SamplingParams(n=2, temperature=1.0, max_new_tokens=8, seed=3)
    grown.save_pretrained(tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    runs = [TorchSampler(m, tokenizer, batch_size=4).sample(["Compute 2 + 3."], params)[0]
            for m in (original, reloaded)]
    assert [s.token_ids for s in runs[0]] == [s.token_ids for s in runs[1]]
    # training can move the new layers: their zeroed projections get gradients
    grown.train()
    grown(ids, labels=ids).loss.backward()
    assert grown.model.layers[1].self_attn.o_proj.weight.grad.abs().sum() > 0
