"""Samplers: one protocol, several engines (torch/transformers, vLLM in-process, a vLLM server,
any OpenAI-compatible server for evaluation).

`training_sampler(engine, model, tokenizer, batch_size, **options)` makes the rollout engine
`rlvr train` uses, found by name in ENGINES, so the training loop names no engine class. Each
engine takes the options it needs and ignores the others.
"""

from typing import Any

from rlvr.sampling.base import Sample, Sampler, SamplingParams, TrainingSampler


def _torch_engine(model: Any, tokenizer: Any, batch_size: int, prepack_linears: bool | None = None,
                  thinking: Any = None, **_: Any) -> TrainingSampler:
    from rlvr.sampling.thinking import Thinking
    from rlvr.sampling.torch_backend import TorchSampler

    return TorchSampler(model, tokenizer, batch_size, thinking=thinking or Thinking(), prepack_linears=prepack_linears)


def _vllm_engine(model: Any, tokenizer: Any, batch_size: int, model_dir: Any, max_model_len: int,
                 kv_cache_gib: float = 1.0, gpu_memory_utilization: float = 0.4, seed: int = 0, thinking: Any = None,
                 **_: Any) -> TrainingSampler:
    from rlvr.sampling.thinking import Thinking
    from rlvr.sampling.vllm_backend import VllmSampler

    sampler = VllmSampler(model_dir, tokenizer, batch_size, thinking or Thinking(), max_model_len=max_model_len,
                          kv_cache_gib=kv_cache_gib, seed=seed, gpu_memory_utilization=gpu_memory_utilization)
    sampler.attach(model)
    sampler.sync_weights()  # a resumed or changed model: the engine starts from the trainer's weights
    return sampler


def _vllm_server_engine(model: Any, tokenizer: Any, batch_size: int, server_url: str, weights_dir: Any,
                        server_model: str | None = None, thinking: Any = None, **_: Any) -> TrainingSampler:
    from rlvr.sampling.thinking import Thinking
    from rlvr.sampling.vllm_server import VllmServerSampler

    sampler = VllmServerSampler(server_url, tokenizer, weights_dir, server_model, batch_size, thinking or Thinking())
    sampler.attach(model)
    sampler.sync_weights()
    return sampler


ENGINES = {"torch": _torch_engine, "vllm": _vllm_engine, "vllm-server": _vllm_server_engine}


def resolve_engine(engine: str, device: Any) -> str:
    """`auto`: vLLM on CUDA when it is installed; torch otherwise (on CPU rlvr's sampler is as fast
    as vLLM or faster for small models, docs/benchmarks.md)."""
    if engine != "auto":
        return engine
    from rlvr.sampling.vllm_backend import vllm_available

    return "vllm" if str(device).startswith("cuda") and vllm_available() else "torch"


def training_sampler(engine: str, model: Any, tokenizer: Any, batch_size: int, **options: Any) -> TrainingSampler:
    """The rollout engine `engine` over the trainer's model."""
    if engine not in ENGINES:
        raise KeyError(f"unknown rollout engine {engine!r}; valid: {', '.join(sorted(ENGINES))}")
    return ENGINES[engine](model, tokenizer, batch_size, **options)


__all__ = ["ENGINES", "Sample", "Sampler", "SamplingParams", "TrainingSampler", "resolve_engine", "training_sampler"]
