"""The process world of a training run: one process, or several under torchrun (DDP).

A single process is the world of size 1: the training loop is the same code either way.
``torchrun`` starts the processes and tells each its place in the environment (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); :meth:`World.from_env`
reads it and joins the process group (gloo on the CPU, nccl on CUDA). With N processes:

- each epoch's permutation is a function of (seed, epoch), so every rank computes the same
  one; every global batch of ``batch_size * N`` images is split across the ranks;
- both networks are wrapped in DistributedDataParallel, which averages the gradients, so all
  ranks hold the same weights after every step;
- each rank draws its own noise z and dropout masks (:meth:`World.reseed`);
- only rank 0 writes artefacts, logs and the progress bar;
- a checkpoint written by N processes resumes with M (:func:`resumed_step`).

The launch settings (:class:`~gradgames.gan.config.DistConfig`) are in the torch-free
:mod:`gradgames.gan.config`.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from gradgames.device import resolve_device
from gradgames.errors import ConfigError, GradgamesError, UsageError
from gradgames.gan.config import DistConfig
from gradgames.gan.data import steps_per_epoch


class WorldError(GradgamesError):
    """The processes of a distributed run lost each other (one died, stalled or never came)."""


@dataclass
class World:
    """Rank, size and device of this process; a single process by default.

    ``backend`` is None when there is no process group (the world of one).
    """

    rank: int = 0
    size: int = 1
    device: torch.device | None = None
    backend: str | None = None
    timeout_s: float = 120.0

    @classmethod
    def from_env(
        cls, device_name: str = "auto", settings: DistConfig | None = None,
        env: Mapping[str, str] | None = None,
    ) -> World:  # fmt: skip
        """The world torchrun's environment describes; a world of one outside torchrun.

        Joins the process group when ``WORLD_SIZE`` > 1, on device ``cuda:LOCAL_RANK`` when
        ``device_name`` resolves to CUDA (else the CPU).

        Raises:
            UsageError: a malformed environment, a backend the device cannot use, too few GPUs.
            WorldError: the other processes did not all arrive within the timeout.
        """
        env = os.environ if env is None else env
        settings = settings or DistConfig()
        size = _env_int(env, "WORLD_SIZE", 1)
        if size <= 1:
            return cls()
        rank, local_rank = _env_int(env, "RANK", None), _env_int(env, "LOCAL_RANK", 0)
        device = _process_device(device_name, local_rank)
        backend = _backend(settings.dist_backend, device)
        timeout = datetime.timedelta(seconds=settings.dist_timeout)
        try:
            dist.init_process_group(backend, rank=rank, world_size=size, timeout=timeout)
        except (dist.DistError, RuntimeError, ValueError) as exc:
            raise WorldError(
                f"rank {rank} of {size} could not join the process group at "
                f"{env.get('MASTER_ADDR')}:{env.get('MASTER_PORT')} within "
                f"{settings.dist_timeout:g} s ({_first_line(exc)}): check that every process "
                "started and that the address is reachable"
            ) from None
        return cls(rank, size, device, backend, settings.dist_timeout)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def check(self, sync_bn: bool) -> None:
        """Raises a one-line UsageError for settings this world cannot run."""
        if sync_bn and self.size > 1 and self.device.type != "cuda":
            raise ConfigError(
                "sync_bn", "needs CUDA devices: SyncBatchNorm does not run on the CPU; leave it "
                "off (each process then normalises with its own batch statistics)"
            )

    def wrap(self, module: nn.Module, sync_bn: bool = False) -> nn.Module:
        """The module as the training step should call it (DDP-wrapped when size > 1).

        With ``sync_bn`` the batch-norm layers first become SyncBatchNorm (in place: the
        parameters and buffers stay the same tensors, so optimisers and checkpoints still fit).
        """
        if self.size == 1:
            return module
        if sync_bn:
            module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def barrier(self) -> None:
        """Waits for every process (nothing to wait for in a world of one)."""
        if self.size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            dist.barrier(device_ids=ids)

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is set on any process (an all-reduce MAX)."""
        if self.size == 1:
            return flag
        value = torch.tensor([int(flag)], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def reseed(self, seed: int, step: int) -> None:
        """Gives each rank its own noise and dropout stream (a no-op in a world of one).

        Called once the models are built (identically, from ``seed``) or restored: with
        size > 1, rank ``r`` seeds torch's global generators (CPU and CUDA) with
        :func:`rank_seed` ``(seed, r, step)``. A world of one keeps its stream, so a single
        process trains and resumes exactly as before.
        """
        if self.size > 1:
            torch.manual_seed(rank_seed(seed, self.rank, step))

    def close(self) -> None:
        """Leaves the process group (after a barrier, so no rank leaves while others work)."""
        if self.size > 1 and dist.is_initialized():
            self.barrier()
            dist.destroy_process_group()

    def __enter__(self) -> World:
        return self

    def __exit__(self, kind, exc, _traceback) -> None:
        """Closes the world; a failed collective becomes a one-line WorldError."""
        if exc is not None:
            self._lost(exc)
            return
        try:
            self.close()
        except RuntimeError as failure:
            self._lost(failure)
            raise

    def _lost(self, exc: BaseException) -> None:
        if self.size > 1 and _is_lost_peer(exc):
            raise WorldError(
                f"rank {self.rank} of {self.size} lost the other processes "
                f"({_first_line(exc)}): one of them stopped (see its error) or stalled for over "
                f"{self.timeout_s:g} s (the distributed timeout)"
            ) from None


def rank_seed(seed: int, rank: int, step: int) -> int:
    """A 64-bit seed for ``rank`` from the run's seed and the step the session starts at."""
    digest = hashlib.sha256(f"gradgames-ddp:{seed}:{rank}:{step}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


@contextlib.contextmanager
def rank_zero_reports(env: Mapping[str, str] | None = None) -> Iterator[None]:
    """Lets only rank 0 print usage errors (every rank raises the same one from the same flags).

    The other ranks exit with the same status in silence; any other error is reported by every
    rank that meets it.
    """
    env = os.environ if env is None else env
    try:
        yield
    except UsageError as exc:
        if env.get("RANK", "0") != "0":
            raise SystemExit(exc.exit_code) from None
        raise


def resumed_step(step: int, images: int, batch_size: int, old_size: int, new_size: int) -> int:
    """The step of a run resumed by ``new_size`` processes from a checkpoint of ``old_size``.

    Steps count optimiser steps of the global batch ``batch_size * size``. The checkpoint's
    epoch is kept; its position, ``i * batch_size * old_size`` images into the epoch's
    permutation, is rounded up to a whole number of new global batches. No image of the
    interrupted epoch is seen twice, and fewer than one new global batch of it is skipped (none
    when the checkpoint is at an epoch boundary, as every end-of-epoch checkpoint is).
    """
    if old_size == new_size:
        return step
    old_spe = steps_per_epoch(images, batch_size, old_size)
    new_spe = steps_per_epoch(images, batch_size, new_size)
    epoch, i = divmod(step, old_spe)
    seen = i * batch_size * old_size
    return epoch * new_spe + min(-(-seen // (batch_size * new_size)), new_spe)


def _env_int(env: Mapping[str, str], name: str, default: int | None) -> int:
    text = env.get(name)
    if text is None and default is not None:
        return default
    try:
        return int(text)
    except (TypeError, ValueError):
        raise UsageError(
            f"environment variable {name}={text!r} is not an integer: launch with torchrun"
        ) from None


def _process_device(device_name: str, local_rank: int) -> torch.device:
    device = resolve_device(device_name)
    if device.type != "cuda":
        return torch.device("cpu")
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise UsageError(
            f"LOCAL_RANK {local_rank} needs GPU {local_rank} but this machine has {count}: "
            f"use --nproc-per-node {count} or fewer"
        )
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def _backend(name: str, device: torch.device) -> str:
    if name == "auto":
        return "nccl" if device.type == "cuda" else "gloo"
    if name == "nccl" and device.type != "cuda":
        raise ConfigError("dist_backend", "nccl needs CUDA devices; use gloo (or auto) on the CPU")
    return name


def _is_lost_peer(exc: BaseException) -> bool:
    """Whether ``exc`` is a failed collective (gloo raises plain RuntimeErrors that name it)."""
    if isinstance(exc, dist.DistError):
        return True
    words = ("gloo", "NCCL", "Connection closed by peer")
    return isinstance(exc, RuntimeError) and any(word in str(exc) for word in words)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
