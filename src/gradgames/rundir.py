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
import stat
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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
        """Takes the lock (a regular file of its own: never through a link, nor a FIFO).

        Raises:
            UsageError: another process holds it (its pid is named), or the lock's path is not
                a regular file with one link (a symlink, a hard link, a directory, a FIFO).
        """
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd, why = None, "a link, a directory or a pipe"
        try:
            fd = os.open(self.path, flags, 0o644)
            info = os.fstat(fd)
        except OSError as exc:
            info, why = None, exc.strerror or why
        if info is None or not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            if fd is not None:
                os.close(fd)
            raise UsageError(f"{self.path} is not a plain file of its own ({why}): remove it; "
                             "gradgames creates its lock itself")  # fmt: skip
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
    out = check_output_dir(out, resume=resume, marker=marker)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("out", f"{out}: cannot create it ({exc.strerror})") from None
    with RunLock(out):
        check_output_dir(out, resume=resume, marker=marker)
        yield out


def check_output_file(
    path: Path, kind: str, *, inputs: Iterable[Path] = (), sidecars: Iterable[Path] = ()
) -> Path:
    """Checks, before any work, that writing the file ``path`` (suffix ``kind``: ``".png"``)
    and its ``sidecars`` loses nothing: the rule of every output flag.

    Raises:
        UsageError: ``path`` is empty, a directory, in a missing or unwritable folder, one of
            ``inputs`` or ``sidecars``; or it exists and is no regular file (a link, a device,
            a FIFO), has another suffix or belongs to a run directory; or a sidecar exists.
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
    sidecars = [Path(p) for p in sidecars]
    if any(path.resolve() == Path(p).resolve() for p in [*inputs, *sidecars]):
        raise UsageError(f"{path} is also an input or a file written beside it: choose another")
    for side in sidecars:
        if side.exists() or side.is_symlink():
            raise UsageError(f"{side} exists and would be replaced beside {path}: remove it first")
    if path.exists() or path.is_symlink():
        run = [d for d in (path.parent, path.parent.parent) if (d / LOCK_NAME).exists()]
        if not stat.S_ISREG(path.lstat().st_mode):
            problem = "is not a regular file (a link, a device or a pipe)"
        elif path.suffix.lower() != kind:
            problem = f"is not a {kind} file"
        elif run:
            problem = f"belongs to the gradgames run in {run[0]}"
        else:
            problem = ""
        if problem:
            raise UsageError(f"{path} exists and {problem}: write the output elsewhere")
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}; choose another path") from None
    return path


def resumed_settings(
    saved: dict[str, Any], new: dict[str, Any], given: Iterable[str], resumable: Iterable[str]
) -> dict[str, Any]:
    """The settings of a resumed run: ``saved``, with the ``resumable`` fields in ``given``
    taken from ``new`` (both as ``to_dict`` writes them; a field may sit in a nested dict).

    A resumed run keeps its game: any other field in ``given`` (set by the user) must equal the
    saved value.

    Raises:
        ConfigError: a given field outside ``resumable`` differs from the saved one.
    """
    resumable = tuple(resumable)
    for name in sorted(set(given) - set(resumable) - {"out", "resume"}):
        value, run_value = _field(new, name), _field(saved, name)
        if value != run_value:
            may = ", ".join(f"{{{k}}}" for k in resumable)
            raise ConfigError(
                name, f"{value} differs from the run's {run_value}: a resumed run keeps its "
                f"settings; drop the flag (only {may} may change)", mentions=resumable,
            )  # fmt: skip
    return {**saved, **{k: new[k] for k in resumable if k in given}, "out": new["out"]}


def _field(settings: dict[str, Any], name: str) -> Any:
    if name in settings:
        return settings[name]
    nested = [v[name] for v in settings.values() if isinstance(v, dict) and name in v]
    return nested[0] if nested else None


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
