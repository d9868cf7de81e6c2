"""The `rlvr` command line."""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from rlvr.data.cli import data_app
from rlvr.problems import iter_records
from rlvr.scoring import ScoredRecord, Scorer, score_records

# Plain help (rich_markup_mode=None): typer's rich panels print every flag as `--overwrite <bool>`,
# as if it took a value; click's own layout shows flags as flags.
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Verifiable rewards for reasoning models.")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"rlvr {version('rlvr')}")
        raise typer.Exit()


@app.callback()
def _options(show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                                help="Print rlvr's version and exit.")) -> None:
    """Verifiable rewards for reasoning models."""
console = Console(stderr=True, soft_wrap=True)  # no hard wraps: log lines stay greppable


def _count_lines(path: Path) -> int | None:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def _has_records(path: Path) -> bool:
    if path.suffix == ".parquet":
        return bool(_count_lines(path))
    with open(path, "rb") as f:
        return any(line.strip() for line in f)


def _output_row(item: ScoredRecord) -> dict:
    row = dict(item.data or {})
    row["scores"] = [s.model_dump() for s in item.scores]
    return row


def run_scoring(inputs: list[Path], output: Path, workers: int) -> tuple[dict, int]:
    """Score every input file into `output`, streaming; returns (per-domain stats, bad lines).

    Output line N is input line N (files in order): a line that cannot be scored is written
    as `{"skipped": "<file:line: why>"}` (with the record's fields when it was an object), a
    blank line stays blank. The output is written to a temporary file beside it and renamed
    at the end, so `-o` may name an input and an interrupted run leaves no half file."""
    stats: dict[str, dict[str, float]] = defaultdict(lambda: {"items": 0, "reward": 0.0, "correct": 0, "errors": 0})
    bad = 0
    total = sum(_count_lines(p) or 0 for p in inputs)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    columns = [TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Scorer(workers=workers) as scorer, open(partial, "w", encoding="utf-8") as out, \
            Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("score", total=total)
        for path in inputs:
            for item in score_records(iter_records(path, blank_lines=True), scorer, window=4 * workers):
                progress.advance(task)
                if item.data is None and item.error is None:
                    out.write("\n")
                    continue
                if item.data is None or item.domain is None:
                    bad += 1
                    console.print(f"[red]skipped[/red] {item.where}: {item.error}")
                    out.write(json.dumps({**(item.data or {}), "skipped": f"{item.where}: {item.error}"},
                                         ensure_ascii=False) + "\n")
                    continue
                if item.error:
                    bad += 1
                    console.print(f"[red]error[/red] {item.where}: {item.error}")
                out.write(json.dumps(_output_row(item), ensure_ascii=False) + "\n")
                s = stats[item.domain]
                for sc in item.scores:
                    s["items"] += 1
                    s["reward"] += sc.reward
                    s["correct"] += sc.correct
                    s["errors"] += sc.error
    os.replace(partial, output)
    return dict(stats), bad


def check_score_paths(inputs: list[Path], output: Path) -> str | None:
    """Why `rlvr score INPUTS -o OUTPUT` cannot run, in one line, or None."""
    for path in inputs:
        if not path.exists():
            return f"{path} does not exist"
        if path.is_dir():
            return f"{path} is a directory: give JSONL or Parquet files"
        if not _has_records(path):
            return f"{path} is empty: nothing to score"
    if output.is_dir():
        return f"-o {output} is a directory: give a file name, e.g. {output / 'scored.jsonl'}"
    return None


def print_summary(stats: dict) -> None:
    table = Table(title="rlvr score: per-domain summary")
    for column in ("domain", "completions", "mean reward", "accuracy", "errors"):
        table.add_column(column, justify="left" if column == "domain" else "right")
    totals = {"items": 0, "reward": 0.0, "correct": 0, "errors": 0}
    for domain in sorted(stats):
        s = stats[domain]
        for k in totals:
            totals[k] += s[k]
        table.add_row(domain, str(s["items"]), f"{s['reward'] / max(s['items'], 1):.3f}",
                      f"{s['correct'] / max(s['items'], 1):.1%}", str(s["errors"]))
    table.add_row("all", str(totals["items"]), f"{totals['reward'] / max(totals['items'], 1):.3f}",
                  f"{totals['correct'] / max(totals['items'], 1):.1%}", str(totals["errors"]), style="bold")
    Console().print(table)


@app.command()
def score(
    inputs: list[Path] = typer.Argument(..., help="JSONL/Parquet: Problems with completion(s)."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the scored JSONL."),
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", "-w", help="Verifier processes."),
) -> None:
    """Score completions; writes each line back with `scores` and prints a per-domain table."""
    problem = check_score_paths(inputs, output)
    if problem:
        console.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(2)
    stats, bad = run_scoring(inputs, output, workers)
    print_summary(stats)
    console.print(f"wrote {output}")
    if bad:
        console.print(f"[red]{bad} line(s) could not be scored (see above)[/red]")
        raise typer.Exit(1)


def example_files() -> list[Path]:
    folder = resources.files("rlvr") / "examples"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".jsonl"))


