"""Atomic writes and strict JSON: how everything a run leaves on disk is written.

Everything goes through :func:`atomic_write_bytes`: the bytes land in a temporary file in the
same directory, are flushed and fsync'd, then renamed over the target, so a process killed at
any moment leaves either the old file or the new one, never a torn one. Every JSON the project
writes or prints goes through :func:`to_json`: strict JSON, with a non-finite number written as
``null`` (Python's ``NaN`` and ``Infinity`` are not JSON).
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

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
            "is kept: free some space or write elsewhere"
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
            "free some space, then resume the run"
        ) from None


def finite_or_none(value: Any) -> float | None:
    """``value`` as a float, or None (JSON's null) when it is None, NaN or infinite: how a
    typed result stores a figure that is undefined (no run converged, a run diverged)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def to_json(obj: Any) -> str:
    """Indented strict JSON of ``obj``, every non-finite float at any depth as null."""

    def safe(o: Any) -> Any:
        if isinstance(o, dict):
            return {k: safe(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [safe(v) for v in o]
        return finite_or_none(o) if isinstance(o, float) else o

    return json.dumps(safe(obj), indent=2, allow_nan=False)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> Any:
    """Strict JSON parsing: ``NaN``, ``Infinity`` and ``-Infinity`` are refused (ValueError)."""
    return json.loads(text, parse_constant=_refuse_constant)


def read_json(path: Path) -> Any:
    """The strict JSON in ``path``; a one-line UsageError if it is missing or not JSON."""
    try:
        return parse_json(Path(path).read_text(encoding="utf-8"))
    except RecursionError:
        raise UsageError(f"{path} is not a file gradgames wrote: its JSON is nested too "
                         "deeply") from None  # fmt: skip
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise UsageError(f"{path} is unreadable or not strict JSON ({reason})") from None


def write_json(path: Path, obj: Any) -> None:
    """Writes ``obj`` as indented strict JSON (:func:`to_json`), atomically."""
    atomic_write_text(path, to_json(obj) + "\n")


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` through :func:`atomic_write_bytes` (the old file survives a crash)."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())
