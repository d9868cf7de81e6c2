"""The HTTP backend against a real server process (rlvr's minimal OpenAI-compatible server)."""

import socket
import subprocess
import sys

import pytest

from rlvr.sampling.base import SamplingParams
from rlvr.sampling.http_backend import HttpSampler, ServerError, prompt_seed
from rlvr.sampling.torch_backend import TorchSampler


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    proc = subprocess.Popen([sys.executable, "-m", "rlvr.sampling.serve", "--model", str(tiny_model_dir), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    assert line.startswith("listening on"), line
    yield f"http://127.0.0.1:{int(line.split()[-1])}"
    proc.kill()
    proc.wait()


def test_chat_and_completions_match_the_local_sampler(server, tiny_model_dir):
    remote = HttpSampler(server, concurrency=2)
    params = SamplingParams(n=3, temperature=0.8, max_new_tokens=10, seed=7)
    messages = [{"role": "user", "content": "Compute 2 + 2."}]
    chat = remote.sample([messages, messages], params)
    # each request is seeded from the run's seed and its prompt (prompt_seed): the same seed locally
    local_sampler = TorchSampler.from_pretrained(tiny_model_dir)
    local = local_sampler.sample([messages], SamplingParams(**{**params.__dict__, "seed": prompt_seed(7, messages)}))[0]
    assert [len(g) for g in chat] == [3, 3]
    assert [s.text for s in chat[0]] == [s.text for s in local]
    for got, want in zip(chat[0], local):
        assert got.logprobs == pytest.approx(want.logprobs, abs=1e-5)
    # a text prompt is a user message, over HTTP as locally; a bare completion only when asked for
    text = remote.sample(["Compute 2 + 2."], params)[0]
    same_seed = SamplingParams(**{**params.__dict__, "seed": prompt_seed(7, "Compute 2 + 2.")})
    assert [s.text for s in text] == [s.text for s in local_sampler.sample([messages], same_seed)[0]]
    assert prompt_seed(7, "a") != prompt_seed(7, "b") and prompt_seed(7, "a") == prompt_seed(7, "a")
    raw = HttpSampler(server, raw_prompts=True).sample(["Compute"], SamplingParams(n=2, max_new_tokens=5,
                                                                                   temperature=0))[0]
    assert all(s.finish_reason in ("stop", "length") and len(s.logprobs) >= 1 for s in raw)


def test_unreachable_server_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    with pytest.raises(ServerError, match="cannot reach .* Is the server running"):
        HttpSampler(f"http://127.0.0.1:{port}", model="m", retries=1, backoff_s=0.01).sample(["x"], SamplingParams())


def test_malformed_answers_are_clear_errors(server):
    remote = HttpSampler(server, model="m", retries=0)
    with pytest.raises(ServerError, match="HTTP 404"):
        remote._request("POST", "/v1/nothing", {})
    with pytest.raises(ServerError, match="expected 2 choices"):
        HttpSampler._choices({"choices": [{}]}, 2)
    with pytest.raises(ServerError, match="malformed chat choice"):
        HttpSampler._parse_chat({"message": None})


def test_thinking_budget_over_http_matches_the_local_sampler(server, tiny_model_dir):
    from transformers import AutoTokenizer

    from rlvr.sampling.thinking import Thinking

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    budget = Thinking.parse("budget:6")
    remote = HttpSampler(server, tokenizer=tokenizer, thinking=budget, concurrency=2)
    local = TorchSampler.from_pretrained(tiny_model_dir)
    local.thinking = budget
    greedy = SamplingParams(n=2, temperature=0, max_new_tokens=5, seed=3)
    for prompt in ("Compute 2 + 2.", "Name a colour."):
        got, want = remote.sample([prompt], greedy)[0], local.sample([prompt], greedy)[0]
        assert [s.text for s in got] == [s.text for s in want]
        for g, w in zip(got, want):
            assert "</think>" in g.text and g.finish_reason == w.finish_reason
            assert g.logprobs == pytest.approx(w.logprobs, abs=1e-5)  # forced close tokens: 0 on both sides
    # without a tokenizer the server renders the template and continues the closed thinking block
    chat = HttpSampler(server, thinking=budget, concurrency=2)
    for s in chat.sample(["Compute 2 + 2."], greedy)[0]:
        assert "</think>" in s.text and s.finish_reason in ("stop", "length") and s.logprobs
    with pytest.raises(ValueError, match="cannot apply to raw prompts"):
        HttpSampler(server, thinking=budget, raw_prompts=True)
