"""Training on several processes at once: ``torchrun --nproc-per-node N -m charlstm train ...``.

torchrun starts N copies of the command and tells each its rank through the environment (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``). Each copy builds the same model, draws its own
training windows and computes gradients on its share of the batch; PyTorch's DistributedDataParallel averages the
gradients over the copies during the backward pass, so every copy makes the same update and the weights stay
identical. ``batch_size`` stays the *global* batch (a 2-process run of batch 32 learns like one process with batch
32, twice as fast where there are cores for both): each rank takes ``batch_size / N`` windows.

Everything that decides what happens next — the time budget, when to evaluate, the divergence guard, keep-best —
must be decided the same way on every rank, or one would wait forever for the others in a collective call.
:meth:`World.agree` gives every rank the loss averaged over the ranks and rank 0's clock; rank 0 alone evaluates
and :meth:`World.share` hands its validation loss to the others; rank 0 alone prints and writes the checkpoint.
Backends: gloo on CPU, NCCL on CUDA (one GPU per rank, ``cuda:LOCAL_RANK``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..config import ConfigError


@dataclass(frozen=True)
class World:
    """This process's place among the training processes; the default is a single process (every method is then
    a no-op that costs nothing)."""

    rank: int = 0
    size: int = 1
    device: torch.device = field(
        default_factory=lambda: torch.device("cpu")
    )  # where the collective calls' tensors live (CUDA for NCCL)

    @property
    def main(self) -> bool:
        """Rank 0: the process that evaluates, prints and saves."""
        return self.rank == 0

    def share_of(self, batch_size: int) -> int:
        """This rank's windows of the global ``batch_size``; a batch that does not split evenly is refused."""
        if batch_size % self.size:
            raise ConfigError(
                f"batch_size ({batch_size}) is the global batch: under torchrun it must be a multiple of "
                f"the number of processes ({self.size})"
            )
        return batch_size // self.size

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module the training steps call: ``model`` itself, or wrapped so that its gradients are averaged
        over the ranks (wrapping also copies rank 0's weights to every rank, so all start the same)."""
        if self.size == 1:
            return model
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def agree(self, loss: float, decisions: list[float]) -> tuple[float, list[float]]:
        """The loss averaged over the ranks, and rank 0's ``decisions`` (numbers: a budget fraction, flags)."""
        if self.size == 1:
            return loss, decisions
        # one collective call: every rank adds its share of the loss; only rank 0 adds its decisions
        mine = [loss / self.size, *(d if self.main else 0.0 for d in decisions)]
        values = torch.tensor(mine, dtype=torch.float64, device=self.device)
        dist.all_reduce(values)
        agreed = values.tolist()
        return agreed[0], agreed[1:]

    def share(self, value: float) -> float:
        """Rank 0's ``value`` on every rank."""
        if self.size == 1:
            return value
        values = torch.tensor([value if self.main else 0.0], dtype=torch.float64, device=self.device)
        dist.broadcast(values, src=0)
        return values.item()


SINGLE = World()


def launched() -> bool:
    """Whether torchrun (or another launcher setting ``WORLD_SIZE``) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group torchrun prepared: gloo on a CPU, NCCL on CUDA with one GPU per rank.

    Returns this rank's world and the device it computes on (``cuda:LOCAL_RANK`` for CUDA).
    """
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if local >= torch.cuda.device_count():
            raise ValueError(f"rank {rank} wants GPU {local}, but only {torch.cuda.device_count()} are visible")
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    return World(rank, size, device), device


def finish(world: World) -> None:
    """Leave the process group (rank 0 may still be writing the checkpoint: nothing waits for it)."""
    if world.size > 1 and dist.is_initialized():
        dist.destroy_process_group()