@app.command()
def demo(
    output: Path = typer.Option(Path("runs/demo/scored.jsonl"), "-o", "--output"),
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", "-w"),
) -> None:
    """Score the bundled examples (right and wrong completions in every domain).

    Each example line says which completions should be judged correct (`expected`); the demo
    checks the verifiers agree and exits non-zero if any does not.
    """
    files = example_files()
    stats, bad = run_scoring(files, output, workers)
    print_summary(stats)
    mismatches = _check_expectations(output)
    for line in mismatches:
        console.print(f"[red]unexpected verdict[/red] {line}")
    console.print(f"scored {len(files)} example files into {output}; "
                  f"{'all verdicts as expected' if not mismatches else f'{len(mismatches)} unexpected verdicts'}")
    if bad or mismatches:
        raise typer.Exit(1)


def _check_expectations(scored: Path) -> list[str]:
    problems = []
    with open(scored, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            got = [s["correct"] for s in row["scores"]]
            if "expected" in row and got != row["expected"]:
                problems.append(f"{row['id']}: expected {row['expected']}, got {got} "
                                f"({'; '.join(s['reason'] for s in row['scores'])})")
    return problems


from rlvr.eval.cli import eval_command  # noqa: E402

app.command("eval")(eval_command)


@app.command()
def sft(config: Path = typer.Argument(..., help="YAML config (rlvr.config.SFTConfig)."),
        print_config: bool = typer.Option(False, "--print-config", help="Show the resolved config and exit."),
        set_: list[str] = typer.Option([], "--set", help="Override a top-level key: --set suite_seeds=0-99 "
                                       "(the value is read as YAML).")) -> None:
    """Supervised fine-tuning on Problems with reference solutions."""
    from rlvr.config import ConfigError, SFTConfig, load_config
    from rlvr.train.sft import run_sft

    try:
        cfg = load_config(config, SFTConfig, parse_overrides(set_))
    except ConfigError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    if print_config:
        from rlvr.config_reference import commented_yaml

        print(commented_yaml(cfg), end="")
        return
    out = run_sft(cfg, log=console.print)
    console.print(f"saved the model to {out}")


@app.command()
def train(
    config: Path = typer.Argument(None, help="YAML config (rlvr.config.TrainConfig); none = the embedded defaults."),
    resume: Path = typer.Option(None, "--resume", help="Continue this run directory from its latest checkpoint."),
    output: Path = typer.Option(None, "--output", "-o", help="Run directory (overrides the config's output)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished or stopped run in the output."),
    print_config: bool = typer.Option(False, "--print-config", help="Show the resolved config with defaults and exit."),
    set_: list[str] = typer.Option([], "--set", help="Override a key: --set steps=50 --set algo.eps_high=0.28 (the "
                                   "value is read as YAML); with --resume, e.g. to extend a finished run."),
    nproc: int = typer.Option(1, "--nproc", min=1, help="Train on N processes of this machine (torchrun "
                              "--nproc-per-node N; for several machines run torchrun yourself: docs/distributed.md)."),
) -> None:
    """RLVR training (GRPO family) with checkpoints, metrics, a before/after table and a report.

    Without CONFIG: the main job (rlvr/configs/main.yaml: the shipped tiny reasoner, GRPO)."""
    from rlvr.config import ConfigError, TrainConfig, load_config
    from rlvr.train.loop import train as run_train

    if nproc > 1:  # the same command under torchrun, which starts N ranks and ends them all if one dies
        os.execvp(sys.executable, [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc),
                                   "-m", "rlvr.cli", *without_nproc(sys.argv[1:])])

    if config is not None and resume is not None:
        console.print("[red]error:[/red] give CONFIG.yaml or --resume RUN_DIR, not both")
        raise typer.Exit(2)
    from rlvr.config import MAIN_JOB

    if resume is not None and not (resume / "config.yaml").is_file():
        console.print(f"[red]error:[/red] {resume} is not a run directory of rlvr train (it has no config.yaml); "
                      "--resume takes the output directory of an earlier run")
        raise typer.Exit(2)
    try:
        overrides = {**parse_overrides(set_), **({"output": str(output)} if output else {})}
        cfg = load_config(config or (resume / "config.yaml" if resume else MAIN_JOB), TrainConfig, overrides)
    except ConfigError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    if print_config:
        from rlvr.config_reference import commented_yaml

        print(commented_yaml(cfg), end="")
        return
    from rlvr.train.distributed import join

    ranks = join()
    try:
        if not ranks.main:  # one console view: rank 0's
            run_train(cfg, resume=resume is not None, log=lambda *a: None, overwrite=overwrite, ranks=ranks)
            return
        with TrainView(cfg.steps) as view:
            report = run_train(cfg, resume=resume is not None, log=view.progress.console.print, overwrite=overwrite,
                               on_step=view, ranks=ranks)
    except (FileExistsError, FileNotFoundError, KeyError, ValueError) as e:
        fail(e)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/yellow]: continue from the latest checkpoint with "
                      f"rlvr train --resume {cfg.output}")
        raise typer.Exit(130) from None
    print_before_after(report.parent)
    console.print(f"report: {report}")


