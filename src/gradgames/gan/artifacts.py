"""What a training run leaves on disk besides checkpoints and weights: metrics.csv, sample
grids, losses.png, and the evaluations (evaluations.json, fid.png)."""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from gradgames import plotting
from gradgames.config import shown
from gradgames.errors import DivergenceError, UsageError
from gradgames.files import (
    append_text,
    atomic_write_bytes,
    atomic_write_text,
    read_json,
    write_json,
)
from gradgames.gan.results import Evaluation

METRIC_COLUMNS = ("epoch", "step", "d_loss", "g_loss", "d_real", "d_fake", "images_per_s")
METRIC_BOUNDS = {"epoch": (1, math.inf), "step": (1, math.inf), "d_real": (0, 1),
                 "d_fake": (0, 1), "images_per_s": (0, math.inf)}  # fmt: skip


def image_grid(images: torch.Tensor, nrow: int = 8) -> torch.Tensor:
    """A grid ``(3, H, W)`` in [0, 1] of ``(B, 1, 28, 28)`` images in [-1, 1] (white
    separators), on the CPU."""
    from torchvision.utils import make_grid  # imported when needed: torchvision is slow to load

    return make_grid(images.detach().float().cpu(), nrow=nrow, padding=2, pad_value=1.0,
                     normalize=True, value_range=(-1.0, 1.0))  # fmt: skip


def image_grid_png(images: torch.Tensor, nrow: int = 8) -> bytes:
    """PNG bytes of :func:`image_grid`."""
    from PIL import Image

    grid = image_grid(images, nrow)  # (3, H, W) in [0, 1]
    array = grid.mul(255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def save_image_grid(images: torch.Tensor, path: Path, nrow: int = 8) -> Path:
    """Writes :func:`image_grid_png` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, image_grid_png(images, nrow))
    return path


class MetricsLog:
    """Per-step training statistics, kept on the device and written once per log interval.

    Each step appends a ``(4,)`` tensor ``[d_loss, g_loss, d_real, d_fake]`` without a host
    synchronisation; :meth:`flush` stacks the interval, copies it to the host once, checks it
    is finite and appends one CSV row per step (and keeps the interval's means in
    ``interval``, for TensorBoard). ``images_per_s`` of a row is the throughput of
    its log interval (on a GPU a single step cannot be timed without synchronising), counting
    the images each step really trained on (``images_of(step)``, 0-based: an epoch's last
    batch may be short).
    """

    def __init__(
        self, path: Path | None, images_of: Callable[[int], int], steps_per_epoch: int
    ):
        self.path = path
        self.images_of = images_of
        self.steps_per_epoch = steps_per_epoch
        self.pending: list[torch.Tensor] = []
        self.first_step = 0
        self.clock = time.perf_counter()
        self.last: dict[str, float] = {}
        self.interval: dict[str, float] = {}  # the last flushed interval's mean statistics
        self.interval_step = 0  # the step that interval ended at

    def start(self, step: int) -> None:
        """Begins logging after ``step`` completed steps; drops CSV rows beyond it (resume)."""
        self.first_step, self.clock = step, time.perf_counter()
        if self.path is not None:
            rewrite_metrics(self.path, step)

    def record(self, stats: torch.Tensor) -> None:
        self.pending.append(stats)

    def flush(self) -> int:
        """Writes the pending rows; returns how many. Raises DivergenceError on non-finite."""
        if not self.pending:
            return 0
        values = torch.stack(self.pending).float().cpu().numpy()  # (steps, 4); syncs once
        seconds = max(time.perf_counter() - self.clock, 1e-9)
        first = self.first_step
        rate = sum(self.images_of(s) for s in range(first, first + len(values))) / seconds
        self.first_step += len(values)
        self.pending.clear()
        self.clock = time.perf_counter()
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            step = first + int(np.argmax(bad)) + 1
            raise DivergenceError(
                f"non-finite loss at step {step} (epoch {(step - 1) // self.steps_per_epoch + 1})"
            )
        if self.path is not None:
            lines = io.StringIO()
            writer = csv.writer(lines, lineterminator="\n")
            for i, row in enumerate(values):
                step = first + i + 1
                epoch = (step - 1) // self.steps_per_epoch + 1
                writer.writerow([epoch, step, *(f"{v:.6g}" for v in row), f"{rate:.1f}"])
            append_text(self.path, lines.getvalue())
        self.last = dict(zip(METRIC_COLUMNS[2:6], values[-1].tolist(), strict=True))
        self.last["images_per_s"] = rate
        self.interval = dict(zip(METRIC_COLUMNS[2:6], values.mean(axis=0).tolist(), strict=True))
        self.interval_step = first + len(values)
        return len(values)


def read_metrics(path: Path) -> list[dict[str, str]]:
    """The rows of a metrics.csv, every value checked (a line torn by a crash, the last one
    without its newline, is skipped).

    Raises:
        UsageError: one line naming the file, the line and the column that is wrong.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is unreadable ({getattr(exc, 'strerror', None) or exc}): "
                         "restore it or start a new run") from None  # fmt: skip
    lines = text.splitlines()
    if not lines or lines[0] != ",".join(METRIC_COLUMNS):
        raise UsageError(f"{path}: its first line is not the header {','.join(METRIC_COLUMNS)} "
                         "(was it edited, or written by another tool?)")  # fmt: skip
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        problem = _bad_row(line.split(","))
        if problem and number == len(lines) and not text.endswith("\n"):
            break  # torn by a crash
        if problem:
            raise UsageError(f"{path} line {number}: {problem} (was it edited, or written by "
                             "another tool?)")  # fmt: skip
        rows.append(dict(zip(METRIC_COLUMNS, line.split(","), strict=True)))
    return rows


