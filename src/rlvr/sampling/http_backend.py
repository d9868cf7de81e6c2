"""Sampling from an OpenAI-compatible server (vLLM, SGLang, llama.cpp, `rlvr serve`).

A text prompt is a user message, as for every engine. With a local tokenizer (`--tokenizer`)
rlvr renders the chat template itself and sends the text to `/v1/completions`; without one,
messages go to `/v1/chat/completions` and the server renders its own template. A raw completion
prompt (text sent as it is, no template) is only sent when asked for (`raw_prompts=True`,
`rlvr eval --raw-prompts`). Token-id prompts go to `/v1/completions`.

Chat requests ask for special tokens to be kept (`skip_special_tokens: false`, a vLLM and SGLang
extension), so a reasoning model's `<think>`/`</think>` stay in the text and the answer after the
thinking is found as locally; a server that returns the thinking in a separate `reasoning_content`
field gets it put back in front of the answer. Thinking modes other than `on` prefill the
assistant turn: in the rendered text with a tokenizer, or as a final assistant message continued
by the server (`continue_final_message`, vLLM's extension) without one. A server that refuses the
extensions is asked again without them, once, and the sampler remembers.

`budget:N` takes two requests, as in the torch backend: the thinking (at most N tokens, stopped at
the closing tag), then, after the thinking is closed ("\n</think>\n\n" appended unless the
model's text already holds the tag; servers that drop the stop string from the text get it
appended, the same closed block), the answer.
Requests ask for `n` samples and per-token log-probs. At most `concurrency` requests are in
flight; connection errors, timeouts and 429/5xx answers are retried with exponential backoff;
a server that cannot be reached or answers malformed data raises `ServerError` with one line
that says what went wrong.
"""

from __future__ import annotations

import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from rlvr.sampling.base import Prompt, Sample, SamplingParams
from rlvr.sampling.thinking import CLOSE, FORCED_CLOSE, OPEN, PREFILLS, Thinking, render


class ServerError(RuntimeError):
    """The server is unreachable or its answer is not what the protocol says."""


