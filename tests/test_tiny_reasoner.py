"""The shipped tiny reasoner: standard Hugging Face format, within the size limit, and it reasons
well enough on held-out problems for RL to have something to work with."""

from collections import Counter

import pytest

from rlvr.models import model_path

SHIPPED = model_path("tiny-reasoner")


def test_shipped_model_is_a_small_hugging_face_model_with_thinking_tags():
    from transformers import AutoConfig, AutoTokenizer

    files = {p.name for p in SHIPPED.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= files
    assert sum(p.stat().st_size for p in SHIPPED.iterdir()) <= 20 * 1024 * 1024
    assert AutoConfig.from_pretrained(SHIPPED).model_type == "qwen2"
    tokenizer = AutoTokenizer.from_pretrained(SHIPPED)
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                             add_generation_prompt=True)
    assert rendered.endswith("<|im_start|>assistant\n")
    assert {"<think>", "</think>"} <= set(tokenizer.get_vocab())


@pytest.fixture(scope="module")
def greedy_heldout(scorer):
    from rlvr.sampling.base import SamplingParams
    from rlvr.sampling.torch_backend import TorchSampler
    from rlvr.suites import load_suite

    problems = [p for p in load_suite("synthetic-heldout") if p.meta["level"] == 1]
    per_task: Counter = Counter()
    chosen = []
    for p in problems:
        if per_task[p.task] < 3:
            per_task[p.task] += 1
            chosen.append(p)
    sampler = TorchSampler.from_pretrained(SHIPPED, device="cpu")
    samples = sampler.sample([p.sampler_prompt() for p in chosen], SamplingParams(temperature=0.0, max_new_tokens=160))
    scores = scorer.score_many([(p, s[0].text) for p, s in zip(chosen, samples)])
    return chosen, samples, scores


def test_shipped_model_answers_in_each_verifiers_format(greedy_heldout):
    _, samples, scores = greedy_heldout
    texts = [s[0].text for s in samples]
    assert all(t.startswith("<think>") and "</think>" in t for t in texts)
    assert sum(s.extracted is not None for s in scores) >= 0.9 * len(scores)


def test_shipped_model_solves_some_held_out_level_1_problems_greedily(greedy_heldout):
    chosen, _, scores = greedy_heldout
    solved = sum(s.correct for s in scores)
    assert solved >= 0.25 * len(chosen), f"{solved}/{len(chosen)}"
    assert len({p.domain for p, s in zip(chosen, scores) if s.correct}) >= 3  # code, math, science (docs/tiny-reasoner.md)
