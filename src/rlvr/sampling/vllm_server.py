"""A vLLM server as the rollout engine (`rollout.engine: vllm-server`): inference runs in its own
process (or machine), training here.

Rollouts go over HTTP to `/v1/completions` as token ids, asking for the sampled tokens' ids
(`return_token_ids`) and log-probs, so the learner trains on exactly what was sampled; prompts,
thinking budgets and stop strings are handled here as in the local engines. After every update
the trainer's weights are written as safetensors to `weights_dir` and the server reloads them in
place through vLLM's own mechanism (`POST /collective_rpc` with `reload_weights(weights_path=...)`),
then drops its prefix cache. The server must therefore see `weights_dir` (same machine or a shared
file system) and run with its development routes on:

    VLLM_SERVER_DEV_MODE=1 python -m vllm.entrypoints.openai.api_server --model DIR \\
        --dtype float32 --logprobs-mode processed_logprobs --host 127.0.0.1 --port 8000

Those routes are unauthenticated: bind the server to loopback or a private network.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from rlvr.sampling.base import Sample, SamplingParams
from rlvr.sampling.http_backend import HttpSampler, ServerError
from rlvr.sampling.thinking import Thinking
from rlvr.sampling.token_sampler import TokenSampler
from rlvr.sampling.vllm_backend import weights_to_push


class VllmServerSampler(TokenSampler):
    def __init__(self, base_url: str, tokenizer, weights_dir: str | Path, model: str | None = None,
                 batch_size: int = 256, thinking: Thinking = Thinking(), concurrency: int = 16):
        super().__init__(tokenizer, thinking)
        self.http = HttpSampler(base_url, model, concurrency=concurrency)  # retries, one-line errors
        self.batch_size = batch_size
        self.device = torch.device("cpu")  # where rlvr computes; the server's device is its own
        self.weights_dir = Path(weights_dir)
        self.concurrency = concurrency
        self.model = None

    def attach(self, model: torch.nn.Module) -> None:
        self.model = model

    def sync_weights(self) -> None:
        """Write the trainer's weights, have the server reload them in place, drop its prefix cache."""
        if self.model is None:
            return
        from safetensors.torch import save_file

        self.weights_dir.mkdir(parents=True, exist_ok=True)
        tensors, seen = {}, set()
        for name, tensor in weights_to_push(self.model):
            shared = tensor.data_ptr() in seen  # safetensors refuses two names for one tensor
            seen.add(tensor.data_ptr())
            tensors[name] = (tensor.clone() if shared else tensor).contiguous().cpu()
        part = self.weights_dir / "model.safetensors.tmp"
        save_file(tensors, str(part))
        part.replace(self.weights_dir / "model.safetensors")
        self.http._request("POST", "/collective_rpc", {"method": "reload_weights", "kwargs": {
            "weights_path": str(self.weights_dir.resolve()), "is_checkpoint_format": True}})
        self.http._request("POST", "/reset_prefix_cache")

    def generate(self, prompt_ids: list[list[int]], params: SamplingParams) -> list[list[Sample]]:
        payload = {"model": self.http.model, "n": params.n, "temperature": params.temperature, "top_p": params.top_p,
                   "max_tokens": params.max_new_tokens, "logprobs": 0, "return_token_ids": True,
                   "skip_special_tokens": False}
        if params.top_k:
            payload["top_k"] = params.top_k
        if params.stop:
            payload["stop"] = list(params.stop)

        def one(ids: list[int]) -> list[Sample]:
            body = self.http._request("POST", "/v1/completions", {**payload, "prompt": ids})
            return [self._sample(ids, choice, params) for choice in self.http._choices(body, params.n)]

        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(one, prompt_ids))

    def _sample(self, prompt: list[int], choice: dict, params: SamplingParams) -> Sample:
        """The trained sample: the tokens the server sampled (HttpSampler parses the choice), cut
        and decoded here as the local engines do."""
        parsed = self.http._parse_completion(choice)
        if not parsed.token_ids:
            raise ServerError("the server returned no token ids or log-probs (is it vLLM, with return_token_ids?)")
        return self._finish_sample(prompt, parsed.token_ids, parsed.logprobs, None, parsed.finish_reason, params.stop)
