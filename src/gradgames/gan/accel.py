"""Speed without changing what is learnt: precision, memory format, optimiser flavour, CUDA graphs.

Each lever here leaves the mathematics of a training step unchanged (bfloat16 autocast changes
the rounding, which the evaluation checks by FID); see docs/speed.md for what each
one measured.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
import warnings
from collections.abc import Callable

import torch


def tune_allocator() -> bool:
    """Keeps the training step's freed blocks in the process instead of returning them to the
    kernel (glibc only; a process-wide setting, so the command line calls it, not the library).

    Each step allocates and frees the same multi-megabyte activations. glibc serves a block
    above its mmap threshold (128 KiB, rising only after such a block is freed) with a fresh
    ``mmap`` and unmaps it on ``free``, so the next step page-faults every page in again.
    Setting ``M_MMAP_THRESHOLD`` to its largest allowed value (32 MiB, above every activation
    of the step) and ``M_TRIM_THRESHOLD`` high keeps them on the heap for reuse: the results
    are the same, the page faults go (benchmarks/gan_throughput.py measures both).

    Returns:
        whether glibc accepted both settings (False on another C library).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 1 << 30))


def resolve_channels_last(choice: bool | None, device: torch.device) -> bool:
    """``None`` (auto) -> channels-last on CUDA, where cuDNN's tensor-core kernels want NHWC."""
    return device.type == "cuda" if choice is None else choice


def configure(device: torch.device) -> None:
    """Per-process backend settings for training: cuDNN picks the fastest kernels for the
    fixed shapes of a run (the results are the same up to rounding)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


def autocast(device: torch.device, precision: str, graphs: bool = False):
    """The autocast context of a training step (a no-op context for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    # The weight-cast cache must be off under CUDA graphs: casts are replayed, not cached.
    return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=not graphs)


def adam(params, lr: float, betas: tuple[float, float], device: torch.device, graphs: bool):
    """Adam with its fused implementation: one kernel per step instead of a chain of
    elementwise ops (the same update rule; docs/speed.md has the figures). On
    CUDA it is capturable, so that the step can live inside a CUDA graph.
    """
    capturable = graphs and device.type == "cuda"
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=True, capturable=capturable)


class CudaGraphStep:
    """Replays a whole training step (forward, backward, both Adam updates) as one CUDA graph.

    ``step_fn(real) -> stats`` must keep gradients allocated (``zero_grad(set_to_none=False)``)
    so that they live at fixed addresses. The first ``warmup`` calls run eagerly on a side
    stream (as PyTorch requires before capture; they are real training steps), the next call
    with a full batch of ``batch_size`` images captures the graph, and every later full batch
    replays it. Batches of another size (the short last batch of an epoch) run eagerly. Random
    numbers drawn inside the graph (noise, dropout) advance the CUDA generator's offset at
    every replay, as in eager mode. If the capture fails (an operation that cannot be
    captured, a driver without graph support), one warning says so and every step runs
    eagerly from then on: the batch whose capture failed is trained eagerly, so no step is
    lost (a capture records kernels without running them).
    """

    def __init__(self, step_fn: Callable[[torch.Tensor], torch.Tensor], batch_size: int,
                 warmup: int = 3):  # fmt: skip
        self.step_fn = step_fn
        self.batch_size = batch_size
        self.warmup = warmup
        self.failed = False
        self.side: torch.cuda.Stream | None = None
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static_real: torch.Tensor | None = None
        self.static_stats: torch.Tensor | None = None

    def _eager(self, real: torch.Tensor) -> torch.Tensor:
        self.side = self.side or torch.cuda.Stream()
        self.side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.side):
            stats = self.step_fn(real)
        torch.cuda.current_stream().wait_stream(self.side)
        return stats

    def _capture(self, real: torch.Tensor) -> None:
        self.static_real = real.clone()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.static_stats = self.step_fn(self.static_real)
        self.graph = graph

    def __call__(self, real: torch.Tensor) -> torch.Tensor:
        if self.failed or real.shape[0] != self.batch_size:
            return self._eager(real)
        if self.warmup > 0:
            self.warmup -= 1
            return self._eager(real)
        if self.graph is None:
            try:
                self._capture(real)
            except RuntimeError as exc:
                self.failed = True
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
                warnings.warn(f"CUDA-graph capture failed ({reason}); training goes on with "
                              "the eager step", RuntimeWarning, stacklevel=2)  # fmt: skip
                return self._eager(real)
        self.static_real.copy_(real)
        self.graph.replay()
        return self.static_stats.clone()
