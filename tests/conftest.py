"""Shared fixtures: the real Fashion-MNIST files and a runner for the gradgames command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradgames.cli import main
from gradgames.gan.artifacts import read_metrics
from gradgames.gan.data import find_data_dir


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The directory of the real Fashion-MNIST IDX files (Debian's package or GRADGAMES_DATA)."""
    return find_data_dir()


@pytest.fixture
def cli(capsys):
    """Runs ``gradgames ARGS`` in-process; returns (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


def run_gradgames(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Runs ``python -m gradgames ARGS`` in a subprocess (for signals and real exit paths)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "gradgames", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=env, **kw,
    )  # fmt: skip


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    """Exit status 2, exactly one line on stderr, no traceback, containing ``fragments``."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def start_training(out: Path) -> subprocess.Popen:
    """Starts a 3-epoch training on 640 images in a real process (for signal tests)."""
    args = ["gan", "train", "--subset", "640", "--epochs", "3", "--out", out,
            "--log-every", "1", "--no-progress", "--eval-epochs", ""]  # fmt: skip
    command = [sys.executable, "-m", "gradgames", *map(str, args)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupt_training(out: Path, sig: int, rows: int = 1) -> tuple[int, str, str]:
    """Starts :func:`start_training`, sends ``sig`` once ``rows`` metrics rows are logged;
    returns (exit status, stdout, stderr)."""
    process = start_training(out)
    metrics = out / "metrics.csv"
    wait_until(lambda: metrics.exists() and len(read_metrics(metrics)) >= rows)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=240)
    return process.returncode, stdout, stderr


def wait_until(condition, timeout: float = 240) -> None:
    """Polls ``condition()`` until it holds (or the timeout passes: the test then fails later)."""
    deadline = time.time() + timeout
    while time.time() < deadline and not condition():
        time.sleep(0.05)


def slurm_answer(timeout: float = 5) -> str | None:
    """None where a Slurm cluster answers (``sinfo`` shows a node that responds and is up: idle,
    mixed, allocated or completing), else why not."""
    try:
        result = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True,
                                text=True, timeout=timeout)  # fmt: skip
    except subprocess.TimeoutExpired:
        return (
            f"no Slurm cluster answers (sinfo is silent for {timeout:g} s); start one with "
            "scripts/slurm_cluster.sh"
        )
    except OSError as exc:
        return f"no Slurm cluster answers (sinfo: {exc}); start one with scripts/slurm_cluster.sh"
    states = result.stdout.split()
    if result.returncode == 0 and {"idle", "mix", "alloc", "comp"} & set(states):
        return None
    said = (result.stderr.strip().splitlines() or states or ["no nodes"])[-1]
    return f"no Slurm node up (sinfo: {said}); start one with scripts/slurm_cluster.sh"


def require_slurm(timeout: float = 5) -> None:
    """Skips the test where no Slurm cluster answers; fails it instead where CI=true."""
    reason = slurm_answer(timeout)
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: a missing cluster is a failure)")
        pytest.skip(reason)


@pytest.fixture
def slurm_cluster() -> None:
    """A Slurm cluster that answers: skips the test where none does, fails it where CI=true."""
    require_slurm()