def without_nproc(argv: list[str]) -> list[str]:
    """The command line less `--nproc N` (what each rank runs under torchrun)."""
    out, skip = [], False
    for arg in argv:
        if skip or arg.startswith("--nproc="):
            skip = False
            continue
        skip = arg == "--nproc"
        if not skip:
            out.append(arg)
    return out


def parse_overrides(pairs: list[str]) -> dict:
    """["key=value", ...] -> {key: YAML value}, a dotted key as nested keys ("algo.eps_high=0.28");
    a pair without '=' is a config error naming it."""
    import yaml

    from rlvr.config import ConfigError, merge, nested

    overrides: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair}: expected KEY=VALUE")
        merge(overrides, nested(key.strip(), yaml.safe_load(value)))
    return overrides


def fail(error: Exception) -> NoReturn:
    """A one-line error and exit code 2 for what a user can fix (a bad path, an existing run);
    RLVR_DEBUG=1 shows the traceback instead, for when the cause is a bug."""
    if os.environ.get("RLVR_DEBUG"):
        raise error
    console.print(f"[red]error:[/red] {error}")
    raise typer.Exit(2) from None


class TrainView:
    """The live console view of a training run: a step bar with ETA and the latest batch metrics."""

    def __init__(self, steps: int):
        self.progress = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[metrics]}"),
                                 console=console)
        self.task = self.progress.add_task("train", total=steps, metrics="")

    def __enter__(self) -> TrainView:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def __call__(self, record: dict) -> None:
        times = record["time_s"]
        self.progress.update(self.task, completed=record["step"], metrics=(
            f"reward {record['reward_mean']:.3f} entropy {record.get('entropy', float('nan')):.3f} "
            f"{record['sample_tok_s']:,.0f} tok/s | sample {times['sampling']:.1f}s score {times['scoring']:.1f}s "
            f"learn {times['learning']:.1f}s"))


def print_before_after(run_dir: Path) -> None:
    """The held-out table of the run: pass@k per domain, before and after training."""
    from rlvr.train.report import before_after

    table_rows, columns = before_after(run_dir)
    if not table_rows:
        return
    table = Table(title=f"held-out pass@k before -> after ({run_dir})")
    table.add_column("domain")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for domain, cells in table_rows:
        table.add_row(domain, *(f"{b:.1%} -> {a:.1%} ({100 * (a - b):+.1f})" for b, a in cells),
                      style="bold" if domain == "overall" else None)
    Console().print(table)


