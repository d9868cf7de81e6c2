"""The learner's weights across ranks: replicated (each rank a full copy, gradients all-reduced)
or sharded with FSDP2 (`torch.distributed.fsdp.fully_shard`: each rank holds 1/N of the
weights, gradients and AdamW state; a layer's weights are gathered for its forward and backward).

A sharded learner also keeps a plain full copy of the weights on every rank (`Policy.full`),
refreshed after each update: the rollout engine samples with it, the held-out evaluation and
the exploration methods run it, and rank 0 saves it as the Hugging Face checkpoint. Sampling a
rank's own prompts never waits on the other ranks that way (generation lengths differ per rank,
a sharded module would need every rank in each decoding step's gathers). The copy costs 4 bytes
per parameter per rank, a quarter of what replication costs (weights, gradients, two AdamW moments).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from rlvr.train.distributed import Ranks, Traffic
from rlvr.train.forward import LogprobPass, _decoder

SHARDINGS = ("fsdp2", "replicate")


@dataclass
class Policy:
    trainer: torch.nn.Module  # what the optimizer updates (a LogprobPass under FSDP2, else `full` itself)
    full: torch.nn.Module  # the whole model: sampling, evaluation, checkpoints
    sharded: bool = False

    def refresh(self) -> None:
        """Copy the updated weights into `full`: one gather per parameter, on every rank alike."""
        if not self.sharded:
            return
        own = dict(self.full.named_parameters())
        with torch.no_grad():
            for name, param in self.trainer.model.named_parameters():
                own[name].copy_(param.full_tensor())


def make_policy(model: torch.nn.Module, ranks: Ranks, sharding: str = "fsdp2",
                reshard_after_forward: bool = True) -> Policy:
    """The learner of `model` on `ranks`: one process, or `replicate`, train `model` itself; `fsdp2`
    shards each decoder layer and, as the root, the rest (embeddings, final norm, LM head).
    `reshard_after_forward` false keeps a layer's gathered weights from its forward to its backward
    (within one microbatch): one gather per layer per microbatch instead of one per decoder call
    and one more for the backward."""
    if sharding not in SHARDINGS:
        raise ValueError(f"learner.sharding: {sharding!r} is not one of {', '.join(SHARDINGS)}")
    if ranks.world == 1 or sharding == "replicate":
        return Policy(model, model)
    if hasattr(model, "peft_config"):
        raise ValueError("learner.sharding: fsdp2 does not take LoRA adapters yet; use replicate with lora")
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import FSDPModule, fully_shard

    full = copy.deepcopy(model)
    device = next(model.parameters()).device
    mesh = init_device_mesh(device.type, (ranks.world,))
    for layer in getattr(_decoder(model), "layers", []):
        fully_shard(layer, mesh=mesh, reshard_after_forward=reshard_after_forward)
    trainer = fully_shard(LogprobPass(model), mesh=mesh, reshard_after_forward=reshard_after_forward)
    for module in trainer.modules():
        if isinstance(module, FSDPModule):
            # the loss is divided by global normalizers already (rlvr.train.learner): gradients are
            # summed over the ranks, not averaged; plain SUM collectives (gloo has no pre-scaled sum)
            module.set_gradient_divide_factor(1.0)
            module.set_force_sum_reduction_for_comms(True)
            count_traffic(module, ranks.traffic)
    return Policy(trainer, full, sharded=True)


def count_traffic(module, traffic: Traffic) -> None:
    """Add the bytes of `module`'s gathers (the gathered weights) and reductions (the gradients
    before they are scattered) to `traffic`, as an all-reduce counts its buffer. FSDP2's default
    collectives live in a private module: if it moves, the run goes on without the count."""
    try:
        from torch.distributed.fsdp._fully_shard._fsdp_collectives import DefaultAllGather, DefaultReduceScatter
    except ImportError:
        return

    class CountedAllGather(DefaultAllGather):
        def __call__(self, output_tensor, input_tensor, group, async_op=False):
            traffic.bytes += output_tensor.numel() * output_tensor.element_size()
            return super().__call__(output_tensor, input_tensor, group, async_op)

    class CountedReduceScatter(DefaultReduceScatter):
        def __call__(self, output_tensor, input_tensor, group, op, async_op=False):
            traffic.bytes += input_tensor.numel() * input_tensor.element_size()
            return super().__call__(output_tensor, input_tensor, group, op, async_op)

    module.set_custom_all_gather(CountedAllGather())
    module.set_custom_reduce_scatter(CountedReduceScatter())


def is_sharded(model: torch.nn.Module) -> bool:
    from torch.distributed.fsdp import FSDPModule

    return isinstance(model, FSDPModule)
