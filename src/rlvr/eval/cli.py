"""`rlvr eval`: sample (or read) completions, score them, write samples, metrics, report."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rlvr.eval.run import (
    EvalError,
    check_ks,
    check_run_settings,
    evaluate_completions,
    evaluate_sampler,
    load_completion_groups,
    sample_with,
)
from rlvr.problems import Problem, RecordError, keep_only
from rlvr.suites import SUITES

console = Console(stderr=True, soft_wrap=True)


def parse_ks(text: str) -> list[int]:
    try:
        ks = sorted({int(k) for k in text.split(",") if k.strip()})
    except ValueError:
        raise EvalError(f"--k must be comma-separated integers like 1,4,16, got {text!r}") from None
    return ks


def load_problems(data: Path | None, fmt: str | None, suite: str | None) -> list[Problem]:
    if (data is None) == (suite is None):
        raise EvalError("give exactly one of --data FILE or --suite NAME")
    if suite:
        from rlvr.suites import load_suite

        return load_suite(suite)
    from rlvr.suites.loaders import load_data

    if not data.exists():
        raise EvalError(f"{data} does not exist")
    return load_data(data, fmt)


def only(items: list, tasks: str | None, domains: str | None) -> list:
    """--tasks / --domains (comma-separated) applied to problems or (problem, completions) pairs."""
    def names(text: str | None) -> list[str]:
        return [x.strip() for x in (text or "").split(",") if x.strip()]

    return keep_only(items, names(tasks), names(domains), flag="--")  # ValueError: one error line below


def make_sampler(model: str, thinking: str, batch_size: int, served_model: str | None, tokenizer: str | None,
                 prepack_linears: bool | None = None, engine: str = "torch", max_model_len: int = 2048,
                 raw_prompts: bool = False):
    from rlvr.sampling.thinking import Thinking

    mode = Thinking.parse(thinking)
    if model.startswith(("http://", "https://")):
        from rlvr.sampling.http_backend import HttpSampler

        tok = None
        if tokenizer:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(tokenizer)
        return HttpSampler(model, model=served_model, tokenizer=tok, thinking=mode, raw_prompts=raw_prompts)
    from rlvr.models import model_path, resolve_device
    from rlvr.sampling import resolve_engine

    if resolve_engine(engine, resolve_device("auto")) == "vllm":
        from transformers import AutoTokenizer

        from rlvr.sampling.vllm_backend import VllmSampler, check_model

        path = model_path(model)
        if not path.exists():
            raise FileNotFoundError(f"model path {path} does not exist")
        check_model(path, max_model_len, kv_cache_gib=1.0)
        return VllmSampler(path, AutoTokenizer.from_pretrained(path), batch_size, mode, max_model_len=max_model_len)
    from rlvr.sampling.torch_backend import TorchSampler

    return TorchSampler.from_pretrained(model, batch_size=batch_size, thinking=mode, prepack_linears=prepack_linears)


class LiveProgress:
    """Problems done, tokens/s and ETA."""

    def __init__(self, total: int):
        self.tokens = 0
        self.progress = Progress(TextColumn("eval"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=console)
        self.task = self.progress.add_task("eval", total=total, rate="")

    def __call__(self, rows: list[dict]) -> None:
        self.tokens += sum(r.get("n_tokens") or 0 for r in rows)
        elapsed = self.progress.tasks[0].elapsed or 1e-9
        rate = f"{self.tokens / elapsed:,.0f} tok/s" if self.tokens else ""
        self.progress.update(self.task, advance=1, rate=rate)


def eval_command(
    model: str = typer.Option(None, "--model", help="Local Hugging Face model dir, or http(s)://server URL."),
    completions: Path = typer.Option(None, "--completions", help="Score completions made elsewhere."),
    data: Path = typer.Option(None, "--data", help="Problems file (JSONL/Parquet)."),
    fmt: str = typer.Option(None, "--format", help="Public format of --data (math, gpqa, mbpp, livecodebench, ...)."),
    suite: str = typer.Option(None, "--suite", help=f"Built-in suite: {', '.join(SUITES)}."),
    tasks: str = typer.Option(None, "--tasks", help="Only these tasks, comma-separated (e.g. table_qa,arith)."),
    domains: str = typer.Option(None, "--domains", help="Only these domains, comma-separated (e.g. math,code)."),
    n: int = typer.Option(16, "--n", help="Samples per problem."),
    k: str = typer.Option("1,4,16", "--k", help="pass@k / maj@k values, comma-separated, each <= n."),
    thinking: str = typer.Option("on", "--thinking", help="on | off | empty | budget:N"),
    temperature: float = typer.Option(1.0, "--temperature"),
    top_p: float = typer.Option(1.0, "--top-p"),
    top_k: int = typer.Option(0, "--top-k"),
    max_new_tokens: int = typer.Option(512, "--max-new-tokens"),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(64, "--batch-size", help="Sequences per forward pass (torch backend)."),
    prepack_linears: bool = typer.Option(None, "--prepack-linears/--no-prepack-linears",
                                         help="Large linears through oneDNN with packed weights (torch backend; "
                                              "default: on for CPU)."),
    engine: str = typer.Option("auto", "--engine", help="Local models: torch | vllm | auto (vllm on CUDA when "
                               "installed, else torch)."),
    served_model: str = typer.Option(None, "--served-model", help="Model name on the server (default: its first)."),
    tokenizer: str = typer.Option(None, "--tokenizer", help="Tokenizer dir for rendering prompts sent to a server."),
    raw_prompts: bool = typer.Option(False, "--raw-prompts", help="Server: send text prompts to /v1/completions as "
                                     "they are, without a chat template (default: a text prompt is a user message)."),
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", "-w", help="Verifier processes."),
    output: Path = typer.Option(..., "-o", "--output", help="Run directory (rerun to resume)."),
) -> None:
    """Evaluate a model (or completions) with pass@k, maj@k and best-of-n, per domain."""
    try:
        ks = parse_ks(k)
        if completions is not None:
            if model is not None:
                raise EvalError("give --model or --completions, not both")
            if not completions.exists():
                raise EvalError(f"{completions} does not exist")
            groups = only(load_completion_groups(completions), tasks, domains)
            if not groups:
                raise EvalError(f"{completions} has no records: nothing to evaluate")
            check_ks(ks, min(len(c) for _, c in groups))
            check_run_settings(output, {"completions": str(completions), "tasks": tasks, "domains": domains})
            live = LiveProgress(len(groups))
            with live.progress:
                metrics = evaluate_completions(groups, output, ks, workers, progress=live)
        else:
            if model is None:
                raise EvalError("give --model PATH_OR_URL (or --completions FILE)")
            problems = only(load_problems(data, fmt, suite), tasks, domains)
            if not problems:  # before the model loads (--tasks / --domains that match nothing fail in `only`)
                raise EvalError(f"{data or suite} has no problems: nothing to evaluate")
            from rlvr.sampling.base import SamplingParams

            check_ks(ks, n)
            check_run_settings(output, {"model": model, "data": data, "format": fmt, "suite": suite, "tasks": tasks,
                                        "domains": domains, "n": n, "thinking": thinking, "temperature": temperature,
                                        "top_p": top_p, "top_k": top_k, "max_new_tokens": max_new_tokens,
                                        "seed": seed, "served_model": served_model, "raw_prompts": raw_prompts or None,
                                        "tokenizer": tokenizer})
            params = SamplingParams(n=n, temperature=temperature, top_p=top_p, top_k=top_k,
                                    max_new_tokens=max_new_tokens, seed=seed)
            if engine not in ("auto", "torch", "vllm"):
                raise EvalError(f"--engine: unknown {engine!r}; valid: auto, torch, vllm (a server: --model URL)")
            if raw_prompts and not model.startswith(("http://", "https://")):
                raise EvalError("--raw-prompts applies to a server (--model URL); a local model renders its template")
            sampler = make_sampler(model, thinking, batch_size, served_model, tokenizer, prepack_linears, engine,
                                   max_model_len=max_new_tokens + 1024, raw_prompts=raw_prompts)

            live = LiveProgress(len(problems))
            with live.progress:
                metrics = evaluate_sampler(problems, sample_with(sampler, params), output, ks, n, workers,
                                           batch_problems=max(1, batch_size // n), progress=live)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/yellow]: completed problems are saved in {output}; rerun the same "
                      "command to resume")
        raise typer.Exit(130) from None
    except (EvalError, RecordError, FileNotFoundError, KeyError, ValueError, ImportError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        console.print(f"[red]error:[/red] {message}")
        raise typer.Exit(2) from None
    except Exception as e:  # ServerError and friends: still one line
        if type(e).__name__ == "ServerError":
            console.print(f"[red]error:[/red] {e}")
            raise typer.Exit(2) from None
        raise
    overall = metrics["overall"]
    nan = float("nan")  # a value no problem had enough verdicts for
    shown = ", ".join(f"pass@{x} {overall.get(f'pass@{x}', nan):.3f}" for x in ks)
    console.print(f"overall (micro over {overall['problems']} problems): {shown}, maj@{ks[-1]} "
                  f"{overall.get(f'maj@{ks[-1]}', nan):.3f}, avg@n {overall.get('avg@n', nan):.3f}")
    from rlvr.eval.aggregate import answer_warnings

    for warning in answer_warnings(metrics):
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if overall.get("verifier_errors"):
        console.print(f"[yellow]{overall['verifier_errors']} sample(s) got no verdict (verifier errors) and are left "
                      f"out of the metrics[/yellow]; per task in metrics.json and report.md")
    console.print(f"wrote {output}/samples.jsonl, metrics.json, report.md, pass_at_k.png")
