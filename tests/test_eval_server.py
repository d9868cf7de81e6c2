"""`rlvr eval` against a real vLLM server gives what the local engine gives (the CPU build of
vLLM; scripts/test.sh installs it, so CI runs these)."""

import json

import pytest

from rlvr.models import model_path

SHIPPED = model_path("tiny-reasoner")
# The held-out synthetic problems of four domains (the code domain's sandbox is left out for
# time), one sample each at temperature 1. Each run's pass@1 has a standard error of
# sqrt(p (1 - p) / problems) ~ 0.026 over 241 problems at p ~ 0.2; two independent runs differ by
# less than 0.1 (about 2.7 standard errors of the difference) unless the engines sample
# differently. A missing chat template moves pass@1 by about 0.19 (0.227 -> 0.038 on math alone).
DOMAINS = "math,logic,science,tabular"
TOLERANCE = 0.1


def evaluate(tmp_path, name: str, *args) -> tuple[dict, list[dict]]:
    from typer.testing import CliRunner

    from rlvr.cli import app

    out = tmp_path / name
    result = CliRunner().invoke(app, ["eval", "--suite", "synthetic-heldout", "--domains", DOMAINS, "--n", "1",
                                      "--k", "1", "--max-new-tokens", "96", "--workers", "2", "-o", str(out),
                                      *map(str, args)])
    assert result.exit_code == 0, result.stdout + result.stderr
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    return json.loads((out / "metrics.json").read_text())["overall"], samples


@pytest.mark.slow
@pytest.mark.parametrize("thinking", ["on", "empty", "budget:16"])
def test_eval_over_http_agrees_with_the_local_engine(vllm_server, tmp_path, thinking):
    local, local_samples = evaluate(tmp_path, "local", "--model", "tiny-reasoner", "--engine", "torch",
                                    "--thinking", thinking)
    chat, chat_samples = evaluate(tmp_path, "chat", "--model", vllm_server, "--served-model", "tiny",
                                  "--thinking", thinking)
    rendered, _ = evaluate(tmp_path, "rendered", "--model", vllm_server, "--served-model", "tiny",
                           "--tokenizer", SHIPPED, "--thinking", thinking)
    print(f"\nthinking {thinking}: pass@1 local {local['pass@1']:.3f}, chat {chat['pass@1']:.3f}, completions "
          f"{rendered['pass@1']:.3f}; no answer {local['no_answer']:.3f} / {chat['no_answer']:.3f} / "
          f"{rendered['no_answer']:.3f}")  # shown with pytest -s
    for name, run in (("chat (server's template)", chat), ("completions (local template)", rendered)):
        assert abs(run["pass@1"] - local["pass@1"]) < TOLERANCE, (name, run["pass@1"], local["pass@1"])
        assert abs(run["no_answer"] - local["no_answer"]) < TOLERANCE, (name, run["no_answer"], local["no_answer"])
    assert all(s["n_tokens"] for s in chat_samples)  # counted from the server's log-probs
    if thinking == "on":  # the thinking tags survive the chat response: the answer after </think> is found
        closed = sum("</think>" in s["text"] for s in chat_samples) / len(chat_samples)
        assert closed > 0.8 and abs(closed - sum("</think>" in s["text"] for s in local_samples)
                                    / len(local_samples)) < TOLERANCE


@pytest.mark.slow
def test_a_raw_prompt_is_only_sent_when_asked_for(vllm_server, tmp_path):
    local, _ = evaluate(tmp_path, "local", "--model", "tiny-reasoner", "--engine", "torch")
    raw, _ = evaluate(tmp_path, "raw", "--model", vllm_server, "--served-model", "tiny", "--raw-prompts")
    print(f"\npass@1 local {local['pass@1']:.3f}, raw prompts over HTTP {raw['pass@1']:.3f}")  # pytest -s
    assert raw["pass@1"] < local["pass@1"] - TOLERANCE  # the bare question, no chat template: what --raw-prompts means
