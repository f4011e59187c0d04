"""The work of ``gradgames gan sweep``: one run as a task, and the executors that run the tasks.

Every executor calls the same :class:`RunTask` with the same arguments (a run's settings as
:func:`gradgames.config.to_dict` writes them, and its torch thread count), so a setting and
seed train the same weights whichever executor ran them:

- ``local``: a pool of spawned worker processes (:class:`concurrent.futures.ProcessPoolExecutor`);
- ``submitit-local`` and ``slurm``: one submitit job array, a task per run
  (:func:`submit`), on this machine (submitit's LocalExecutor) or on a Slurm cluster.

A task trains its run with ``gan train``'s own :func:`~gradgames.gan.loop.train`, resuming it
from ``checkpoints/last.pt`` when the run directory already holds a run. Slurm's preemption
or time-limit signal makes submitit call :meth:`RunTask.checkpoint`, which requeues the same
task: it starts again from the run's last checkpoint.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

import submitit

from gradgames.config import from_dict
from gradgames.files import atomic_write_text
from gradgames.gan.config import TrainConfig


def error_path(out: Path) -> Path:
    """Where a failed run's last error line is kept: ``<run dir>.error``, beside the run."""
    return Path(out).with_name(Path(out).name + ".error")


class RunTask(submitit.helpers.Checkpointable):
    """Trains one run of a sweep: ``RunTask()(settings, threads) -> outcome``.

    ``settings`` is the run's TrainConfig as a dict; the run resumes when its directory
    holds a config.json. The outcome is ``{"state": "finished" | "stopped" | "failed",
    "steps": ..., "error": ...}``; a failure's last error line is also written to
    :func:`error_path` (for ``gan sweep --status``) and is removed when the run starts again.
    """

    def __call__(self, settings: dict[str, Any], threads: int) -> dict[str, Any]:
        import torch

        from gradgames.gan.loop import train

        if _STOPPING is not None and _STOPPING.is_set():  # queued before the sweep stopped
            return {"state": "not started"}
        torch.set_num_threads(threads)
        out = Path(settings["out"])
        error = error_path(out)
        error.unlink(missing_ok=True)
        resume = (out / "config.json").is_file()
        try:
            result = train(from_dict(TrainConfig, {**settings, "resume": resume}))
        except Exception as exc:  # the sweep goes on; the error is the run's outcome
            lines = [line for line in str(exc).splitlines() if line.strip()]
            line = f"{type(exc).__name__}: {lines[-1] if lines else type(exc).__name__}"
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(error, line + "\n")
            return {"state": "failed", "error": line}
        state = "stopped" if result.stopped_by else "finished"
        return {"state": state, "steps": result.steps}

    def checkpoint(self, settings: dict[str, Any], threads: int):
        """Called by submitit when Slurm preempts the task or its time runs out: the same
        task again, which resumes the run from its last checkpoint (``checkpoints/last.pt``,
        written at every epoch's end)."""
        return submitit.helpers.DelayedSubmission(RunTask(), settings, threads)


_STOPPING = None  # a local worker's: set when the sweep stops (the tasks still queued end)


def _worker_start(stopping) -> None:
    # Ctrl-C in the terminal reaches every process of its group: a worker ignores it, and the
    # sweep asks each worker to stop with SIGTERM instead, which ``gan train`` turns into a
    # checkpoint and a clean end.
    global _STOPPING
    _STOPPING = stopping
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalPool:
    """``jobs`` spawned worker processes, each running one task at a time."""

    def __init__(self, jobs: int):
        context = multiprocessing.get_context("spawn")
        self.stopping = context.Event()  # the pool hands a task or two to workers in advance
        self.pool = concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_worker_start, initargs=(self.stopping,)
        )

    def submit(self, tasks: list[tuple[dict[str, Any], int]]) -> list[concurrent.futures.Future]:
        return [self.pool.submit(RunTask(), settings, threads) for settings, threads in tasks]

    def stop(self) -> None:
        """Asks every worker to checkpoint and stop (SIGTERM), starts no further run; waits."""
        self.stopping.set()
        for process in list(getattr(self.pool, "_processes", {}).values()):
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        self.pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def submitit_executor(
    kind: str, folder: Path, name: str, jobs: int, slurm: dict[str, Any]
) -> submitit.Executor:
    """submitit's executor for ``kind`` (``slurm`` or ``submitit-local``), its logs in ``folder``.

    ``slurm`` holds ``partition`` (None: the cluster's default), ``time`` (minutes),
    ``cpus_per_task`` and ``gpus_per_task``; the job array runs at most ``jobs`` tasks at
    once. The LocalExecutor starts every task at once (it has no such limit).
    """
    if kind == "slurm":
        executor = submitit.SlurmExecutor(folder=folder)
        params: dict[str, Any] = {
            "job_name": name, "time": slurm["time"], "cpus_per_task": slurm["cpus_per_task"],
            "array_parallelism": jobs, "signal_delay_s": 120,
        }  # fmt: skip
        if slurm["gpus_per_task"]:
            params["gpus_per_task"] = slurm["gpus_per_task"]
        if slurm["partition"]:
            params["partition"] = slurm["partition"]
        executor.update_parameters(**params)
        return executor
    executor = submitit.LocalExecutor(folder=folder)
    executor.update_parameters(timeout_min=slurm["time"], gpus_per_node=slurm["gpus_per_task"])
    return executor


def submit(executor: submitit.Executor, tasks: list[tuple[dict[str, Any], int]]) -> list:
    """Submits the tasks as one job array (a task per run); returns submitit's jobs."""
    settings, threads = zip(*tasks, strict=True)
    return executor.map_array(RunTask(), list(settings), list(threads))