@app.command("dph-prepare")
def dph_prepare(config: Path = typer.Argument(..., help="Training config with method.name: dph.")) -> None:
    """DPH-RL preparation: split the training prompts by the initial policy's success and store its
    correct samples of the perfect set (with log-probs) in method.dph.data."""
    from rlvr.config import ConfigError, TrainConfig, load_config
    from rlvr.explore.dph import prepare_for

    try:
        cfg = load_config(config, TrainConfig)
    except ConfigError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    counts = prepare_for(cfg)
    console.print(f"{cfg.method.dph.data}: {counts['perfect']} perfect prompts, {counts['exploration']} to explore, "
                  f"{counts['samples']} stored samples of the initial policy")


@app.command()
def distill(
    config: Path = typer.Argument(None, help="YAML config (rlvr.distill.config.DistillConfig)."),
    resume: Path = typer.Option(None, "--resume", help="Continue this run directory from its latest checkpoint."),
    output: Path = typer.Option(None, "--output", "-o", help="Run directory (overrides the config's output)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished or stopped run in the output."),
    print_config: bool = typer.Option(False, "--print-config", help="Show the resolved config with defaults and exit."),
    set_: list[str] = typer.Option([], "--set", help="Override a key: --set loss=reverse_kl --set temperature=2."),
) -> None:
    """Distil a teacher into a student: forward/reverse KL, generalized JSD (GKD), sequence-level
    KD, on-policy distillation; metrics, checkpoints, held-out evaluation and a report as rlvr train."""
    from rlvr.config import ConfigError, load_config
    from rlvr.distill.config import DistillConfig
    from rlvr.distill.run import distill as run_distill

    if (config is None) == (resume is None):
        console.print("[red]error:[/red] give CONFIG.yaml or --resume RUN_DIR")
        raise typer.Exit(2)
    if resume is not None and not (resume / "config.yaml").is_file():
        console.print(f"[red]error:[/red] {resume} is not a run directory of rlvr distill (it has no config.yaml)")
        raise typer.Exit(2)
    try:
        overrides = {**parse_overrides(set_), **({"output": str(output)} if output else {})}
        cfg = load_config(config or resume / "config.yaml", DistillConfig, overrides)
    except ConfigError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    if print_config:
        from rlvr.config_reference import commented_yaml

        print(commented_yaml(cfg), end="")
        return
    try:
        report = run_distill(cfg, resume=resume is not None, log=console.print, overwrite=overwrite)
    except (FileExistsError, FileNotFoundError, KeyError, ValueError) as e:
        fail(e)
    print_before_after(report.parent)
    console.print(f"report: {report}")


study_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="Several training runs from one start, side by side.")
app.add_typer(study_app, name="study")
app.add_typer(data_app, name="data")  # rlvr data dedup | decontaminate (rlvr/data/cli.py)


def run_study_command(config: Path | None, settings: type, overrides: dict, run, adjust=None) -> None:
    """A study command's common part: the config (a YAML file or the defaults) with the options
    given, one-line errors, then the study and its summary. `adjust(study)` may change the study."""
    from rlvr.config import ConfigError, load_config

    overrides = {key: value for key, value in overrides.items() if value is not None}
    try:
        study = load_config(config, settings, overrides) if config else settings(**overrides)
        summary = run(adjust(study) if adjust else study, log=console.print)
    except (ConfigError, KeyError, ValueError) as e:
        fail(e)
    console.print(summary.read_text(), markup=False)
    console.print(f"summary: {summary}")


@study_app.command("explore")
def study_explore(
    config: Path = typer.Option(None, "--config", help="YAML of rlvr.study.explore.StudyConfig (else defaults)."),
    methods: str = typer.Option(None, "--methods", help="Comma-separated subset, e.g. grpo,dars,dph."),
    seeds: int = typer.Option(None, "--seeds", help="Number of seeds (0..N-1)."),
    budget: int = typer.Option(None, "--budget", help="Sampled tokens per run."),
    eval_problems: int = typer.Option(None, "--eval-problems", help="Held-out problems."),
    output: Path = typer.Option(None, "-o", "--output", help="Study directory (rerun to resume)."),
) -> None:
    """GRPO and each exploration method from the same start, equal rollout budget, several seeds."""
    from rlvr.study.explore import StudyConfig, run_study

    run_study_command(config, StudyConfig, {
        "methods": methods.split(",") if methods else None, "seeds": list(range(seeds)) if seeds else None,
        "token_budget": budget, "eval_problems": eval_problems, "output": str(output) if output else None}, run_study)


