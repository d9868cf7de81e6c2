"""The verifiers inside other trainers: TRL's reward functions and verl's compute_score on the
row shapes Guru published, with the verdicts `rlvr train` and `rlvr score` give."""

import json
import multiprocessing
import warnings

import numpy as np
import pytest

from rlvr.adapters import compute_score, rlvr_reward, trl_reward
from rlvr.models import model_path
from rlvr.problems import RecordError


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_path("tiny-reasoner"))


@pytest.mark.parametrize("completion, reward", [
    ("<think>\n2 + 2 = 4, so \\boxed{4}\n</think>\nI am not sure.", 0.0),  # a box inside the reasoning
    ("<think>\n2 + 2 = 4\n</think>\n\\boxed{4}", 1.0),
    ("<think>\n2 + 2 = 4, so \\boxed{4}", 0.0),  # the reasoning never ended: no final answer
])
def test_trl_reward_judges_thinking_as_rlvr_train_does(tokenizer, completion, reward):
    ids = tokenizer.encode(completion, add_special_tokens=False)
    trl_text = tokenizer.decode(ids, skip_special_tokens=True)  # what GRPOTrainer passes as completions
    assert "<think>" not in trl_text and "</think>" not in trl_text
    columns = {"domain": ["math"], "answer": ["4"]}
    assert trl_reward(tokenizer)(prompts=["2+2?"], completions=[trl_text], completion_ids=[ids], **columns) == [reward]
    assert rlvr_reward(prompts=["2+2?"], completions=[completion], **columns) == [reward]  # the rule, on full text


def test_rlvr_reward_warns_when_trl_removed_the_thinking_tokens(tokenizer, monkeypatch):
    import rlvr.adapters

    monkeypatch.setattr(rlvr.adapters, "_warned_thinking", False)
    ids = tokenizer.encode("<think>\\boxed{4}</think>no", add_special_tokens=False)
    with pytest.warns(UserWarning, match="trl_reward"):
        rlvr_reward(prompts=["q"], completions=[tokenizer.decode(ids, skip_special_tokens=True)],
                    completion_ids=[ids], domain=["math"], answer=["4"])
    with pytest.raises(ValueError, match="completion_ids"):
        trl_reward(tokenizer)(prompts=["q"], completions=["x"], domain=["math"], answer=["4"])


CRUX_CODE = "def f(x):\n    return x + 1"


def crux_prompt(question: str) -> str:
    return ("Find the input.\n[PYTHON]\ndef f(x):\n    return x\nassert f(??) == 3\n[/PYTHON]\n[ANSWER]\nassert f(3) == 3\n"
            f"[/ANSWER]\n[PYTHON]\n{CRUX_CODE}\n{question}\n[/PYTHON]\n[THOUGHT]\n")


@pytest.mark.parametrize("source, question, answer, reward", [
    ("simulation__cruxeval-i", "assert f(??) == 17", "assert f(16) == 17", 1.0),
    ("simulation__cruxeval-i", "assert f(??) == 17", "assert f(15) == 17", 0.0),
    ("simulation__cruxeval-i", "assert f(??) == 17", "f(16 if False else 16)", 0.0),  # code, not a value
    ("simulation__cruxeval-o", "assert f(16) == ??", "assert f(16) == 17", 1.0),
    ("simulation__cruxeval-o", "assert f(16) == ??", "f(16)", 0.0),  # the call copied from the prompt
])
def test_verl_cruxeval_rows_as_guru_wrote_them(source, question, answer, reward):
    extra = {"index": 3, "original_prompt": crux_prompt(question)}
    assert compute_score(source, f"[ANSWER]\n{answer}\n[/ANSWER]", json.dumps({"functional": "17"}), extra) == reward


def test_verl_cruxeval_without_its_function_names_the_field():
    with pytest.raises(RecordError, match="original_prompt"):
        compute_score("simulation__cruxeval-i", "[ANSWER]f(1)[/ANSWER]", json.dumps({"functional": "2"}), {})


ZEBRA_TRUTH = str({"header": ["House", "Name", "Pet"], "rows": [["1", "Alice", "cat"], ["2", "Bob", "dog"]]})


@pytest.mark.parametrize("source, solution, truth, reward", [
    ("logic__zebra_puzzle_dataset", "<answer>{'header': ['House', 'Name', 'Pet'], 'rows': [['1', 'Alice', 'cat'], "
     "['2', 'Bob', 'dog']]}</answer>", ZEBRA_TRUTH, 1.0),  # single-quoted Python literals on both sides
    ("logic__zebra_puzzle_dataset", "<answer>[['1', 'Bob', 'dog'], ['2', 'Alice', 'cat']]</answer>", ZEBRA_TRUTH, 0.0),
    ("logic__arcagi1", "<answer>\n```\n[[1, 2], [3, 4]]\n```\n</answer>", np.array([[1, 2], [3, 4]]), 1.0),
    ("logic__arcagi1", "<answer>\n```json\n[[1, 2], [3, 5]]\n```\n</answer>", np.array([[1, 2], [3, 4]]), 0.0),
    ("simulation__arcagi", "<answer>\n```json\n[[1, 2], [3, 4]]\n```\n</answer>", np.array([[1, 2], [3, 4]]), 1.0),
    ("table__hitab", "The total is \\boxed{\\$1,234}.", "1234", 1.0),
    ("table__finqa", "\\boxed{1234}", "\\$1,234", 1.0),
    ("logic__ordering_puzzle_dataset", "<answer>Alice, Bob, Carol</answer>", np.array(["Alice", "Bob", "Carol"]), 1.0),
    ("logic__ordering_puzzle_dataset", "<answer>Bob, Alice, Carol</answer>", np.array(["Alice", "Bob", "Carol"]), 0.0),
])
def test_verl_rows_in_guru_shapes(source, solution, truth, reward):
    assert compute_score(source, solution, truth, {"index": 0}) == reward


def _score_in_pool_worker(args):
    return compute_score(*args)


def test_verl_compute_score_works_inside_a_process_pool_worker():
    stdio = json.dumps({"inputs": ["3\n"], "outputs": ["6\n"]})
    jobs = [("math__aime", "\\boxed{17}", "17"), ("math__aime", "\\boxed{16}", "17"),
            ("codegen__taco", "```python\nprint(int(input()) * 2)\n```", stdio),
            ("codegen__taco", "```python\nprint(int(input()) * 3)\n```", stdio)]
    with warnings.catch_warnings(), multiprocessing.get_context("fork").Pool(2) as pool:  # daemonic workers
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: Python 3.12's warning
        assert pool.map(_score_in_pool_worker, jobs) == [1.0, 0.0, 1.0, 0.0]
