"""Run directories, their lock, atomic writes, strict JSON and the environment of a run.

Everything a run leaves on disk goes through :func:`atomic_write_bytes`: the bytes land in a
temporary file in the same directory, are flushed and fsync'd, then renamed over the target, so
a process killed at any moment leaves either the old file or the new one, never a torn one.
Every JSON the project writes or prints goes through :func:`to_json`: strict JSON, with a
non-finite number written as ``null`` (Python's ``NaN`` and ``Infinity`` are not JSON).

torch is imported only by the functions that need it, so the command line can show its help
without loading it.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import math
import os
import platform
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

from gradgames import __version__
from gradgames.errors import ConfigError, GradgamesError, UsageError

LOCK_NAME = ".gradgames.lock"  # in a run directory while a process works in it


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


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (JSON's null), recursively."""
    if isinstance(obj, float):
        return finite_or_none(obj)
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def to_json(obj: Any) -> str:
    """Indented strict JSON of ``obj`` (non-finite numbers as null; see :func:`json_safe`)."""
    return json.dumps(json_safe(obj), indent=2, allow_nan=False)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> Any:
    """Strict JSON parsing: ``NaN``, ``Infinity`` and ``-Infinity`` are refused (ValueError)."""
    return json.loads(text, parse_constant=_refuse_constant)


def read_json(path: Path) -> Any:
    """The strict JSON in ``path``; a one-line UsageError if it is missing or not JSON."""
    try:
        return parse_json(Path(path).read_text(encoding="utf-8"))
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


def check_output_dir(out: Path, *, resume: bool = False, marker: str = "config.json") -> Path:
    """Checks, creating nothing, that ``out`` can take a new run (or holds the one to resume).

    A new run needs a directory that does not exist yet or is empty: a folder holding files
    that are not a gradgames run (a user's own generator.pt, say) is never written into.

    Args:
        out: the directory.
        resume: whether the run continues one already in ``out``.
        marker: the file whose presence means ``out`` holds a run of this kind.

    Raises:
        ConfigError: naming ``out``: it is a file or not writable, it holds a run and ``resume``
            is False, or it holds other files; naming ``resume``: it holds no run to resume.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError("out", f"{out} is a file, not a directory: choose another folder")
    has_run = (out / marker).is_file()
    if has_run and not resume:
        raise ConfigError(
            "out",
            f"{out} already holds a run: pass {{resume}} to continue it, or choose another folder",
            mentions=("resume",),
        )
    if resume and not has_run:
        raise ConfigError("resume", f"was given, but {out} holds no run to continue (no {marker})")
    if not has_run and out.is_dir():
        others = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME)
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise ConfigError(
                "out",
                f"{out} is not empty ({shown}) and holds no gradgames run: "
                "choose a new or empty folder",
            )
    if out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError("out", f"{out} is not writable: choose another folder")
    return out


def prepare_output_dir(out: Path, *, resume: bool = False, marker: str = "config.json") -> Path:
    """:func:`check_output_dir`, then creates ``out``; returns it."""
    out = check_output_dir(out, resume=resume, marker=marker)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("out", f"{out}: cannot create it ({exc.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError("out", f"{out} is not writable: choose another folder")
    return out


class RunLock:
    """An exclusive advisory lock on a run directory, held for the run's life.

    ``flock`` on ``DIR/.gradgames.lock``: the kernel releases it when the process ends however
    it ends (a SIGKILL included), so a lock is never left stuck. The holder's pid is written
    into the file so a refused process can name it.
    """

    def __init__(self, directory: Path):
        self.path = Path(directory) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Takes the lock.

        Raises:
            UsageError: another process holds it (its pid is named).
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise UsageError(
                f"{self.path.parent} is in use by another gradgames process (pid {holder}): "
                "wait for it to end, or choose another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


@contextlib.contextmanager
def claimed_output_dir(out: Path, *, resume: bool = False, marker: str = "config.json"):
    """Checks ``out`` (:func:`check_output_dir`), creates it and holds its :class:`RunLock`.

    The checks run again once the lock is held: another process may have started a run there
    between the first check and the lock. Nothing is created when the first check refuses.
    """
    out = prepare_output_dir(out, resume=resume, marker=marker)
    with RunLock(out):
        check_output_dir(out, resume=resume, marker=marker)
        yield out


def check_output_file(path: Path) -> Path:
    """Checks, before any work, that the file ``path`` can be written (its folder must exist).

    Raises:
        UsageError: ``path`` is empty or a directory, its folder does not exist or cannot be
            written (probed by creating and removing a temporary file there).
    """
    path = Path(path)
    if str(path) in ("", "."):
        raise UsageError("an empty output path was given: name a file")
    if path.is_dir():
        raise UsageError(f"{path} is a directory: give a file name")
    if not path.parent.is_dir():
        raise UsageError(
            f"the folder {path.parent} of {path} does not exist: create it or choose another path"
        )
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}; choose another path") from None
    return path


@contextlib.contextmanager
def single_threaded():
    """Runs torch with one intra-op thread inside the block, then restores the thread count.

    For work made of many small ops (the bandit simulator's steps, KID's subset products): a
    parallel region over a few thousand elements costs more in thread hand-offs than it saves
    (benchmarks/bandit_speed.py measures it).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def resolve_device(name: str):
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without CUDA is a ConfigError.

    Returns:
        a ``torch.device``.
    """
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", f"{name}: this machine has no CUDA device; use cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError("device", f"{name!r} is unknown: use auto, cpu or cuda") from None


def environment(device) -> dict[str, Any]:
    """The versions and hardware a run used (``device``: a torch.device), for config.json."""
    import torch

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