@study_app.command("domains")
def study_domains(
    config: Path = typer.Option(None, "--config", help="YAML of rlvr.study.domains.DomainStudyConfig (else defaults)."),
    sets: str = typer.Option(None, "--sets", help="Comma-separated subset of the train sets, e.g. all,math,logic."),
    seeds: int = typer.Option(None, "--seeds", help="Number of seeds (0..N-1)."),
    budget: int = typer.Option(None, "--budget", help="Sampled tokens per run."),
    eval_problems: int = typer.Option(None, "--eval-problems", help="Held-out problems over the six domains."),
    output: Path = typer.Option(None, "-o", "--output", help="Study directory (rerun to resume)."),
) -> None:
    """Cross-domain transfer: GRPO on each train set (all six domains, two groups, each alone),
    equal token budget, several seeds, every run evaluated on all six domains."""
    from rlvr.study.domains import DomainStudyConfig, default_sets, run_domain_study

    def only_sets(study: DomainStudyConfig) -> DomainStudyConfig:
        if not sets:
            return study
        known = {**default_sets(), **study.train_sets}
        unknown = [name for name in sets.split(",") if name not in known]
        if unknown:
            raise KeyError(f"--sets: unknown train set(s) {', '.join(unknown)}; valid: {', '.join(known)}")
        return study.model_copy(update={"train_sets": {name: known[name] for name in sets.split(",")}})

    run_study_command(config, DomainStudyConfig, {
        "seeds": list(range(seeds)) if seeds else None, "token_budget": budget, "eval_problems": eval_problems,
        "output": str(output) if output else None}, run_domain_study, only_sets)


@study_app.command("thinking")
def study_thinking(
    config: Path = typer.Option(None, "--config", help="YAML of rlvr.study.thinking.ThinkingStudyConfig."),
    modes: str = typer.Option(None, "--modes", help="Comma-separated thinking modes, e.g. on,empty,budget:32."),
    problems: int = typer.Option(None, "--problems", help="Held-out problems."),
    n: int = typer.Option(None, "--n", help="Samples per problem and mode."),
    output: Path = typer.Option(None, "-o", "--output", help="Study directory (rerun to resume)."),
) -> None:
    """NoThinking: pass@k against tokens spent for each thinking mode, compared at equal budgets."""
    from rlvr.study.thinking import ThinkingStudyConfig, run_thinking_study

    run_study_command(config, ThinkingStudyConfig, {
        "modes": modes.split(",") if modes else None, "problems": problems, "n": n,
        "output": str(output) if output else None}, run_thinking_study)


@study_app.command("distill")
def study_distill(
    config: Path = typer.Option(None, "--config", help="YAML of rlvr.study.distill.DistillStudyConfig."),
    losses: str = typer.Option(None, "--losses", help="Comma-separated subset, e.g. sft,forward_kl,on_policy."),
    seeds: int = typer.Option(None, "--seeds", help="Number of seeds (0..N-1)."),
    steps: int = typer.Option(None, "--steps", help="Distillation steps per run."),
    output: Path = typer.Option(None, "-o", "--output", help="Study directory (rerun to resume)."),
) -> None:
    """Knowledge distillation into two smaller students: each loss and temperature, accuracy and fidelity."""
    from rlvr.study.distill import DistillStudyConfig, run_distill_study

    run_study_command(config, DistillStudyConfig, {
        "losses": losses.split(",") if losses else None, "seeds": list(range(seeds)) if seeds else None,
        "steps": steps, "output": str(output) if output else None}, run_distill_study)


@app.command()
def serve(
    model: str = typer.Option(..., "--model", help="Local Hugging Face model directory or 'tiny-reasoner'."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port", help="0 picks a free port (printed)."),
) -> None:
    """A minimal OpenAI-compatible server over the torch sampler (tests, small models)."""
    from http.server import ThreadingHTTPServer

    from rlvr.models import model_path
    from rlvr.sampling.serve import make_handler
    from rlvr.sampling.torch_backend import TorchSampler

    if not model_path(model).exists():
        console.print(f"[red]error:[/red] model path {model} does not exist")
        raise typer.Exit(2)
    server = ThreadingHTTPServer((host, port), make_handler(TorchSampler.from_pretrained(model), model))
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
