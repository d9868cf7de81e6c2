"""The Sampler protocol shared by evaluation and training.

A prompt is text, chat messages (rendered with the model's chat template by the sampler), or
token ids. Log-probs are exact for the distribution the token was drawn from: the model's
logits divided by the temperature, restricted by top-k and top-p, renormalized. With
temperature 0 (greedy) they are the model's own log-probs (temperature 1, no truncation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Prompt = str | list[dict] | list[int]  # text, chat messages, or token ids


@dataclass(frozen=True)
class SamplingParams:
    n: int = 1  # samples per prompt
    temperature: float = 1.0  # 0 = greedy
    top_p: float = 1.0
    top_k: int = 0  # 0 = no top-k
    max_new_tokens: int = 512
    stop: tuple[str, ...] = ()  # stop strings (the text is cut before them)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0 or self.max_new_tokens < 1:
            raise ValueError("top_k must be >= 0 and max_new_tokens >= 1")


@dataclass
class Sample:
    """One completion."""

    text: str
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)  # one per token in token_ids
    finish_reason: Literal["stop", "length"] = "stop"
    self_certainty: float | None = None  # mean per-token KL(U || p) of the model's distribution
    prompt_ids: list[int] = field(default_factory=list)

    @property
    def logprob_sum(self) -> float:
        return float(sum(self.logprobs))


class Sampler(Protocol):
    def sample(self, prompts: list[Prompt], params: SamplingParams) -> list[list[Sample]]:
        """For each prompt, params.n samples."""
        ...


class TrainingSampler(Sampler, Protocol):
    """What `rlvr train` needs of a rollout engine, besides sampling: the token ids a prompt is
    sampled from (the learner trains on them), where it computes (CPU engines sample, then score;
    others score one batch while sampling the next), and its batch size in sequences. It samples
    from the trained model's current weights (the torch engine shares the trainer's module)."""

    batch_size: int

    @property
    def device(self) -> Any: ...

    def encode(self, prompt: Prompt) -> list[int]: ...

    def sync_weights(self) -> None:
        """Make the engine sample from the trainer's current weights (called after every update;
        a no-op for an engine that shares the trainer's module)."""
        ...
