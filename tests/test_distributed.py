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
SHARDINGS = ("replicate", "fsdp2")  # gradients all-reduced / weights, gradients and AdamW state sharded


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


def train_twice(model_dir, shard: list[Group], aggregation: str, skip: bool, ranks: Ranks,
                sharding: str = "replicate") -> dict:
    """Two optimizer steps on the shard's batch; the final weights."""
    from transformers import AutoModelForCausalLM

    from rlvr.train.learner import UpdatePlan, build_batch, update_policy
    from rlvr.train.sharding import make_policy

    torch.manual_seed(0)
    policy = make_policy(AutoModelForCausalLM.from_pretrained(model_dir), ranks, sharding)
    optimizer = torch.optim.AdamW(policy.trainer.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    algo = AlgoConfig(aggregation=aggregation)
    batch = build_batch(shard, algo, False, 0)
    plan = UpdatePlan(microbatch=3, skip_zero_advantage=skip, max_new_tokens=8)
    for _ in range(2):
        update_policy(policy.trainer, optimizer, scheduler, batch, algo, plan,
                      generator=torch.Generator().manual_seed(1), ranks=ranks)
    policy.refresh()
    return {name: p.detach().clone() for name, p in policy.full.named_parameters()}


def _rank(rank: int, world: int, init_file: str, model_dir: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    ranks = Ranks(rank, world)
    # uneven shares (2 and 4 groups, other token counts): a per-rank normalizer would show;
    # groups are never split, so advantages stay per group
    shard = groups()[:2] if rank == 0 else groups()[2:]
    results = {(a, s, sharding): train_twice(model_dir, shard, a, s, ranks, sharding)
               for a in AGGREGATIONS for s in (False, True) for sharding in SHARDINGS}
    if rank == 0:
        torch.save(results, out)
    dist.destroy_process_group()


def test_two_ranks_replicated_or_sharded_make_the_update_one_process_makes_on_the_whole_batch(tiny_model_dir, tmp_path):
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
            for sharding in SHARDINGS:
                worst = max(float((one[n] - two[(aggregation, skip, sharding)][n]).abs().max()) for n in one)
                assert worst < 1e-5, (aggregation, skip, sharding, worst)


def rlvr_train(*args, timeout=600):
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "rlvr.cli", "train", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def config(tmp_path, name: str, steps: int) -> str:
    import json

    path = tmp_path / f"{name}.yaml"
    path.write_text(json.dumps({
        "output": str(tmp_path / name), "steps": steps, "seed": 5,
        # sampler batches of 8 sequences: the held-out evaluation's 12 problems x 2 samples are 3
        # batches, so both ranks evaluate some
        "rollout": {"prompts_per_step": 4, "rollouts_per_prompt": 4, "max_new_tokens": 40, "dynamic_sampling": False,
                    "verifier_workers": 1, "sampler_batch_size": 8},
        "evaluation": {"every": 0, "before": False, "problems": 12, "n": 2}, "checkpointing": {"every": 1}}))
    return str(path)


def final_weights(run_dir) -> dict:
    from safetensors.torch import load_file

    latest = (run_dir / "checkpoints" / "latest").read_text().strip()
    return load_file(str(run_dir / "checkpoints" / latest / "model.safetensors"))


def steps_and_evals(run_dir) -> tuple[list[dict], list[dict]]:
    from rlvr.train.records import read_metrics

    rows = read_metrics(run_dir)
    return [r for r in rows if r["kind"] == "step"], [r for r in rows if r["kind"] == "eval"]


def test_two_rank_training_writes_one_run_evaluates_like_one_process_and_resumes_exactly(tmp_path):
    import json

    from rlvr.config import TrainConfig, load_config
    from rlvr.sampling.torch_backend import TorchSampler
    from rlvr.train.loop import evaluate_with, load_problems

    whole = rlvr_train(config(tmp_path, "whole", 3), "--nproc", 2)
    assert whole.returncode == 0, whole.stderr[-3000:]
    run = tmp_path / "whole"
    steps, evals = steps_and_evals(run)
    assert [r["step"] for r in steps] == [1, 2, 3] and all(r["ranks"] == 2 for r in steps)
    assert (run / "report.md").exists() and [e["eval"] for e in evals] == ["after"]
    assert sorted(p.name for p in (run / "eval-after").iterdir() if p.is_dir()) == ["rank-0", "rank-1"]

    # the merged held-out evaluation is the one a single process makes of the same checkpoint
    cfg = load_config(tmp_path / "whole.yaml", TrainConfig)
    latest = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
    sampler = TorchSampler.from_pretrained(latest, batch_size=cfg.rollout.sampler_batch_size)
    single = evaluate_with(sampler, load_problems(cfg)[1], cfg, tmp_path / "single-eval")
    merged = json.loads((run / "eval-after" / "metrics.json").read_text())
    assert merged["overall"]["pass@1"] == single["overall"]["pass@1"]
    assert merged["overall"]["pass@2"] == single["overall"]["pass@2"]
    # FSDP2 (the default): the AdamW state in shards, each rank's random states of its own
    assert (latest / "optimizer" / ".metadata").exists() and "optimizer" not in torch.load(latest / "state.pt")
    assert sorted(p.name for p in latest.glob("rng-rank-*.pt")) == ["rng-rank-0.pt", "rng-rank-1.pt"]

    # stopped after step 2 and resumed with 2 ranks: the weights of the uninterrupted run
    first = rlvr_train(config(tmp_path, "parts", 2), "--nproc", 2)
    assert first.returncode == 0, first.stderr[-3000:]
    second = rlvr_train("--resume", tmp_path / "parts", "--set", "steps=3", "--nproc", 2)
    assert second.returncode == 0, second.stderr[-3000:]
    resumed, uninterrupted = final_weights(tmp_path / "parts"), final_weights(run)
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in uninterrupted)
    one_rank = rlvr_train("--resume", tmp_path / "parts", "--set", "steps=4")
    assert one_rank.returncode == 2 and "saved by a run of 2 rank(s)" in one_rank.stdout + one_rank.stderr
    replicated = rlvr_train("--resume", tmp_path / "parts", "--set", "steps=4", "--set", "learner.sharding=replicate",
                            "--nproc", 2)
    assert replicated.returncode != 0 and "learner.sharding=fsdp2" in replicated.stdout + replicated.stderr


def test_a_rank_that_dies_ends_the_run_on_every_rank_naming_it(tmp_path):
    import subprocess
    import sys
    import time

    import psutil

    launcher = subprocess.Popen([sys.executable, "-m", "rlvr.cli", "train", config(tmp_path, "dies", 50), "--nproc",
                                 "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    metrics = tmp_path / "dies" / "metrics.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (metrics.exists() and metrics.read_text().strip()):
        time.sleep(0.5)
    assert metrics.exists(), "the run never reached its first step"
    ranks = [p for p in psutil.Process(launcher.pid).children(recursive=True) if "rlvr.cli" in " ".join(p.cmdline())]
    rank1 = [p for p in ranks if p.environ().get("RANK") == "1"]
    assert rank1, [p.cmdline() for p in ranks]
    killed = time.time()
    rank1[0].kill()  # as the OOM killer would
    out, _ = launcher.communicate(timeout=120)
    assert launcher.returncode != 0 and time.time() - killed < 60
    assert "rank      : 1" in out or "rank 1" in out, out[-2000:]
    for p in ranks:
        assert not p.is_running() or p.status() == psutil.STATUS_ZOMBIE
