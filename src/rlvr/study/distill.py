"""`rlvr study distill`: the generalization-vs-fidelity study of knowledge distillation at our
scale. The shipped tiny reasoner teaches two students built with rlvr's model builder (about a
quarter and a tenth of its parameters, on its tokenizer), each first SFT-trained briefly on the
reference solutions (one base per size, shared by all its runs). From each base: continued SFT
(the no-teacher baseline), forward KL, reverse KL and generalized JSD at each temperature,
sequence-level KD on teacher samples and on-policy distillation, all with the same steps x
sequences, for several seeds. Every run is scored on held-out pass@k and on its fidelity to the
teacher: top-1 agreement and forward KL on the teacher's own held-out completions.

Layout (resumable; a rerun skips what is finished):
    students/SIZE/            the SFT-trained base student
    teacher-heldout.jsonl     the teacher's held-out completions (the fidelity set)
    SIZE-base/                the base student scored before distillation (eval-after/, fidelity.json)
    SIZE-LOSS[-tTAU]-sSEED/   one `rlvr distill` run each, with fidelity.json
    study.md, study.json, fidelity.png
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import mean, pstdev

import torch
from pydantic import Field

from rlvr.config import Strict, TinyModelSpec
from rlvr.distill.config import DistillConfig
from rlvr.plots import finish, plt
from rlvr.study.summary import verdict

DIVERGENCE_LOSSES = ("forward_kl", "reverse_kl", "gjsd")


def default_students() -> dict[str, TinyModelSpec]:
    # the teacher: hidden 256, 4 layers, 3.6M parameters; these: 0.95M (26%) and 0.40M (11%)
    return {"quarter": TinyModelSpec(hidden=128, layers=4, heads=4), "tenth": TinyModelSpec(hidden=80, layers=4,
                                                                                           heads=4)}


class DistillStudyConfig(Strict):
    teacher: str = "tiny-reasoner"
    students: dict[str, TinyModelSpec] = Field(default_factory=default_students)
    # the students' SFT (batches of 32) before any distillation: 150 left both at 0% held-out pass@1,
    # 1,500 takes the quarter student to 4.4% (6 min 13 s on 2 cores; docs/studies.md)
    base_sft_steps: int = 1500
    losses: list[str] = Field(default_factory=lambda: ["sft", *DIVERGENCE_LOSSES, "sequence_kd", "on_policy"])
    temperatures: list[float] = Field(default_factory=lambda: [1.0, 2.0, 5.0])  # for the divergences
    seeds: list[int] = Field(default_factory=lambda: [0, 1])
    steps: int = 40  # distillation steps per run, batch_size sequences each (equal budgets)
    batch_size: int = 16
    lr: float = 3e-4
    max_new_tokens: int = 128
    eval_problems: int = 48
    eval_n: int = 8
    fidelity_problems: int = 48  # held-out prompts whose teacher completions measure fidelity
    workers: int | None = None
    output: Path = Path("runs/study-distill")


def run_names(study: DistillStudyConfig) -> list[tuple[str, str, str, float, int]]:
    """(run name, student, loss, temperature, seed) of every run."""
    out = []
    for size in study.students:
        for loss in study.losses:
            for tau in study.temperatures if loss in DIVERGENCE_LOSSES else [1.0]:
                for seed in study.seeds:
                    suffix = f"-t{tau:g}" if loss in DIVERGENCE_LOSSES else ""
                    out.append((f"{size}-{loss}{suffix}-s{seed}", size, loss, tau, seed))
    return out


def run_config(study: DistillStudyConfig, name: str, size: str, loss: str, tau: float, seed: int) -> DistillConfig:
    """`sft` is sequence_kd on the reference solutions (no teacher); sequence_kd proper trains on
    teacher samples; the divergences compare distributions on the reference solutions."""
    # the problems come from synthetic seeds the students' SFT never saw
    return DistillConfig.model_validate({
        "teacher": study.teacher, "student": str(study.output / "students" / size),
        "loss": "sequence_kd" if loss == "sft" else loss, "temperature": tau,
        "sequences": "teacher" if loss == "sequence_kd" else "ground_truth",
        "rollouts_per_prompt": 1, "suite_seeds": [len(sft_seeds(study)) + seed], "per_task": 10, "steps": study.steps,
        "batch_size": study.batch_size, "microbatch_size": study.batch_size, "lr": study.lr,
        "max_new_tokens": study.max_new_tokens, "seed": seed, "output": str(study.output / name),
        "evaluation": {"suite": "synthetic-heldout", "before": False, "problems": study.eval_problems,
                       "n": study.eval_n},
        "checkpointing": {"every": study.steps, "keep": 1}, "verifier_workers": study.workers})


def sft_seeds(study: DistillStudyConfig) -> list[int]:
    """The synthetic seeds of the students' SFT: one pass over about base_sft_steps batches of 32
    (390 problems per seed). The distillation runs draw from the seeds after these."""
    return list(range(max(1, round(study.base_sft_steps * 32 / 390))))


def build_students(study: DistillStudyConfig, log) -> None:
    """Each student size built on the teacher's tokenizer and briefly SFT-trained (once)."""
    from transformers import AutoTokenizer

    from rlvr.config import SFTConfig
    from rlvr.models import model_path
    from rlvr.models.tiny import build_model, save
    from rlvr.train.sft import run_sft

    tokenizer = AutoTokenizer.from_pretrained(model_path(study.teacher))
    for size, spec in study.students.items():
        final = study.output / "students" / size
        if (final / "sft_log.json").exists():
            continue
        model = build_model(tokenizer, hidden=spec.hidden, layers=spec.layers, heads=spec.heads)
        log(f"student {size}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, brief SFT")
        fresh = save(model, tokenizer, study.output / "students" / f"{size}-init")
        run_sft(SFTConfig(model=str(fresh), suite_seeds=sft_seeds(study), per_task=10, output=final, lr=1e-3,
                          batch_size=32, warmup_steps=20, workers=1), log=lambda line: None)


