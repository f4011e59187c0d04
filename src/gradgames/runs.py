"""Run directories, atomic writes, seeding and the environment record of a run.

Everything a run leaves on disk goes through :func:`atomic_write_bytes`: the bytes land in a
temporary file in the same directory, are flushed and fsync'd, then renamed over the target, so
a process killed at any moment leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import random
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

import torch

from gradgames import __version__
from gradgames.errors import GradgamesError, UsageError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (temp file + fsync + rename + directory fsync).

    Raises:
        GradgamesError: the disk is full or not writable; the previous file is kept.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_umask())  # mkstemp's 0600 -> the usual mode
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise GradgamesError(
            f"could not write {path}: {exc.strerror or exc}; the previous version, if any, "
            "is kept: free some space or choose another --out"
        ) from None
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def append_text(path: Path, text: str) -> None:
    """Appends ``text`` to ``path`` (a log: a crash can at worst tear its last line).

    Raises:
        GradgamesError: the disk is full or not writable; the lines already there are kept.
    """
    try:
        with Path(path).open("a", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as exc:
        raise GradgamesError(
            f"could not append to {path}: {exc.strerror or exc}; its earlier lines are kept: "
            "free some space and continue with --resume"
        ) from None


def write_json(path: Path, obj: Any) -> None:
    """Writes ``obj`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` through :func:`atomic_write_bytes` (the old file survives a crash)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def prepare_output_dir(out: Path, *, resume: bool = False, marker: str = "config.json") -> Path:
    """Checks and creates a run directory before any work starts.

    Args:
        out: the directory.
        resume: whether the run continues one already in ``out``.
        marker: the file whose presence means ``out`` already holds a run.

    Raises:
        UsageError: ``out`` is a file, is not writable, holds a run and ``resume`` is False, or
            holds no run and ``resume`` is True.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory: choose another --out")
    has_run = (out / marker).exists()
    if has_run and not resume:
        raise UsageError(
            f"{out} already holds a run: pass --resume to continue it, or choose another --out"
        )
    if resume and not has_run:
        raise UsageError(f"--resume: {out} holds no run to continue (no {marker}); drop --resume")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out} is not writable: choose another --out")
    return out


def ensure_parent_writable(path: Path) -> Path:
    """Creates the parent directory of an output file and checks it can be written."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a directory: give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {path.parent}: {exc.strerror}") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise UsageError(f"{path.parent} is not writable: choose another output path")
    return path


@contextlib.contextmanager
def single_threaded():
    """Runs torch with one intra-op thread inside the block, then restores the thread count.

    For work made of many small ops (the bandit simulator's steps, KID's subset products): a
    parallel region over a few thousand elements costs more in hand-offs than it saves, and on
    a busy 2-core machine two OpenMP threads made such ops 10-100x slower than one.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def seed_everything(seed: int) -> None:
    """Seeds Python's and torch's global generators (CPU and CUDA) from ``seed``.

    gradgames draws nothing from NumPy's global generator, so it is left alone.
    """
    random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without CUDA is a UsageError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda: this machine has no CUDA device; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown --device {name!r}: use auto, cpu or cuda") from None


def environment(device: torch.device) -> dict[str, Any]:
    """The versions and hardware a run used, for its config.json."""
    info: dict[str, Any] = {
        "gradgames": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


class StopSignals:
    """Turns the first SIGINT/SIGTERM into a request to stop after the current step.

    The loop then writes a consistent checkpoint (never one between the D and the G update)
    and exits; a second SIGINT interrupts at once.
    """

    def __init__(self):
        self.requested: str | None = None
        self.previous: dict = {}

    def _handle(self, signum, _frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
