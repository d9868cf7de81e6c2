from rlvr.domains import verify
from rlvr.domains.reasoning_gym import reasoning_gym_problems


def test_generated_problems_are_deterministic_and_scored_by_the_generator():
    first = reasoning_gym_problems("basic_arithmetic", size=3, seed=5)
    again = reasoning_gym_problems("basic_arithmetic", size=3, seed=5)
    assert [p.prompt for p in first] == [p.prompt for p in again]
    p = first[0]
    assert p.domain == "logic" and "<answer>" in p.prompt
    assert verify(p, f"<think>compute</think><answer>{p.answer}</answer>").reward == 1.0
    assert verify(p, "<answer>123456789</answer>").reward == 0.0


def test_gold_inside_prose_gets_no_partial_credit():
    p = reasoning_gym_problems("basic_arithmetic", size=1, seed=1)[0]
    import reasoning_gym

    prose = f"Well, I computed {p.answer} after some thought, obviously"
    entry = p.meta["reasoning_gym"]["entry"]
    assert reasoning_gym.get_score_answer_fn("basic_arithmetic")(prose, entry) > 0  # its lenient default
    assert verify(p, prose).reward == 0.0  # rlvr extracts first: no final answer, no credit