@torch.no_grad()
def fidelity(student_dir: Path, teacher, sequences: list) -> dict[str, float]:
    """Top-1 agreement with the teacher and forward KL(teacher || student) per token, on the
    teacher's held-out completions."""
    from transformers import AutoModelForCausalLM

    from rlvr.distill.losses import forward_kl
    from rlvr.distill.run import completion_states, pad

    student = AutoModelForCausalLM.from_pretrained(student_dir).eval()
    agree, kl, tokens = 0.0, 0.0, 0
    for start in range(0, len(sequences), 16):
        ids, attention, mask = pad(sequences[start : start + 16], 0)
        z_s = completion_states(student, ids, attention, mask, False) @ student.get_output_embeddings().weight.T
        z_t = completion_states(teacher, ids, attention, mask, False) @ teacher.get_output_embeddings().weight.T
        agree += float((z_s.argmax(-1) == z_t.argmax(-1)).sum())
        kl += float(forward_kl(z_s, z_t).sum())
        tokens += z_s.shape[0]
    return {"agreement": agree / max(tokens, 1), "forward_kl": kl / max(tokens, 1), "tokens": tokens}


def teacher_heldout(study: DistillStudyConfig) -> list:
    """The teacher's completions of `fidelity_problems` held-out prompts (drawn once)."""
    from rlvr.distill.run import load_sequences, sample_once, save_sequences

    path = study.output / "teacher-heldout.jsonl"
    if not path.exists():
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from rlvr.models import model_path
        from rlvr.suites import load_suite, spread

        teacher_dir = model_path(study.teacher)
        model = AutoModelForCausalLM.from_pretrained(teacher_dir)
        problems = spread(load_suite("synthetic-heldout"), study.fidelity_problems)
        samples = sample_once(model, AutoTokenizer.from_pretrained(teacher_dir), problems, study.max_new_tokens,
                              seed=12345)
        save_sequences(path, samples)
    return load_sequences(path)


