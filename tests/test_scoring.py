import pytest

from rlvr.adapters import compute_score, rlvr_reward
from rlvr.problems import Problem
from rlvr.scoring import Scorer, score, score_batch


def test_library_api():
    p = Problem(id="p", domain="math", prompt="q", answer="\\frac{1}{2}")
    assert score(p, "\\boxed{0.5}").correct
    assert [s.correct for s in score_batch([p, p], ["\\boxed{0.5}", "\\boxed{1}"])] == [True, False]
    with pytest.raises(ValueError):
        score_batch([p], [])


def test_hard_time_limit_kills_a_stuck_verifier_and_keeps_the_others():
    slow = Problem(id="s", domain="code", prompt="q", tests={"style": "asserts", "code": ["assert True"], "wall_s": 30})
    fast = Problem(id="f", domain="math", prompt="q", answer="3")
    with Scorer(workers=2, timeout_s=3.0) as scorer:  # 1 s was too short for a math item on a loaded machine
        stuck = [f"```python\nwhile True:\n    x = {i}\n```" for i in range(2)]  # two distinct stuck programs
        scores = scorer.score_many([pair for code in stuck for pair in ((slow, code), (fast, "\\boxed{3}"))])
    assert [s.reason for s in scores[0::2]] == ["verifier timed out"] * 2
    assert [s.correct for s in scores[1::2]] == [True, True]


def test_a_repeated_completion_is_scored_once_and_each_repeat_gets_its_own_score(monkeypatch):
    p = Problem(id="p", domain="math", prompt="q", answer="3")
    twin = Problem(id="p", domain="math", prompt="q", answer="4")  # same id, another problem: not merged
    scored = []
    original = Scorer._score_distinct

    def recording(self, pairs):
        scored.extend(pairs)
        return original(self, pairs)

    monkeypatch.setattr(Scorer, "_score_distinct", recording)
    texts = ["\\boxed{3}", "\\boxed{4}", "\\boxed{3}", "\\boxed{3}"]
    with Scorer(workers=2) as scorer:
        scores = scorer.score_many([(p, t) for t in texts] + [(twin, "\\boxed{4}")])
    assert [s.correct for s in scores] == [True, False, True, True, True]
    assert [(q.answer, t) for q, t in scored] == [("3", "\\boxed{3}"), ("3", "\\boxed{4}"), ("4", "\\boxed{4}")]
    scores[0].reward = 0.5  # a caller shaping one rollout's reward leaves its repeats alone
    assert scores[2].reward == scores[3].reward == 1.0


def test_bad_ground_truth_is_flagged_as_an_error_not_a_crash():
    bad = Problem(id="gt1", domain="math", prompt="q", answer=None)
    s = score(bad, "\\boxed{1}")
    assert s.error and "gt1" in s.reason


def test_trl_reward_function():
    rewards = rlvr_reward(
        prompts=["1+1?", "Pick"],
        completions=["\\boxed{2}", [{"role": "assistant", "content": "Answer: A"}]],
        domain=["math", "science"],
        answer=["2", "B"],
    )
    assert rewards == [1.0, 0.0]
    with pytest.raises(ValueError, match="domain"):
        rlvr_reward(prompts=["q"], completions=["x"], answer=["1"])


def test_verl_compute_score():
    assert compute_score("math__aime", "<think>..</think>\\boxed{17}", "17") == 1.0
    assert compute_score("stem__gpqa", "Answer: (C)", "D") == 0.0
    truth = '{"inputs": ["2\\n"], "outputs": ["4\\n"]}'
    assert compute_score("codegen__taco", "```python\nprint(int(input()) * 2)\n```", truth) == 1.0


def test_a_chunk_that_times_out_is_rescored_item_by_item():
    problems = [Problem(id=str(i), domain="math", prompt="q", answer=str(i)) for i in range(64)]
    pairs = [(p, f"\\boxed{{{p.id if i % 3 else -1}}}") for i, p in enumerate(problems)]
    with Scorer(workers=2) as scorer:
        scorer.chunk_limit = lambda n: 0.001  # every chunk "times out"
        scores = scorer.score_many(pairs)
    assert [s.correct for s in scores] == [bool(i % 3) for i in range(64)]


def test_score_records_streams_with_a_bounded_window(scorer):
    from itertools import count, islice

    from rlvr.problems import Record
    from rlvr.scoring import score_records

    consumed = []

    def endless():
        for i in count():
            consumed.append(i)
            yield Record(f"gen:{i}", {"id": str(i), "domain": "math", "prompt": "q", "answer": "1", "completion": "\\boxed{1}"})

    first = list(islice(score_records(endless(), scorer, window=4), 3))
    assert [r.where for r in first] == ["gen:0", "gen:1", "gen:2"]
    assert all(r.scores[0].correct for r in first)
    assert len(consumed) <= 3 + 4 + 1  # never read far ahead of what was yielded


def test_a_broken_pool_is_replaced_and_scoring_goes_on():
    from rlvr.problems import Problem
    from rlvr.scoring import Scorer

    problem = Problem(id="p", domain="math", prompt="1+1?", answer="2")
    with Scorer(workers=1) as scorer:
        scorer._pool.stop()  # what pebble's pool looks like after a replacement worker failed to start
        scorer._pool.join()
        assert [s.reward for s in scorer.score_many([(problem, "\\boxed{2}"), (problem, "\\boxed{3}")])] == [1.0, 0.0]


def test_a_scoring_process_that_dies_is_a_verifier_error_not_a_wrong_answer(monkeypatch):
    import os

    import rlvr.scoring

    p = Problem(id="p", domain="math", prompt="q", answer="2")
    monkeypatch.setattr(rlvr.scoring, "score_in_process", lambda problem, completion: os._exit(3))
    with Scorer(workers=1) as scorer:  # its workers fork after the patch: each dies on its item
        s = scorer.score_many([(p, "\\boxed{2}")])[0]
    assert (s.reward, s.correct, s.error) == (0.0, False, True) and "died" in s.reason


def test_a_sandbox_that_does_not_start_is_a_verifier_error(monkeypatch, fallback_sandbox):
    from rlvr.domains.code import run_tests
    from rlvr.sandbox import core

    monkeypatch.setattr(core, "_python", lambda: ("/nonexistent/python3", core.Path("/nonexistent")))
    s = run_tests("def add(a, b):\n    return a + b\n", {"style": "asserts", "code": ["assert add(1, 2) == 3"]})
    assert s.error and s.reward == 0.0 and "verifier error" in s.reason, s
