"""Sampling from an OpenAI-compatible server (vLLM, SGLang, llama.cpp, `rlvr serve`).

Chat messages go to `/v1/chat/completions`; text or token-id prompts, and any prompt when a
local tokenizer renders the chat template (needed for thinking `off` and `budget:N`), go to
`/v1/completions`. `budget:N` takes two requests, as in the torch backend: the thinking (at most
N tokens, stopped at the closing tag), then, after the thinking is closed ("\n</think>\n\n"
appended unless the model's text already holds the tag; servers that drop the stop string
from the text get it appended, the same closed block), the answer.
Requests ask for `n` samples and per-token log-probs. At most `concurrency` requests are in
flight; connection errors, timeouts and 429/5xx answers are retried with exponential backoff;
a server that cannot be reached or answers malformed data raises `ServerError` with one line
that says what went wrong.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from rlvr.sampling.base import Prompt, Sample, SamplingParams
from rlvr.sampling.thinking import CLOSE, FORCED_CLOSE, Thinking, render


class ServerError(RuntimeError):
    """The server is unreachable or its answer is not what the protocol says."""


class HttpSampler:
    def __init__(self, base_url: str, model: str | None = None, tokenizer=None, thinking: Thinking = Thinking(),
                 concurrency: int = 8, timeout_s: float = 300.0, retries: int = 4, backoff_s: float = 0.5,
                 api_key: str | None = None):
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self.tokenizer = tokenizer
        self.thinking = thinking
        self.concurrency = concurrency
        self.retries = retries
        self.backoff_s = backoff_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=timeout_s, headers=headers)
        if thinking.mode != "on" and tokenizer is None:
            raise ValueError(f"thinking '{thinking.mode}' over HTTP needs the model's tokenizer (--tokenizer PATH) "
                             "to render the chat template")
        self.model = model or self._first_model()

    def _first_model(self) -> str:
        body = self._request("GET", "/v1/models")
        try:
            return body["data"][0]["id"]
        except (KeyError, IndexError, TypeError):
            raise ServerError(f"{self.base_url}/v1/models returned no model; pass --served-model NAME") from None

    def _request(self, method: str, path: str, payload: dict | None = None) -> dict:
        url = f"{self.base_url}{path}"
        for attempt in range(self.retries + 1):
            try:
                response = self.client.request(method, url, json=payload)
            except httpx.TransportError as e:
                if attempt == self.retries:
                    raise ServerError(f"cannot reach {url}: {type(e).__name__}: {e}. Is the server running?") from None
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        raise ServerError(f"{url} answered with non-JSON data") from None
                retriable = response.status_code == 429 or response.status_code >= 500
                if not retriable or attempt == self.retries:
                    raise ServerError(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
            time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def _payload(self, params: SamplingParams) -> dict[str, Any]:
        payload = {"model": self.model, "n": params.n, "temperature": params.temperature, "top_p": params.top_p,
                   "max_tokens": params.max_new_tokens, "seed": params.seed}
        if params.top_k:
            payload["top_k"] = params.top_k  # vLLM/SGLang extension
        if params.stop:
            payload["stop"] = list(params.stop)
        return payload

    def _one(self, prompt: Prompt, params: SamplingParams) -> list[Sample]:
        payload = self._payload(params)
        if isinstance(prompt, list) and prompt and isinstance(prompt[0], dict) and self.tokenizer is None:
            body = self._request("POST", "/v1/chat/completions", {**payload, "messages": prompt, "logprobs": True})
            return [self._parse_chat(c) for c in self._choices(body, params.n)]
        if isinstance(prompt, str) and self.tokenizer is not None:
            prompt = [{"role": "user", "content": prompt}]
        if isinstance(prompt, list) and prompt and isinstance(prompt[0], dict):
            prompt = render(self.tokenizer, prompt, self.thinking)
            if self.thinking.mode == "budget":
                return self._with_budget(prompt, params)
        return self._complete(prompt, payload, params.n)

    def _complete(self, prompt: str | list[int], payload: dict[str, Any], n: int) -> list[Sample]:
        body = self._request("POST", "/v1/completions", {**payload, "prompt": prompt, "logprobs": 1})
        return [self._parse_completion(c) for c in self._choices(body, n)]

    def _with_budget(self, prompt: str, params: SamplingParams) -> list[Sample]:
        """Thinking capped at the budget, closed, then an answer within max_new_tokens; forced
        closing tokens carry log-prob 0 (not sampled)."""
        think = {**self._payload(params), "max_tokens": self.thinking.budget, "stop": [CLOSE]}
        answer = {**self._payload(params), "n": 1, "seed": params.seed + 1}
        forced = len(self.tokenizer(FORCED_CLOSE, add_special_tokens=False)["input_ids"])
        out = []
        for thought in self._complete(prompt, think, params.n):
            if CLOSE in thought.text:  # the server kept the model's own closing tag
                text, logprobs = thought.text[: thought.text.index(CLOSE) + len(CLOSE)], thought.logprobs
            else:
                text, logprobs = thought.text + FORCED_CLOSE, thought.logprobs + [0.0] * forced
            reply = self._complete(prompt + text, answer, 1)[0]
            out.append(Sample(text=text + reply.text, logprobs=logprobs + reply.logprobs,
                              finish_reason=reply.finish_reason))
        return out

    @staticmethod
    def _choices(body: dict, n: int) -> list[dict]:
        choices = body.get("choices") if isinstance(body, dict) else None
        if not isinstance(choices, list) or len(choices) != n:
            raise ServerError(f"expected {n} choices, got {len(choices) if isinstance(choices, list) else choices!r}")
        return sorted(choices, key=lambda c: c.get("index", 0))

    @staticmethod
    def _parse_chat(choice: dict) -> Sample:
        try:
            text = choice["message"]["content"] or ""
            content = (choice.get("logprobs") or {}).get("content") or []
            logprobs = [float(t["logprob"]) for t in content]
        except (KeyError, TypeError, ValueError) as e:
            raise ServerError(f"malformed chat choice ({type(e).__name__}: {e})") from None
        return Sample(text=text, logprobs=logprobs, finish_reason=_reason(choice))

    @staticmethod
    def _parse_completion(choice: dict) -> Sample:
        try:
            text = choice["text"]
            lp = choice.get("logprobs") or {}
            logprobs = [float(x) for x in lp.get("token_logprobs") or [] if x is not None]
        except (KeyError, TypeError, ValueError) as e:
            raise ServerError(f"malformed completion choice ({type(e).__name__}: {e})") from None
        return Sample(text=text, logprobs=logprobs, finish_reason=_reason(choice))

    def sample(self, prompts: list[Prompt], params: SamplingParams) -> list[list[Sample]]:
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(lambda p: self._one(p, params), prompts))


def _reason(choice: dict) -> str:
    return "length" if choice.get("finish_reason") == "length" else "stop"