def evaluate_base(study: DistillStudyConfig, size: str, teacher, sequences: list) -> None:
    """The SFT-trained student before any distillation, scored as a run is (SIZE-base/)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlvr.distill.run import eval_config, evaluate_student
    from rlvr.train.loop import load_problems as held_out

    out, student_dir = study.output / f"{size}-base", study.output / "students" / size
    cfg = run_config(study, out.name, size, "sft", 1.0, study.seeds[0])  # a run's evaluation settings
    evaluate_student(AutoModelForCausalLM.from_pretrained(student_dir).eval(),
                     AutoTokenizer.from_pretrained(student_dir), cfg, held_out(eval_config(cfg))[1],
                     out / "eval-after")
    (out / "fidelity.json").write_text(json.dumps(fidelity(student_dir, teacher, sequences)))


def base_names(study: DistillStudyConfig) -> list[tuple[str, str, str, float, int]]:
    return [(f"{size}-base", size, "base", 1.0, study.seeds[0]) for size in study.students]


def run_distill_study(study: DistillStudyConfig, log=print) -> Path:
    from rlvr.distill.run import distill
    from rlvr.models import model_path
    from rlvr.train.checkpoint import latest_checkpoint

    runs = run_names(study)
    configs = {name: run_config(study, name, *rest) for name, *rest in runs}  # validate all first
    study.output.mkdir(parents=True, exist_ok=True)
    build_students(study, log)
    sequences = teacher_heldout(study)
    from transformers import AutoModelForCausalLM

    teacher = AutoModelForCausalLM.from_pretrained(model_path(study.teacher)).eval()  # for the fidelity scores
    for name, size, *_ in base_names(study):
        if not (study.output / name / "fidelity.json").exists():
            log(f"{name}: evaluating the student before distillation")
            evaluate_base(study, size, teacher, sequences)
    for name, cfg in configs.items():
        if (cfg.output / "fidelity.json").exists():
            log(f"{name}: done")
            continue
        resume = latest_checkpoint(cfg.output) is not None
        log(f"{name}: {'resuming' if resume else 'distilling'}")
        if not (cfg.output / "eval-after" / "metrics.json").exists():
            distill(cfg, resume=resume, overwrite=not resume, log=lambda line: None)
        scores = fidelity(latest_checkpoint(cfg.output), teacher, sequences)
        (cfg.output / "fidelity.json").write_text(json.dumps(scores))
    return write_distill_summary(study, [r for size in study.students for r in base_names(study) + runs
                                         if r[1] == size])


def run_scores(study: DistillStudyConfig, name: str) -> dict[str, float]:
    evaluated = json.loads((study.output / name / "eval-after" / "metrics.json").read_text())
    metrics = evaluated["overall"]
    scores = json.loads((study.output / name / "fidelity.json").read_text())
    return {"pass@1": metrics["pass@1"], f"pass@{study.eval_n}": metrics.get(f"pass@{study.eval_n}", float("nan")),
            **scores, "by_domain": {d: m["pass@1"] for d, m in sorted(evaluated["by_domain"].items())}}


def write_distill_summary(study: DistillStudyConfig, runs: list[tuple]) -> Path:
    pk = f"pass@{study.eval_n}"
    scores = {name: run_scores(study, name) for name, *_ in runs}
    cells: dict[tuple[str, str], list[dict]] = {}
    for name, size, loss, tau, _ in runs:
        label = f"{loss} τ={tau:g}" if loss in DIVERGENCE_LOSSES else loss
        cells.setdefault((size, label), []).append(scores[name])

    def show(values: list[float], scale: float = 100) -> str:
        text = f"{scale * mean(values):.1f}"
        return text + (f" ± {scale * pstdev(values):.1f}" if len(values) > 1 else "")

    lines = ["# rlvr study distill", "",
             f"Teacher {study.teacher}; students SFT-trained {study.base_sft_steps} steps, then {study.steps} steps of "
             f"{study.batch_size} sequences each run; {len(study.seeds)} seed(s); held-out pass@k over "
             f"{study.eval_problems} problems x {study.eval_n} samples (%); fidelity on the teacher's completions of "
             f"{study.fidelity_problems} held-out prompts: top-1 agreement (%) and forward KL (nats/token).", "",
             f"| student | run | pass@1 | {pk} | agreement | forward KL |", "|---|---|---|---|---|---|"]
    for (size, label), values in cells.items():
        lines.append(f"| {size} | {label} | {show([v['pass@1'] for v in values])} | {show([v[pk] for v in values])} "
                     f"| {show([v['agreement'] for v in values])} | {show([v['forward_kl'] for v in values], 1)} |")
    lines += ["", *domain_table(cells)]
    lines += ["", "## The paper's claims at this scale", "",
              *claims(cells, list(study.students), study.eval_problems), "",
              "![fidelity against accuracy](fidelity.png)", ""]
    plot(study.output / "fidelity.png", cells)
    (study.output / "study.json").write_text(json.dumps(
        {f"{size}/{label}": values for (size, label), values in cells.items()}, indent=1))
    path = study.output / "study.md"
    path.write_text("\n".join(lines))
    return path


def domain_table(cells: dict) -> list[str]:
    """Held-out pass@1 (%) per domain of every setting, means over seeds."""
    domains = sorted({d for values in cells.values() for v in values for d in v["by_domain"]})
    lines = ["Held-out pass@1 per domain (%, mean over seeds):", "",
             f"| student | run | {' | '.join(domains)} |", "|---|---|" + "---|" * len(domains)]
    for (size, label), values in cells.items():
        row = [f"{100 * mean(v['by_domain'][d] for v in values if d in v['by_domain']):.1f}"
               if any(d in v["by_domain"] for v in values) else "–" for d in domains]
        lines.append(f"| {size} | {label} | {' | '.join(row)} |")
    return lines


def _pass1(cells: dict, size: str, label: str) -> list[float]:
    return [v["pass@1"] for v in cells.get((size, label), [])]


def judge(holds: bool, difference: float, seed_spread: float, p: float, problems: int, means: int) -> str:
    """verdict(), where a difference is also inconclusive within the held-out evaluation's own
    sampling error: `means` pass@1 values at about p over `problems` problems each, combined into
    `difference` (taken as independent Bernoulli problems: conservative, as 8 samples per problem
    average some noise away)."""
    error = math.sqrt(means * p * (1 - p) / problems) if problems else 0.0
    if abs(difference) <= error and abs(difference) > seed_spread:
        return f"**inconclusive** (difference within the held-out sampling error, ±{100 * error:.1f})"
    return verdict(holds, difference, seed_spread)


def claims(cells: dict, sizes: list[str], problems: int = 0) -> list[str]:
    """The three claims, each on pass@1 means over seeds; a difference within the seeds' spread or
    the evaluation's sampling error over `problems` held-out problems is inconclusive."""
    out = []
    level = mean(v["pass@1"] for vs in cells.values() for v in vs) if cells else 0.0  # p of the errors
    kd_labels = sorted({label for _, label in cells if label.split(" ")[0] in DIVERGENCE_LOSSES})
    gains = {}
    for size in sizes:
        base = _pass1(cells, size, "sft")
        if base and kd_labels:
            best = max(kd_labels, key=lambda label: mean(_pass1(cells, size, label)))
            gains[size] = (mean(_pass1(cells, size, best)) - mean(base), best,
                           max(pstdev(base), pstdev(_pass1(cells, size, best))))
    if len(sizes) >= 2 and all(s in gains for s in sizes[:2]):
        large, small = sizes[0], sizes[-1]
        diff = gains[small][0] - gains[large][0]
        out.append(f"- KD helps the smaller student more than the larger one: "
                   f"{judge(diff > 0, diff, max(gains[small][2], gains[large][2]), level, problems, 4)} (best KD minus "
                   f"SFT: {small} "
                   f"{100 * gains[small][0]:+.1f} with {gains[small][1]}, {large} {100 * gains[large][0]:+.1f} with "
                   f"{gains[large][1]}).")
    for size in sizes:
        by_tau = {}
        for label in kd_labels:
            tau = label.split("=")[1]
            by_tau.setdefault(tau, []).extend(_pass1(cells, size, label))
        if {"1", "2", "5"} <= set(by_tau):
            t1, t2, t5 = (mean(by_tau[t]) for t in ("1", "2", "5"))
            sd = max(pstdev(by_tau[t]) for t in ("1", "2", "5"))
            out.append(f"- {size}: τ = 2 is best (mean over the divergences): "
                       f"{judge(t2 >= max(t1, t5), t2 - max(t1, t5), sd, level, problems, 2)} (τ=1 {100 * t1:.1f}, "
                       f"τ=2 {100 * t2:.1f}, τ=5 {100 * t5:.1f}); τ = 5 hurts: "
                       f"{judge(t5 < t2, t2 - t5, sd, level, problems, 2)}.")
    trained = {key: vs for key, vs in cells.items() if key[1] != "base"}  # the settings, not their start
    points = [(mean(v["agreement"] for v in vs), mean(v["pass@1"] for v in vs)) for vs in trained.values()]
    if len(points) >= 3 and len({p for _, p in points}) == 1:
        out.append(f"- Higher fidelity does not imply higher accuracy: **inconclusive** (every setting has pass@1 "
                   f"{100 * points[0][1]:.1f}: no accuracy to rank).")
    elif len(points) >= 3:
        rho = spearman([a for a, _ in points], [p for _, p in points])
        within = {}  # the same student trained differently: what the paradox is about
        for size in sizes:
            own = [(mean(v["agreement"] for v in vs), mean(v["pass@1"] for v in vs))
                   for (s, _), vs in trained.items() if s == size]
            if len(own) >= 3:
                within[size] = spearman([a for a, _ in own], [p for _, p in own])
        # judged within each student: pooled, a larger student both more faithful and more accurate
        # would read as "fidelity implies accuracy" although no training choice showed it
        weak = all(r < 0.5 for r in within.values()) if within else rho < 0.5
        each = "".join(f", {size} alone {r:+.2f}" for size, r in within.items())
        out.append(f"- Higher fidelity does not imply higher accuracy: Spearman ρ(agreement, pass@1) over the "
                   f"{len(points)} settings = {rho:+.2f}{each}: " + ("**reproduced** (weak or negative)" if weak else
                                                                "**not reproduced** (fidelity and accuracy rise "
                                                                "together)") + ".")
    return out


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for m in range(i, j + 1):
                out[order[m]] = (i + j) / 2
            i = j + 1
        return out

    rx, ry = ranks(x), ranks(y)
    mx, my = mean(rx), mean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var if var else 0.0


def plot(path: Path, cells: dict) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    sizes = sorted({size for size, _ in cells})
    for i, size in enumerate(sizes):
        for (s, label), values in cells.items():
            if s != size:
                continue
            x, y = mean(v["agreement"] for v in values), mean(v["pass@1"] for v in values)
            ax.scatter([x], [y], color=f"C{i}", label=size if label == "sft" else None)
            ax.annotate(label, (x, y), fontsize=6)
    finish(fig, ax, path, "top-1 agreement with the teacher", "held-out pass@1", legend_size=7)