class HttpSampler:
    def __init__(self, base_url: str, model: str | None = None, tokenizer=None, thinking: Thinking = Thinking(),
                 concurrency: int = 8, timeout_s: float = 300.0, retries: int = 4, backoff_s: float = 0.5,
                 api_key: str | None = None, raw_prompts: bool = False):
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self.tokenizer = tokenizer
        self.thinking = thinking
        self.concurrency = concurrency
        self.retries = retries
        self.backoff_s = backoff_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=timeout_s, headers=headers)
        self.raw_prompts = raw_prompts
        self.extensions = True  # skip_special_tokens / continue_final_message, until a server refuses them
        if raw_prompts and thinking.mode != "on":
            raise ValueError(f"thinking '{thinking.mode}' needs a chat template: it cannot apply to raw prompts")
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

    def _post(self, path: str, request: dict[str, Any], extensions: dict[str, Any]) -> dict:
        """POST with the vLLM/SGLang extensions, or without them once a server refused them."""
        if self.extensions:
            try:
                return self._request("POST", path, {**request, **extensions})
            except ServerError as e:
                if "HTTP 400" not in str(e):
                    raise
                self.extensions = False  # an OpenAI-style server that refuses unknown fields
        if "continue_final_message" in extensions:
            raise ServerError("thinking modes other than 'on' need a local tokenizer (--tokenizer PATH) with a server "
                              "that cannot continue an assistant message (vLLM's continue_final_message)")
        return self._request("POST", path, request)

    def _one(self, prompt: Prompt, params: SamplingParams) -> list[Sample]:
        # each prompt its own seed: one seed for every request would give every problem the same
        # random draws (a vLLM request's samples take seeds s, s+1, ...), correlating their errors
        params = SamplingParams(**{**params.__dict__, "seed": prompt_seed(params.seed, prompt)})
        payload = self._payload(params)
        if isinstance(prompt, str) and self.raw_prompts:
            return self._complete(prompt, payload, params.n)
        if isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        if isinstance(prompt, list) and prompt and isinstance(prompt[0], dict):
            if self.tokenizer is None:
                if self.thinking.mode == "budget":
                    return self._chat_with_budget(prompt, params)
                return self._chat(prompt, payload, params.n, self._prefill())
            prompt = render(self.tokenizer, prompt, self.thinking)
            if self.thinking.mode == "budget":
                return self._with_budget(prompt, params)
        return self._complete(prompt, payload, params.n)

    def _prefill(self) -> str:
        """What the assistant turn opens with in thinking mode `off` / `empty` (nothing for `on`)."""
        return f"{OPEN}\n{PREFILLS[self.thinking.mode]}" if self.thinking.mode in PREFILLS else ""

    def _chat(self, messages: list[dict], payload: dict[str, Any], n: int, prefill: str = "",
              keep_stop: bool = False) -> list[Sample]:
        """Chat completions; `prefill` opens the assistant turn (continued by the server);
        `keep_stop`: the text ends with the stop string that ended it (as the tokens do)."""
        request = {**payload, "messages": messages, "logprobs": True}
        extensions: dict[str, Any] = {"skip_special_tokens": False, "include_stop_str_in_output": keep_stop}
        if prefill:
            request["messages"] = [*messages, {"role": "assistant", "content": prefill}]
            extensions.update(add_generation_prompt=False, continue_final_message=True)
        body = self._post("/v1/chat/completions", request, extensions)
        return [self._parse_chat(c) for c in self._choices(body, n)]

    def _chat_with_budget(self, messages: list[dict], params: SamplingParams) -> list[Sample]:
        """budget:N over chat: the thinking as an assistant message, then the answer continuing it."""
        think = {**self._payload(params), "max_tokens": self.thinking.budget, "stop": [CLOSE]}
        answer = {**self._payload(params), "n": 1, "seed": params.seed + params.n}  # past the thoughts
        out = []
        for i, thought in enumerate(self._chat(messages, think, params.n, keep_stop=True)):
            text = thought.text
            closed = text[: text.index(CLOSE) + len(CLOSE)] if CLOSE in text else text + FORCED_CLOSE
            reply = self._chat(messages, {**answer, "seed": answer["seed"] + i}, 1, closed)[0]
            # a forced close was not sampled: without the tokenizer its tokens are not counted
            out.append(Sample(text=closed + reply.text, logprobs=thought.logprobs + reply.logprobs,
                              finish_reason=reply.finish_reason))
        return out

    def _complete(self, prompt: str | list[int], payload: dict[str, Any], n: int, keep_stop: bool = False
                  ) -> list[Sample]:
        # special tokens kept: a thinking block's tags are part of what the answer request continues
        body = self._post("/v1/completions", {**payload, "prompt": prompt, "logprobs": 1},
                          {"skip_special_tokens": False, "include_stop_str_in_output": keep_stop,
                           "return_token_ids": True})
        return [self._parse_completion(c) for c in self._choices(body, n)]

    def _with_budget(self, prompt: str, params: SamplingParams) -> list[Sample]:
        """Thinking capped at the budget, closed, then an answer within max_new_tokens; forced
        closing tokens carry log-prob 0 (not sampled)."""
        think = {**self._payload(params), "max_tokens": self.thinking.budget, "stop": [CLOSE]}
        answer = {**self._payload(params), "n": 1, "seed": params.seed + params.n}  # past the thoughts
        close_ids = self.tokenizer(FORCED_CLOSE, add_special_tokens=False)["input_ids"]
        prompt_ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        out = []
        for i, thought in enumerate(self._complete(prompt_ids, think, params.n, keep_stop=True)):
            if CLOSE in thought.text:  # the model closed its thinking itself (the server kept the tag)
                text, logprobs = thought.text[: thought.text.index(CLOSE) + len(CLOSE)], thought.logprobs
                ids = thought.token_ids
            else:
                text, logprobs = thought.text + FORCED_CLOSE, thought.logprobs + [0.0] * len(close_ids)
                ids = list(thought.token_ids)
                if ids and ids[-1] in self.tokenizer.all_special_ids:  # ended without closing: drop the EOS
                    ids, logprobs = ids[:-1], logprobs[:-1 - len(close_ids)] + [0.0] * len(close_ids)
                ids = ids + close_ids if ids else []
            # continue from the sampled tokens themselves where the server returned them (as the
            # local engines do); re-tokenizing the text can cut it differently at the joins
            # each thought's answer its own seed: one seed would give them all the same random draws
            reply = self._complete(prompt_ids + ids if ids else prompt + text, {**answer, "seed": answer["seed"] + i},
                                   1)[0]
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
            reasoning = choice["message"].get("reasoning_content") or choice["message"].get("reasoning")
            if reasoning and OPEN not in text:  # a server's reasoning parser split the thinking off
                text = f"{OPEN}\n{reasoning}\n{CLOSE}\n\n{text}"
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
            token_ids = [int(t) for t in choice.get("token_ids") or []]  # vLLM's return_token_ids
        except (KeyError, TypeError, ValueError) as e:
            raise ServerError(f"malformed completion choice ({type(e).__name__}: {e})") from None
        return Sample(text=text, token_ids=token_ids if len(token_ids) == len(logprobs) else [], logprobs=logprobs,
                      finish_reason=_reason(choice))

    def sample(self, prompts: list[Prompt], params: SamplingParams) -> list[list[Sample]]:
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(lambda p: self._one(p, params), prompts))


def prompt_seed(seed: int, prompt: Prompt) -> int:
    """A request's seed: the run's seed and the prompt, so a rerun (or resume) repeats it."""
    return (seed * 1_000_003 + zlib.crc32(repr(prompt).encode())) % 2**31


def _reason(choice: dict) -> str:
    return "length" if choice.get("finish_reason") == "length" else "stop"
