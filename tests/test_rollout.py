"""Dynamic sampling and the step's reward metrics, with a scripted sampler and scorer."""

from rlvr.problems import Problem, Score
from rlvr.rollouts import collect_groups
from rlvr.sampling.base import Sample, SamplingParams
from rlvr.train.loop import step_metrics


class ScriptedSampler:
    """Problem i's completions are all "1" (i % 3 == 0), all "0" (i % 3 == 1) or half and half."""

    def sample(self, prompts, params):
        out = []
        for prompt in prompts:
            i = int(prompt.split()[-1])
            texts = {0: ["1"] * params.n, 1: ["0"] * params.n}.get(i % 3, ["1", "0"] * (params.n // 2))
            out.append([Sample(text=t, token_ids=[5, 6], logprobs=[-0.1, -0.2], prompt_ids=[i]) for t in texts])
        return out

    def encode(self, prompt):
        return [0]


class ExactScorer:
    def score_many(self, pairs):
        return [Score(reward=float(text == "1"), correct=text == "1") for _, text in pairs]


PROBLEMS = [Problem(id=f"p{i}", domain="math" if i % 2 else "logic", prompt=f"problem {i}", answer="1")
            for i in range(30)]


def test_dynamic_sampling_keeps_only_mixed_groups_and_reports_every_drawn_rollout():
    params = SamplingParams(n=4, max_new_tokens=4)
    groups, stats = collect_groups(ScriptedSampler(), ExactScorer(), PROBLEMS, count=4, n=4, params=params,
                                   step=0, seed=0, dynamic=True, max_draws=5)
    assert len(groups) == 4 and all(not g.zero_variance for g in groups) and stats.groups_zero_variance > 0
    assert stats.groups_drawn >= 4
    record = step_metrics(0, groups, stats, {}, 1.0)
    drawn = [reward for _, reward, _ in stats.drawn]
    assert len(drawn) == 4 * stats.groups_drawn
    assert record["reward_mean"] == sum(drawn) / len(drawn)  # dropped all-0 / all-1 groups count
    assert record["reward_mean_kept"] == 0.5  # every kept group is half right
    assert record["pass@1_batch"] == record["reward_mean"]
    assert record["zero_variance_frac"] == stats.groups_zero_variance / stats.groups_drawn


def test_without_dynamic_sampling_every_group_is_kept():
    params = SamplingParams(n=4, max_new_tokens=4)
    groups, stats = collect_groups(ScriptedSampler(), ExactScorer(), PROBLEMS, count=6, n=4, params=params,
                                   step=3, seed=1, dynamic=False, max_draws=5)
    assert len(groups) == 6 and stats.groups_drawn == 6
    record = step_metrics(3, groups, stats, {}, 1.0)
    assert record["reward_mean"] == record["reward_mean_kept"] and record["step"] == 4


class BatchedSampler(ScriptedSampler):
    """Records each call's prompts and seed; `device` says where it samples."""

    def __init__(self, device=None, batch_size=8):
        self.device, self.batch_size, self.calls = device, batch_size, []

    def sample(self, prompts, params):
        self.calls.append((len(prompts), params.seed))
        return super().sample(prompts, params)


def test_off_cpu_sampling_is_scored_batch_by_batch_in_order():
    import torch

    from rlvr.rollouts import RolloutStats, sample_groups

    params = SamplingParams(n=4, max_new_tokens=4, seed=5)
    off_cpu = BatchedSampler(device=None)  # a server or a GPU: sampler batches of 8 // 4 = 2 problems
    groups = sample_groups(off_cpu, ExactScorer(), PROBLEMS[:5], params, RolloutStats())
    assert [count for count, _ in off_cpu.calls] == [2, 2, 1]
    assert len({seed for _, seed in off_cpu.calls}) == 3  # each batch draws its own random numbers
    assert [g.problem.id for g in groups] == [p.id for p in PROBLEMS[:5]]
    assert [g.rewards for g in groups][:3] == [[1.0] * 4, [0.0] * 4, [1.0, 0.0, 1.0, 0.0]]  # scores stay with their problem
    on_cpu = BatchedSampler(device=torch.device("cpu"))
    sample_groups(on_cpu, ExactScorer(), PROBLEMS[:5], params, RolloutStats())
    assert on_cpu.calls == [(5, 5)]  # on CPU: one call with the step's own seed, then scoring


def test_no_problems_make_no_groups():
    import torch

    from rlvr.rollouts import RolloutStats, sample_groups

    for device in (None, torch.device("cpu")):
        sampler = BatchedSampler(device=device)
        assert sample_groups(sampler, ExactScorer(), [], SamplingParams(n=4), RolloutStats()) == []
        assert sampler.calls == []


class FlakyScorer:
    """Scores like ExactScorer, but the 2nd completion of every problem gets no verdict, and
    problem 5 none at all (a verifier error: sandbox down, worker died)."""

    def score_many(self, pairs):
        out = []
        for i, (problem, text) in enumerate(pairs):
            broken = i % 4 == 1 or problem.id == "p5"
            out.append(Score(reward=0.0, correct=False, error=True, reason="verifier error") if broken
                       else Score(reward=float(text == "1"), correct=text == "1"))
        return out


def test_rollouts_without_a_verdict_are_left_out_of_the_update_and_counted():
    params = SamplingParams(n=4, max_new_tokens=4)
    problems = [p for p in PROBLEMS if p.id in ("p2", "p5", "p8")]
    groups, stats = collect_groups(ScriptedSampler(), FlakyScorer(), problems, count=3, n=4, params=params,
                                   step=0, seed=0, dynamic=False, max_draws=1)
    assert sorted(g.problem.id for g in groups) == ["p2", "p8"]  # p5 had no verdict at all
    assert all(len(g.rollouts) == 3 and len(g.truncated) == 3 and not any(r.score.error for r in g.rollouts)
               for g in groups)
    assert stats.verifier_errors == 2 + 4
    record = step_metrics(0, groups, stats, {}, 1.0)
    assert record["verifier_errors"] == 6 and len(stats.drawn) == 6  # rewards: verdicts only
    empty = step_metrics(0, [], type(stats)(verifier_errors=4), {}, 1.0)  # a step with no verdict at all
    assert empty["verifier_errors"] == 4 and empty["reward_mean"] != empty["reward_mean"]  # NaN, no crash
