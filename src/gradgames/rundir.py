"""Run directories: the checks before a run writes, its lock, its outputs, resuming and stops.

A run directory holds one run; a new run needs a new or empty one, a resumed run the one it
continues (:func:`check_output_dir`). The process working in it holds its :class:`RunLock`.
Every output flag goes through :func:`check_output_file`, and a resumed run changes only the
settings its kind permits (:func:`resumed_settings`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import tempfile
import threading
from pathlib import Path

from gradgames.errors import ConfigError, UsageError

LOCK_NAME = ".gradgames.lock"  # in a run directory while a process works in it


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
