"""Samplers: one protocol, several engines (torch/transformers here, any OpenAI-compatible server)."""

from rlvr.sampling.base import Sample, Sampler, SamplingParams

__all__ = ["Sample", "Sampler", "SamplingParams"]