def _bad_row(values: list[str]) -> str | None:
    """What is wrong with a metrics.csv row (None: nothing): its columns, integer epoch and
    step >= 1, finite statistics, probabilities in [0, 1], a rate >= 0."""
    if len(values) != len(METRIC_COLUMNS):
        return f"{len(values)} columns instead of {len(METRIC_COLUMNS)}"
    for name, text in zip(METRIC_COLUMNS, values, strict=True):
        try:
            value = int(text) if name in ("epoch", "step") else float(text)
        except ValueError:
            value = None
        low, high = METRIC_BOUNDS.get(name, (-math.inf, math.inf))
        if value is None or not math.isfinite(value) or not low <= value <= high:
            return f"{name} must be a number in [{low}, {high}]; got {shown(text)}"
    return None


def rewrite_metrics(
    path: Path, last_step: int, remap: Callable[[int], int] | None = None
) -> None:
    """Keeps the rows of metrics.csv up to ``last_step`` (a resumed run's checkpoint), their
    ``step`` mapped by ``remap`` (a resume with another number of processes); creates the
    file with its header when it does not exist."""
    path = Path(path)
    rows = [r for r in read_metrics(path) if int(r["step"]) <= last_step] if path.exists() else []
    lines = [",".join(METRIC_COLUMNS)]
    for row in rows:
        if remap is not None:
            row["step"] = str(remap(int(row["step"])))
        lines.append(",".join(row[c] for c in METRIC_COLUMNS))
    atomic_write_text(path, "\n".join(lines) + "\n")


@plotting.styled
def plot_losses(metrics_csv: Path, path: Path, alpha: float = 0.8) -> Path:
    """G and D losses over iterations: raw (faint) and EMA-smoothed with factor ``alpha``."""
    rows = read_metrics(metrics_csv)
    steps = np.array([int(r["step"]) for r in rows])
    fig, ax = plotting.figure(width=8.0, height=4.0)
    for key, label, color in (("d_loss", "discriminator", "C0"), ("g_loss", "generator", "C1")):
        values = np.array([float(r[key]) for r in rows])
        ax.plot(steps, values, color=color, alpha=0.2, linewidth=0.6)
        smooth = plotting.ema(values, alpha)
        last = f" (last EMA {smooth[-1]:.3f})" if len(smooth) else ""
        ax.plot(steps, smooth, color=color, linewidth=1.4, label=f"{label}{last}")
    ax.set_xlabel("iteration (optimiser step)")
    ax.set_ylabel("BCE loss")
    ax.set_title(f"DCGAN losses: raw (faint) and EMA {alpha}")
    ax.legend()
    if len(steps) and math.isfinite(float(steps[-1])):
        ax.set_xlim(0, max(int(steps[-1]), 1))
    return plotting.save(fig, path)


def read_evaluations(out: Path) -> list[Evaluation]:
    """The entries of a run's evaluations.json ([] when it has none)."""
    path = Path(out) / "evaluations.json"
    if not path.exists():
        return []
    entries = read_json(path)
    if not isinstance(entries, list):
        raise UsageError(f"{path} is not a list of evaluations; {path.name} of another tool?")
    return [Evaluation.from_dict(e, f"{path} entry {i}") for i, e in enumerate(entries)]


def record_evaluation(out: Path, evaluation: Evaluation) -> list[Evaluation]:
    """Adds an evaluation made during training (its ``epoch`` and ``step`` set, the EMA
    generator's beside it in ``ema``) to evaluations.json and fid.png.

    An entry for the same epoch (re-trained after a resume) replaces the earlier one, and
    entries beyond the evaluation's step (from a run resumed from an earlier checkpoint) go.
    """
    epoch, step = evaluation.epoch, evaluation.step
    kept = [e for e in read_evaluations(out) if e.epoch != epoch and e.step <= step]
    entries = sorted([*kept, evaluation], key=lambda e: e.epoch)
    write_json(Path(out) / "evaluations.json", [e.to_dict() for e in entries])
    plot_fid(entries, Path(out) / "fid.png")
    return entries


@plotting.styled
def plot_fid(entries: list[Evaluation], path: Path) -> Path:
    """FID of the generated images over epochs (the trained generator and, where scored, the
    EMA generator), with the real-data floor beside it."""
    epochs = [e.epoch for e in entries]
    fig, ax = plotting.figure(width=6.4, height=3.6)
    ax.plot(epochs, [e.generated.fid for e in entries], "o-", color="C3",
            label="generator vs test")  # fmt: skip
    ema = [(e.epoch, e.ema.fid) for e in entries if e.ema is not None]
    if ema:
        ax.plot(*zip(*ema, strict=True), "^-", color="C0", label="EMA generator vs test")
    ax.plot(epochs, [e.floor.fid for e in entries], "s--", color="C7",
            label="real-data floor (train vs test)")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("FID (classifier features)")
    ax.set_title("FID over epochs, in the reference classifier's feature space")
    ax.legend()
    return plotting.save(fig, path)
