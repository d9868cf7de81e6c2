"""Grow a Qwen2-style causal LM in depth without changing what it computes (a probe tool).

A copy of each chosen layer is inserted right after it with its attention output projection and
its MLP down projection zeroed, so the new layer adds nothing to the residual stream until
training moves those weights; the grown model's logits equal the original's (printed). Used to
ask whether the tiny reasoner's `table_qa` failure is a lack of depth (docs/tiny-reasoner.md):

    .venv/bin/python experiments/grow_depth.py --model tiny-reasoner --after 1,2 -o runs/grown6
    .venv/bin/rlvr sft CONFIG.yaml          # with model: runs/grown6
    .venv/bin/python experiments/table_qa_digits.py --model OUTPUT
"""

from __future__ import annotations

import argparse
import copy
import shutil

import torch


def grow(model, after: list[int]):
    """Insert a zero-output copy of layer i after layer i, for each i in `after` (in place)."""
    grown = []
    for i, layer in enumerate(model.model.layers):
        grown.append(layer)
        if i in after:
            twin = copy.deepcopy(layer)
            torch.nn.init.zeros_(twin.self_attn.o_proj.weight)
            torch.nn.init.zeros_(twin.mlp.down_proj.weight)
            grown.append(twin)
    for i, layer in enumerate(grown):
        layer.self_attn.layer_idx = i  # the KV cache is indexed by it
    model.model.layers = torch.nn.ModuleList(grown)
    model.config.num_hidden_layers = len(grown)
    model.config.layer_types = [model.config.layer_types[0]] * len(grown)
    return model


def main() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlvr.models import model_path

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="tiny-reasoner")
    parser.add_argument("--after", default="1,2", help="indices of the layers to copy, comma-separated")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    source = model_path(args.model)
    original = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32).eval()
    model = grow(copy.deepcopy(original), [int(i) for i in args.after.split(",")])
    tokenizer = AutoTokenizer.from_pretrained(source)
    ids = tokenizer("| kiwis | 21 | 29 |\nHow many kiwis were there in 2024?", return_tensors="pt").input_ids
    with torch.no_grad():
        diff = (model(ids).logits - original(ids).logits).abs().max().item()
    params = sum(p.numel() for p in model.parameters())
    print(f"{len(model.model.layers)} layers, {params / 1e6:.2f}M parameters; largest logit change {diff:.2e}")
    model.save_pretrained(args.output)
    tokenizer.save_pretrained(args.output)
    template = source / "chat_template.jinja"
    if template.exists():
        shutil.copy(template, args.output)


if __name__ == "__main__":
    main()
