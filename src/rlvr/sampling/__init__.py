"""Samplers: one protocol, several engines (torch/transformers here, any OpenAI-compatible server).

`training_sampler(engine, model, tokenizer, ...)` makes the rollout engine `rlvr train` uses, found
by name in ENGINES, so the training loop names no engine class.
"""

from typing import Any

from rlvr.sampling.base import Sample, Sampler, SamplingParams, TrainingSampler


def _torch_engine(model: Any, tokenizer: Any, batch_size: int, **options: Any) -> TrainingSampler:
    from rlvr.sampling.torch_backend import TorchSampler

    return TorchSampler(model, tokenizer, batch_size, **options)


ENGINES = {"torch": _torch_engine}  # name -> (model, tokenizer, batch_size, **options) -> TrainingSampler


def training_sampler(engine: str, model: Any, tokenizer: Any, batch_size: int, **options: Any) -> TrainingSampler:
    """The rollout engine `engine` over the trainer's model."""
    if engine not in ENGINES:
        raise KeyError(f"unknown rollout engine {engine!r}; valid: {', '.join(sorted(ENGINES))}")
    return ENGINES[engine](model, tokenizer, batch_size, **options)


__all__ = ["ENGINES", "Sample", "Sampler", "SamplingParams", "TrainingSampler", "training_sampler"]
