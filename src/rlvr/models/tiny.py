"""Build a small Hugging Face causal LM and tokenizer offline.

The tokenizer is a byte-level BPE trained with `tokenizers` on the given texts, with a chat
template that has thinking tags (Qwen-style `<|im_start|>` turns). The model is a Qwen2
architecture with random weights; `rlvr sft` turns it into the tiny reasoner. Both save in
standard Hugging Face format, so every path that takes a model directory works on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tokenizer(texts: Iterable[str], vocab_size: int = 2048):
    """A byte-level BPE tokenizer (transformers PreTrainedTokenizerFast) trained on `texts`, digits split."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    # One token per digit: a small model copies and adds numbers digit by digit far more easily
    # than it learns hundreds of rare multi-digit tokens.
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                  pre_tokenizers.ByteLevel(add_prefix_space=False)])
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    core.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None, unk_token=None, chat_template=CHAT_TEMPLATE,
                                   additional_special_tokens=["<|im_start|>", "<think>", "</think>"])


def build_model(tokenizer, hidden: int = 64, layers: int = 2, heads: int = 4, seed: int = 0,
                vocab_size: int | None = None, **config):
    """A randomly initialised Qwen2 model sized for `tokenizer` (or a larger `vocab_size`, e.g.
    Qwen2's 151,936, to measure a real model's output-layer cost; extra ids decode to nothing)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config.setdefault("num_key_value_heads", heads)
    cfg = Qwen2Config(vocab_size=vocab_size or len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 3,
                      num_hidden_layers=layers, num_attention_heads=heads,
                      max_position_embeddings=2048, tie_word_embeddings=True,
                      eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **config)
    return Qwen2ForCausalLM(cfg)


def save(model, tokenizer, path: str | Path) -> Path:
    path = Path(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
