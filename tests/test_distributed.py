"""Data parallel training on torch.distributed (gloo on CPU; the same code runs on NCCL): N ranks
holding shares of a batch make the update one process makes on the whole batch."""

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rlvr.config import AlgoConfig
from rlvr.problems import Problem, Rollout, Score
from rlvr.rollouts import Group
from rlvr.train.distributed import SINGLE, Ranks

AGGREGATIONS = ("token_mean", "seq_mean_token_mean", "token_sum_norm")


def groups() -> list[Group]:
    """Six groups of four rollouts of different lengths; groups 1 and 4 all right (advantage 0)."""
    problem = Problem(id="p", domain="math", prompt="q", answer="1")
    out = []
    for g in range(6):
        rollouts = []
        for i in range(4):
            length = 2 + (g * i + g) % 5
            right = g in (1, 4) or (g + i) % 3 == 0
            rollouts.append(Rollout(problem_id="p", prompt_ids=[1, 5 + g, 6], completion_ids=[7 + (g * i + j) % 40
                                    for j in range(length)], text="", logprobs=[-1.0 - 0.05 * (g + i + j)
                                                                                for j in range(length)],
                                    score=Score(reward=float(right), correct=right)))
        out.append(Group(problem, rollouts, [False] * 4))
    return out


def train_twice(model_dir, shard: list[Group], aggregation: str, skip: bool, ranks: Ranks) -> dict:
    """Two optimizer steps on the shard's batch; the final weights."""
    from transformers import AutoModelForCausalLM

    from rlvr.train.learner import UpdatePlan, build_batch, update_policy

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    algo = AlgoConfig(aggregation=aggregation)
    batch = build_batch(shard, algo, False, 0)
    plan = UpdatePlan(microbatch=3, skip_zero_advantage=skip, max_new_tokens=8)
    for _ in range(2):
        update_policy(model, optimizer, scheduler, batch, algo, plan, generator=torch.Generator().manual_seed(1),
                      ranks=ranks)
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _rank(rank: int, world: int, init_file: str, model_dir: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    ranks = Ranks(rank, world)
    # uneven shares (2 and 4 groups, other token counts): a per-rank normalizer would show;
    # groups are never split, so advantages stay per group
    shard = groups()[:2] if rank == 0 else groups()[2:]
    results = {(a, s): train_twice(model_dir, shard, a, s, ranks) for a in AGGREGATIONS for s in (False, True)}
    if rank == 0:
        torch.save(results, out)
    dist.destroy_process_group()


def test_two_ranks_make_the_update_one_process_makes_on_the_whole_batch(tiny_model_dir, tmp_path):
    out = tmp_path / "two_ranks.pt"
    mp.start_processes(_rank, args=(2, str(tmp_path / "init"), str(tiny_model_dir), str(out)), nprocs=2,
                       start_method="spawn")
    two = torch.load(out)
    from transformers import AutoModelForCausalLM

    initial = dict(AutoModelForCausalLM.from_pretrained(tiny_model_dir).named_parameters())
    for aggregation in AGGREGATIONS:
        for skip in (False, True):
            one = train_twice(tiny_model_dir, groups(), aggregation, skip, SINGLE)
            assert max(float((one[n] - initial[n]).abs().max()) for n in one) > 1e-4  # the steps moved the weights
            worst = max(float((one[n] - two[(aggregation, skip)][n]).abs().max()) for n in one)
            assert worst < 1e-5, (aggregation, skip, worst)
