"""`rlvr distill CONFIG.yaml`: what a distillation run takes (every key with its meaning)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from rlvr.config import (
    DEVICE_PATTERN,
    CheckpointingSection,
    EvaluationSection,
    LoggingSection,
    Precision,
    Strict,
    TinyModelSpec,
)

LOSSES = ("forward_kl", "reverse_kl", "gjsd", "sequence_kd", "on_policy")


class DistillConfig(Strict):
    teacher: str = "tiny-reasoner"  # a Hugging Face causal LM directory (or the shipped tiny-reasoner)
    student: str | None = None  # the student: a model directory with the teacher's vocabulary ...
    new_student: TinyModelSpec | None = None  # ... or a fresh tiny model on the teacher's tokenizer
    # the problems, as `rlvr sft` and `rlvr train` take them: a suite (synthetic: seeds, size) or a file
    suite: str | None = "synthetic"
    suite_seeds: list[int] = Field(default_factory=lambda: [0])
    per_task: int = 10  # synthetic suites: problems per task and level
    suite_version: int | None = Field(None, ge=1)  # synthetic suites: the version drawn (default the newest)
    data: Path | None = None  # a JSONL/Parquet file of Problems (replaces the suite)
    # forward_kl | reverse_kl | gjsd: token-level divergences on fixed sequences (and the student's own
    # samples, on_policy_fraction); sequence_kd: cross-entropy on the sequences; on_policy: the student
    # samples and the teacher's per-token log-probs are a dense reward (rlvr.distill.losses)
    loss: Literal["forward_kl", "reverse_kl", "gjsd", "sequence_kd", "on_policy"] = "forward_kl"
    temperature: float = Field(1.0, gt=0)  # tau of the divergences (the loss is scaled by tau^2)
    beta: float = Field(0.5, gt=0, lt=1)  # gjsd: the student's weight in the mixture
    # the fixed sequences: the problems' reference solutions, or teacher samples (teacher_samples' files,
    # or else one per problem drawn once at the start into OUTPUT/teacher-samples.jsonl)
    sequences: Literal["ground_truth", "teacher"] = "ground_truth"
    # sequences: teacher, from samples.jsonl files of `rlvr eval` runs of the teacher instead (every
    # kept sample of a problem is one of its sequences; problems with none are left out)
    teacher_samples: list[Path] = Field(default_factory=list)
    teacher_samples_correct_only: bool = True  # keep only the samples the verifier accepted
    on_policy_fraction: float = Field(0.0, ge=0, le=1)  # lambda: share of steps on the student's own samples (GKD)
    coef: float = 1.0  # on_policy: weight of the distillation reward log p_T - log p_S
    verifier_coef: float = Field(0.0, ge=0)  # on_policy: weight of the verifiable reward's group advantage
    rollouts_per_prompt: int = Field(4, ge=1)  # on_policy: samples per prompt (the verifier's groups)
    max_new_tokens: int = Field(128, ge=1)  # length of sampled sequences (teacher, student, evaluation)
    # precompute the teacher's logits on the fixed sequences once, then free the teacher (when no
    # step needs it live): a run never holds both models
    precompute_teacher: bool = False
    teacher_top_k: int | None = Field(None, ge=1)  # stored logits per token: the teacher's top k; null = all
    steps: int = Field(100, ge=1)
    batch_size: int = Field(16, ge=1)  # sequences (on_policy: prompts) per optimizer step
    microbatch_size: int = Field(16, ge=1)  # sequences per forward/backward
    lr: float = Field(1e-4, gt=0)
    warmup_steps: int = Field(0, ge=0)
    grad_clip: float = Field(1.0, gt=0)
    precision: Precision = "auto"  # the student's forward/backward under bf16 autocast where native
    device: str = Field("auto", pattern=DEVICE_PATTERN)
    # the teacher's device (another GPU, or cpu to keep it off the student's); null = the student's
    teacher_device: str | None = Field(None, pattern=DEVICE_PATTERN)
    seed: int = 0
    output: Path = Path("runs/distill")
    evaluation: EvaluationSection = Field(default_factory=EvaluationSection)
    checkpointing: CheckpointingSection = Field(default_factory=CheckpointingSection)
    logging: LoggingSection = Field(default_factory=LoggingSection)
    verifier_workers: int | None = Field(None, ge=1)  # verifier processes (on_policy, evaluation)

    @model_validator(mode="after")
    def _one_student(self) -> DistillConfig:
        if (self.student is None) == (self.new_student is None):
            raise ValueError("give exactly one of student (a model directory) and new_student (a fresh tiny model)")
        if self.suite is None and self.data is None:
            raise ValueError("give the problems: suite (e.g. synthetic) or data (a JSONL/Parquet file)")
        if self.precompute_teacher and self.loss == "on_policy":
            raise ValueError("precompute_teacher: the on_policy loss needs the teacher live, on the student's samples")
        if self.teacher_samples and (self.sequences != "teacher" or self.loss == "on_policy"):
            raise ValueError("teacher_samples: the fixed sequences of sequences: teacher (not with loss on_policy, "
                             "which trains on the student's own samples)")
        if self.teacher_top_k and not self.precompute_teacher:
            raise ValueError("teacher_top_k: only with precompute_teacher (live teacher logits are exact)")
        return self
