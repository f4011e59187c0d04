"""``gradgames gan sweep``: ``gan train`` over settings x seeds, and the statistics of the runs.

A sweep directory holds ``sweep.json`` (the plan: seeds, the varied flags, the fixed flags,
the executor), one ordinary ``gan train`` run directory per setting and seed
(``lr=0.0002/seed-0``: its own lock, checkpoints, TensorBoard events and resume), and at the
end ``summary.json``, ``summary.md``, ``fid.png`` and ``final_fid.png``.

Each run's settings are built by the machinery of ``gan train`` itself: the sweep's flags are
generated from :class:`~gradgames.gan.config.TrainConfig` by the same
:func:`~gradgames.config.add_arguments`, a varied value is parsed by that flag's own parser,
and the config is rebuilt with :func:`~gradgames.config.from_dict`, which checks every value.
The work itself is :mod:`gradgames.gan.sweep_jobs`. Module-level imports stay torch-free:
``gradgames gan --help`` imports this module.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import io
import itertools
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gradgames.config import add_arguments, from_dict, parse_path, to_dict
from gradgames.errors import ConfigError, UsageError
from gradgames.files import read_json, to_json, write_json
from gradgames.gan.config import ModelConfig, TrainConfig
from gradgames.gan.results import SCORES, Evaluation, TrainResult
from gradgames.rundir import LOCK_NAME

JOBS = "jobs.json"  # run name -> its Slurm task (J_T)
OWNED = ("out", "seed", "resume")  # the sweep sets these for every run
EXECUTORS = ("local", "submitit-local", "slurm")
MAY_CHANGE = ("executor", "jobs", "slurm_partition", "slurm_time", "slurm_cpus_per_task",
              "slurm_gpus_per_task")  # fmt: skip


@dataclass(frozen=True)
class _Vary:
    """A varied flag of sweep.json: its values as given (``labels``) and as parsed."""

    flag: str
    field: str
    labels: tuple[str, ...]
    values: tuple[Any, ...]


@dataclass(frozen=True)
class _Plan:
    """The schema of sweep.json."""

    seeds: tuple[int, ...]
    vary: tuple[_Vary, ...]
    fixed: dict[str, Any]
    executor: Literal["local", "submitit-local", "slurm"]
    jobs: int
    slurm_partition: str | None
    slurm_time: int
    slurm_cpus_per_task: int
    slurm_gpus_per_task: int


def read_plan(out: Path) -> dict[str, Any]:
    """DIR/sweep.json, checked: its schema, then every run's settings as ``gan train`` checks
    them (a one-line UsageError naming the file)."""
    path = Path(out) / "sweep.json"
    if not path.is_file():
        raise UsageError(f"{out} holds no sweep (no sweep.json): give a sweep's --out")
    plan = to_dict(from_dict(_Plan, read_json(path), str(path)))
    try:
        for setting, seed in runs_of(plan):
            run_config(plan, setting, seed, out)
    except (ConfigError, UsageError) as exc:
        raise UsageError(f"{path} holds settings gan train refuses: {exc}") from None
    return plan


def _read_jobs(out: Path) -> dict[str, str]:
    """DIR/jobs.json (run name -> Slurm task), or {} when there is none."""
    path = Path(out) / JOBS
    jobs = read_json(path) if path.is_file() else {}
    if not isinstance(jobs, dict) or not all(isinstance(v, str) for v in jobs.values()):
        raise UsageError(f"{path} must map each run to its Slurm task (was it edited?)")
    return jobs


def _train_fields() -> dict[str, str]:
    """``gan train``'s settings the sweep passes on: field name -> "train" or "model"."""
    fields = {f.name: "train" for f in dataclasses.fields(TrainConfig) if f.name != "model"}
    fields.update({f.name: "model" for f in dataclasses.fields(ModelConfig)})
    return {k: v for k, v in fields.items() if k not in OWNED}


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"takes an integer >= 1; got {text!r}")
    return value


_TIME = re.compile(r"(?:(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?|(\d+)(?::(\d+)(?::(\d+))?)?)")


def slurm_minutes(text: str) -> int:
    """Minutes (rounded up) of a time in Slurm's formats: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM,
    D-HH:MM:SS."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"takes Slurm's MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS; got {text!r}")
    d, dh, dm, ds, a, b, c = (int(g) if g else 0 for g in match.groups())
    if match.group(1) is not None:
        seconds = ((d * 24 + dh) * 60 + dm) * 60 + ds
    elif match.group(7) is not None:  # HH:MM:SS
        seconds = (a * 60 + b) * 60 + c
    else:  # MM or MM:SS
        seconds = a * 60 + b
    if seconds < 1:
        raise argparse.ArgumentTypeError(f"takes a time above zero (MM, MM:SS, HH:MM:SS, D-HH, "
                                         f"D-HH:MM or D-HH:MM:SS); got {text!r}")
    return math.ceil(seconds / 60)


def register(commands) -> None:
    """Adds ``gan sweep`` to the gan part's ``commands``."""
    p = commands.add_parser(
        "sweep",
        help="train over settings x seeds and summarise the scores with confidence intervals",
        description="Run gan train once per setting and seed (--vary FLAG=V1,V2 multiplies the "
        "settings; every other gan train flag applies to all runs), then write summary.json, "
        "summary.md and figures with t confidence intervals over the seeds.",
    )
    p.add_argument("--out", type=parse_path, required=True, metavar="DIR",
                   help="sweep directory: sweep.json, a run directory per setting and seed")
    p.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2")
    p.add_argument("--vary", action="append", metavar="FLAG=V1,V2",
                   help="a gan train flag without its dashes and its values (repeatable)")
    p.add_argument("--executor", choices=EXECUTORS,
                   help="local worker processes (default), submitit's local executor, or Slurm")
    p.add_argument("--jobs", type=_positive, help="runs at once (default 1)")
    p.add_argument("--resume", action="store_true",
                   help="continue the sweep in --out: finished runs are kept, the rest go on")
    p.add_argument("--status", action="store_true", help="print each run's state and exit")
    p.add_argument("--json", action="store_true", help="with --status: print JSON")
    p.add_argument("--no-wait", action="store_true",
                   help="submitit executors: submit, print the job id and return")
    p.add_argument("--slurm-partition", help="Slurm partition (default: the cluster's)")
    p.add_argument("--slurm-time", type=slurm_minutes, metavar="TIME",
                   help="time per task in Slurm's format: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM "
                   "or D-HH:MM:SS (default 240 minutes)")
    p.add_argument("--slurm-cpus-per-task", type=_positive,
                   help="CPUs (and torch threads) per task (default 4)")
    p.add_argument("--slurm-gpus-per-task", type=int, help="GPUs per task (default 0)")
    add_arguments(p, TrainConfig, skip=("model", *OWNED))
    add_arguments(p, ModelConfig)
    p.set_defaults(func=run_sweep)


def run_sweep(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.status:
        rows = status(out)
        print(to_json(rows) if args.json else "\n".join(_status_line(r) for r in rows))
        return 0
    plan = _plan(args, _train_parser())
    tasks = [(to_dict(run_config(plan, s, seed, out)), _threads(plan))
             for s, seed in runs_of(plan)]  # fmt: skip
    if plan["executor"] == "slurm" and shutil.which("sbatch") is None:
        raise UsageError("--executor slurm needs Slurm's sbatch, which is not on PATH: run on "
                         "the cluster's login node, or use --executor local or submitit-local")
    jobs = _read_jobs(out)
    queued = squeue(list(jobs.values())) if jobs else None
    if args.resume and queued:  # its runs would be trained twice at once
        job = sorted(queued)[0].split("_")[0]
        raise UsageError(f"Slurm job {job} of this sweep is still in the queue: watch it with "
                         f"gradgames gan sweep --out {out} --status, or scancel {job} first")
    if args.no_wait and plan["executor"] == "local":
        raise UsageError("--no-wait applies to the submitit executors (submitit-local, slurm)")
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "sweep.json", plan)
    todo = [(task, name) for task, name in zip(tasks, _names(plan), strict=True)
            if run_state(out / name)["state"] != "finished"]  # fmt: skip
    for name in set(_names(plan)) - {n for _, n in todo}:
        print(f"{name}: finished, kept")
    if todo:
        code = _execute(out, plan, todo, args.no_wait)
        if code is not None:
            return code
    summary = write_summary(out)
    failed = summary["failed"]
    print(f"summary: {out / 'summary.md'} ({len(failed)} failed run(s))")
    return 1 if failed else 0


def _train_parser() -> argparse.ArgumentParser:
    """``gan train``'s own flags, to parse the values of --vary."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser, TrainConfig, skip=("model",))
    add_arguments(parser, ModelConfig)
    return parser


def _parse_vary(text: str, parser: argparse.ArgumentParser) -> dict[str, Any]:
    flag, sep, values = text.partition("=")
    flag = flag.strip()
    if not sep or not flag:
        raise UsageError(f"--vary takes FLAG=V1,V2 (e.g. lr=0.0001,0.0002); got {text!r}")
    name = flag.lstrip("-").replace("-", "_")
    fields = _train_fields()
    if name in OWNED:
        raise UsageError(f"--vary {flag}: the sweep sets out, seed and resume itself "
                         "(use --out and --seeds)")
    if name not in fields:
        raise UsageError(f"--vary {flag}: not a gan train flag (see gradgames gan train --help)")
    labels = [v.strip() for v in values.split(",")]
    if not values.strip() or "" in labels:
        raise UsageError(f"--vary {flag}: give one or more comma-separated values; got {text!r}")
    if len(set(labels)) < len(labels):
        raise UsageError(f"--vary {flag}: a value is given twice in {values!r}")
    action = next(a for a in parser._actions if a.dest == name)
    parsed = []
    for label in labels:
        if action.nargs == 0:  # a switch: true or false
            if label.lower() not in ("true", "false"):
                raise UsageError(f"--vary {flag}: a switch takes true or false; got {label!r}")
            parsed.append(label.lower() == "true")
            continue
        if action.metavar == "A,B,...":  # a comma list: its commas would split the values
            raise UsageError(f"--vary {flag}: a list flag cannot be varied; fix it for all runs")
        try:
            value = action.type(label) if action.type else label
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise UsageError(f"--vary {flag}: {exc}") from None
        if action.choices and value not in action.choices:
            choices = ", ".join(map(str, action.choices))
            raise UsageError(f"--vary {flag}: {label!r} is not one of {choices}")
        parsed.append(str(value) if isinstance(value, Path) else value)
    return {"flag": flag.lstrip("-"), "field": name, "labels": labels, "values": parsed}


def _seeds(text: str | None) -> list[int]:
    try:
        seeds = [int(s) for s in (text or "").split(",")]
    except ValueError:
        seeds = []
    if not seeds or any(not 0 <= s < 2**63 for s in seeds) or len(set(seeds)) < len(seeds):
        raise UsageError(f"--seeds takes distinct comma-separated seeds (e.g. 0,1,2); "
                         f"got {text!r}")
    return seeds


def _plan(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The sweep's plan from the command line (and, with --resume, from sweep.json); checks
    every run's settings, and writes nothing."""
    out = Path(args.out)
    fixed = {k: getattr(args, k) for k in _train_fields() if hasattr(args, k)}
    fixed = {k: [*v] if isinstance(v, tuple) else str(v) if isinstance(v, Path) else v
             for k, v in fixed.items()}  # fmt: skip
    given = {
        "seeds": None if args.seeds is None else _seeds(args.seeds),
        "vary": None if args.vary is None else [_parse_vary(v, parser) for v in args.vary],
        "executor": args.executor, "jobs": args.jobs,
        "slurm_partition": args.slurm_partition, "slurm_time": args.slurm_time,
        "slurm_cpus_per_task": args.slurm_cpus_per_task,
        "slurm_gpus_per_task": args.slurm_gpus_per_task,
    }  # fmt: skip
    if given["vary"] is not None:
        fields = [v["field"] for v in given["vary"]]
        twice = {f for f in fields if fields.count(f) > 1} | (set(fields) & set(fixed))
        if twice:
            raise UsageError(f"--vary {sorted(twice)[0]} is given twice, or also as a fixed "
                             "flag: give each flag once")
    if args.resume:
        if not (out / "sweep.json").is_file():
            raise UsageError(f"--resume was given, but {out} holds no sweep (no sweep.json)")
        plan = read_plan(out)
        mine = {**{k: v for k, v in given.items() if k not in MAY_CHANGE}}
        if fixed:
            mine["fixed"] = {**plan["fixed"], **fixed}
        for key, value in mine.items():
            if value is not None and value != plan[key]:
                raise UsageError(f"--resume: {key} differs from the sweep's plan in "
                                 f"{out / 'sweep.json'}; only {', '.join(MAY_CHANGE)} may "
                                 "change (or start a new sweep in another folder)")
        plan.update({k: given[k] for k in MAY_CHANGE if given[k] is not None})
    else:
        if (out / "sweep.json").is_file():
            raise UsageError(f"{out} already holds a sweep: pass --resume to continue it, or "
                             "choose another folder")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UsageError(f"{out} is not an empty folder: choose a new one")
        if given["seeds"] is None:
            raise UsageError("--seeds is required: give the seeds, e.g. --seeds 0,1,2")
        fixed.setdefault("progress", False)  # one progress bar per run would be noise
        plan = {
            "seeds": given["seeds"], "vary": given["vary"] or [], "fixed": fixed,
            "executor": given["executor"] or "local", "jobs": given["jobs"] or 1,
            "slurm_partition": given["slurm_partition"], "slurm_time": given["slurm_time"] or 240,
            "slurm_cpus_per_task": given["slurm_cpus_per_task"] or 4,
            "slurm_gpus_per_task": given["slurm_gpus_per_task"] or 0,
        }  # fmt: skip
    for setting, seed in runs_of(plan):
        run_config(plan, setting, seed)  # a ConfigError names the flag
    return plan


def settings_of(plan: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every setting: ``(name, {field: value})``, the first value of each flag first."""
    vary = plan["vary"]
    if not vary:
        return [("default", {})]
    found = []
    for combo in itertools.product(*(range(len(v["values"])) for v in vary)):
        name = ",".join(f"{v['flag']}={v['labels'][i]}" for v, i in zip(vary, combo, strict=True))
        values = {v["field"]: v["values"][i] for v, i in zip(vary, combo, strict=True)}
        found.append((name.replace(os.sep, "_"), values))
    return found


def runs_of(plan: dict[str, Any]) -> list[tuple[str, int]]:
    """``(setting name, seed)`` of every run, seed by seed: a sweep cut short has compared every
    setting on its first seeds rather than finished one setting."""
    return [(name, seed) for seed in plan["seeds"] for name, _ in settings_of(plan)]


def _names(plan: dict[str, Any]) -> list[str]:
    return [f"{setting}/seed-{seed}" for setting, seed in runs_of(plan)]


def run_config(plan: dict[str, Any], setting: str, seed: int, out: Path = Path("sweep")):
    """The TrainConfig of one run of the sweep in ``out``, as ``gan train`` would build it."""
    values = {**plan["fixed"], **dict(settings_of(plan))[setting], "seed": seed}
    values["out"] = str(Path(out) / setting / f"seed-{seed}")
    fields = _train_fields()
    model = {k: values.pop(k) for k in list(values) if fields.get(k) == "model"}
    return from_dict(TrainConfig, {**values, "model": model})


def _threads(plan: dict[str, Any]) -> int:
    if plan["executor"] == "slurm":
        return plan["slurm_cpus_per_task"]
    try:  # the CPUs this process may run on (a cpuset, taskset), not all the machine's
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    return max(1, cpus // plan["jobs"])


def _execute(out: Path, plan: dict[str, Any], todo: list, no_wait: bool) -> int | None:
    """Runs the tasks and prints a line per run as it starts and ends; None when all ended
    (failed or not), else the exit status."""
    from gradgames.gan import sweep_jobs

    tasks = [task for task, _ in todo]
    names = [name for _, name in todo]
    resume = f"gradgames gan sweep --out {out} --resume"
    if plan["executor"] == "local":
        pool = sweep_jobs.LocalPool(plan["jobs"])
        handles, stop = pool.submit(tasks), pool.stop
    else:
        slurm = {k.removeprefix("slurm_").replace("-", "_"): plan[k] for k in MAY_CHANGE[2:]}
        executor = sweep_jobs.submitit_executor(
            plan["executor"], out / "slurm", f"gradgames-sweep-{out.resolve().name}",
            plan["jobs"], slurm,
        )  # fmt: skip
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # submitit prints sbatch's stderr
                handles = sweep_jobs.submit(executor, tasks)
        except Exception as exc:  # sbatch refused the array: its first error line
            lines = [x.strip() for x in str(exc).splitlines() if x.strip()] or [repr(exc)]
            said = next((x for x in lines if "error" in x.lower()), lines[-1])
            raise UsageError(f"sbatch refused the job array: {said}; fix the --slurm-* flags "
                             f"and continue with {resume} --slurm-...") from None
        job_id = handles[0].job_id.split("_")[0]
        if plan["executor"] == "slurm":  # for --status and --resume: squeue knows them
            jobs = _read_jobs(out)
            jobs.update({n: h.job_id for n, h in zip(names, handles, strict=True)})
            write_json(out / JOBS, jobs)
        print(f"submitted job {job_id} ({len(handles)} tasks); logs in {out / 'slurm'}")
        if no_wait:
            print(f"status: gradgames gan sweep --out {out} --status")
            return 0

        def stop() -> None:
            for job in handles:
                job.cancel(check=False)

    # Ctrl-C (SIGINT) or SIGTERM stop the sweep, even when a shell started it with SIGINT
    # ignored (a background job `cmd &` of a script: Python keeps an inherited SIG_IGN).
    caught: list[int] = []

    def interrupt(signum: int, _frame: Any) -> None:
        caught.append(signum)
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, interrupt)
    try:
        _follow(out, names, handles, plan["executor"] == "slurm")
    except KeyboardInterrupt:
        code = 128 + (caught[0] if caught else signal.SIGINT)
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal does not cut the stop
            signal.signal(sig, signal.SIG_IGN)
        if plan["executor"] == "slurm":
            print(f"gradgames: stopped watching; Slurm job {job_id} goes on. Watch it with "
                  f"gradgames gan sweep --out {out} --status, continue it with {resume} once "
                  f"it has left the queue, or cancel it with scancel {job_id}", file=sys.stderr)
            return code
        stop()  # each run writes its checkpoint
        _follow(out, names, handles)
        print(f"gradgames: interrupted; the runs keep their checkpoints: continue with {resume}",
              file=sys.stderr)
        return code
    if plan["executor"] == "local":
        pool.close()
    return None


def squeue(job_ids: list[str]) -> dict[str, str] | None:
    """Slurm's state of each task of ``job_ids`` still in the queue, e.g. ``{"7_1": "PENDING
    (JobHeldUser)"}``; None where squeue does not answer."""
    ids = ",".join(sorted({j.split("_")[0] for j in job_ids}))
    try:
        done = subprocess.run(["squeue", "-h", "-r", "-j", ids, "-o", "%i %T %r"],
                              capture_output=True, text=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 and "Invalid job id" not in done.stderr:
        return None
    found = {}
    for line in done.stdout.splitlines():
        task, state, reason = (line.split(None, 2) + ["", ""])[:3]
        found[task] = state if reason in ("", "None") else f"{state} ({reason})"
    return found


def _follow(out: Path, names: list[str], handles: list, slurm: bool = False) -> None:
    """Prints a line as each run starts and ends, until every handle is done. With Slurm, a
    task that left the queue without a result (killed outside submitit: a cluster without
    accounting never says so) ends the wait for it after two polls of squeue."""
    started: set[str] = set()
    left = dict(zip(names, handles, strict=True))
    gone: dict[str, int] = {}
    polled = 0.0
    while left:
        queue = None
        if slurm and time.monotonic() - polled > 2:
            polled = time.monotonic()
            queue = squeue([h.job_id for h in left.values()])
        for name, handle in list(left.items()):
            done = handle.done()
            if done and _not_started(handle):
                del left[name]
                print(f"{name}: not started", flush=True)
                continue
            if name not in started and (done or run_state(out / name)["state"] == "running"):
                started.add(name)
                print(f"{name}: started", flush=True)
            if not done and queue is not None:
                gone[name] = gone.get(name, 0) + 1 if handle.job_id not in queue else 0
                if gone[name] >= 2 and not handle.done():
                    del left[name]
                    said = _status_line({"run": name, **run_state(out / name)})
                    print(f"{said} (left Slurm's queue without a result); continue with "
                          f"gradgames gan sweep --out {out} --resume", flush=True)
                continue
            if not done:
                continue
            del left[name]
            try:
                outcome = handle.result()
            except BaseException as exc:  # a worker that died, a cancelled job
                lines = [x for x in str(exc).splitlines() if x.strip()] or [type(exc).__name__]
                outcome = {"state": "failed", "error": lines[-1]}
            if outcome["state"] == "failed":
                print(f"{name}: failed: {outcome['error']}", flush=True)
            elif outcome["state"] == "stopped":
                print(f"{name}: stopped at step {outcome['steps']}, checkpoint saved", flush=True)
            else:
                print(f"{name}: finished ({outcome['steps']} steps)", flush=True)
        time.sleep(0.2)


def _not_started(handle) -> bool:
    """A run the sweep stopped before it began: cancelled in the queue, or handed to a worker
    in advance and returned unstarted."""
    if getattr(handle, "cancelled", lambda: False)():
        return True
    try:
        return handle.result().get("state") == "not started"
    except BaseException:  # a failure: reported as one
        return False


def _held(run_dir: Path) -> bool:
    """Whether a live process holds the run directory's lock (probed without taking it)."""
    path = run_dir / LOCK_NAME
    if not path.is_file():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _epoch(run_dir: Path) -> int:
    try:
        lines = (run_dir / "metrics.csv").read_text().strip().splitlines()
        return int(lines[-1].split(",")[0]) if len(lines) > 1 else 0
    except (OSError, ValueError):
        return 0


def run_state(run_dir: Path) -> dict[str, Any]:
    """A run's state from its own files: pending, running (at ``epoch``), finished,
    interrupted (at ``epoch``, resumable) or failed (with its last ``error`` line)."""
    from gradgames.gan.sweep_jobs import error_path

    run_dir = Path(run_dir)
    if _held(run_dir):
        return {"state": "running", "epoch": _epoch(run_dir)}
    error = error_path(run_dir)
    if error.is_file():
        return {"state": "failed", "error": error.read_text().strip()}
    path = run_dir / "summary.json"
    summary = TrainResult.from_dict(read_json(path), str(path)) if path.is_file() else None
    if summary is not None and summary.stopped_by is None:
        return {"state": "finished"}
    if (run_dir / "config.json").is_file():
        return {"state": "interrupted", "epoch": _epoch(run_dir)}
    return {"state": "pending"}


def status(out: Path) -> list[dict[str, Any]]:
    """Every run of the sweep in ``out`` with its :func:`run_state`."""
    plan = read_plan(out)
    rows = [{"run": f"{s}/seed-{seed}", "setting": s, "seed": seed,
             **run_state(Path(out) / s / f"seed-{seed}")} for s, seed in runs_of(plan)]  # fmt: skip
    jobs = _read_jobs(out)
    queue = squeue(list(jobs.values())) if jobs else None
    for row in rows:  # a task still in Slurm's queue: pending, or running before its files say
        task = jobs.get(row["run"])
        if queue and task in queue and row["state"] not in ("running", "finished"):
            row["slurm"] = f"{task} {queue[task]}"
            row["state"] = "running" if queue[task].startswith("RUNNING") else "pending"
            if row["state"] == "running":
                row.setdefault("epoch", 0)
    return rows


def _status_line(row: dict[str, Any]) -> str:
    state = row["state"]
    if state in ("running", "interrupted"):
        state += f" at epoch {row['epoch']}"
    elif state == "pending" and "slurm" in row:
        state += f" (Slurm job {row['slurm']})"
    elif state == "failed":
        state += f": {row['error']}"
    return f"{row['run']}: {state}"


def run_scores(run_dir: Path) -> list[tuple[int, dict[str, dict[str, float]]]]:
    """Every evaluation of a run: ``[(epoch, {"generator": {score: value}, "ema": {...}})]``,
    from its evaluations.json, every value checked (``"ema"`` empty when the run keeps no EMA
    generator), with ``"ema <decay>[ recalibrated]"`` for each average of ``--ema-compare``."""
    path = Path(run_dir) / "evaluations.json"
    entries = read_json(path) if path.is_file() else []
    if not isinstance(entries, list):
        raise UsageError(f"{path} is not a list of evaluations")
    found = []
    for i, data in enumerate(entries):
        e = Evaluation.from_dict(data, f"{path} entry {i}")
        sets = {"generator": e.generated, "ema": e.ema,
                **{f"ema {name}": x for name, x in e.averages.items()}}  # fmt: skip
        found.append((e.epoch, {who: {} if x is None else {s.name: getattr(x, s.name)
                                                          for s in SCORES}
                                for who, x in sets.items()}))  # fmt: skip
    return found


def describe(values: list[float]) -> dict[str, Any]:
    """n, mean, sd (n - 1) and the 95% Student-t interval of the mean (None below n = 2)."""
    import numpy as np
    from scipy import stats

    n = len(values)
    mean = float(np.mean(values))
    if n < 2:
        return {"n": n, "mean": mean, "sd": None, "ci95": None}
    sd = float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "ci95": [mean - half, mean + half]}


def summarise(out: Path) -> dict[str, Any]:
    """The statistics of a sweep's runs (see docs/sweep.md)."""
    plan = read_plan(out)
    rows, comparisons, failed = [], [], []
    values: dict[tuple, dict[int, float]] = {}  # (setting, epoch, generator, score) -> by seed
    for setting, seed in runs_of(plan):
        run_dir = Path(out) / setting / f"seed-{seed}"
        state = run_state(run_dir)
        if state["state"] != "finished":
            failed.append({"run": f"{setting}/seed-{seed}", **state})
            continue
        for epoch, scores in run_scores(run_dir):
            for generator, found in scores.items():
                for score, value in found.items():
                    values.setdefault((setting, epoch, generator, score), {})[seed] = value
    first = settings_of(plan)[0][0]
    ratios = []  # each averaged generator's FID over the generator's, paired by seed
    for (setting, epoch, generator, score), by_seed in values.items():
        raw = values.get((setting, epoch, "generator", score), {})
        paired = sorted(set(by_seed) & set(raw))
        if score == "fid" and generator != "generator" and paired:
            key = {"setting": setting, "epoch": epoch, "generator": generator}
            ratios.append({**key, **describe([by_seed[s] / raw[s] for s in paired]),
                           "seeds": paired})  # fmt: skip
    for (setting, epoch, generator, score), by_seed in values.items():
        key = {"setting": setting, "epoch": epoch, "generator": generator, "score": score}
        rows.append({**key, **describe(list(by_seed.values())), "seeds": sorted(by_seed)})
        base = values.get((first, epoch, generator, score), {})
        paired = sorted(set(by_seed) & set(base))
        if setting == first or not paired:
            continue
        diff = describe([by_seed[s] - base[s] for s in paired])
        ci = diff["ci95"]
        verdict = ("inconclusive" if ci is None or ci[0] <= 0 <= ci[1]
                   else "higher" if ci[0] > 0 else "lower")  # fmt: skip
        comparisons.append({**key, "baseline": first, "n": diff["n"],
                            "mean_difference": diff["mean"], "ci95": ci, "verdict": verdict})
    return {"plan": plan, "scores": rows, "comparisons": comparisons, "fid_ratios": ratios,
            "failed": failed}  # fmt: skip


def write_summary(out: Path) -> dict[str, Any]:
    """summary.json, summary.md, fid.png and final_fid.png of the sweep in ``out``."""
    out = Path(out)
    summary = summarise(out)
    write_json(out / "summary.json", summary)
    from gradgames.files import atomic_write_text

    atomic_write_text(out / "summary.md", _markdown(summary))
    if any(r["score"] == "fid" for r in summary["scores"]):
        _plot(out, summary)
    return summary


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.4g}"


def _table(rows: list[dict[str, Any]], columns: dict[str, str]) -> list[str]:
    """A markdown table of ``rows``: ``columns`` maps each header to its key; numbers to four
    significant digits, an interval as [low, high]."""

    def cell(value: Any) -> str:
        if isinstance(value, list):
            return f"[{_fmt(value[0])}, {_fmt(value[1])}]"
        return _fmt(value) if isinstance(value, float) or value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(cell(r[k]) for k in columns.values()) + " |" for r in rows]


SCORE_COLUMNS = {"setting": "setting", "epoch": "epoch", "generator": "generator",
                 "score": "score", "n": "n"}  # fmt: skip


def _markdown(summary: dict[str, Any]) -> str:
    lines = ["# Sweep summary", "",
             "Mean over seeds, sample sd and the 95% Student-t interval of the mean.", "",
             *_table(summary["scores"], {**SCORE_COLUMNS, "mean": "mean", "sd": "sd",
                                         "95% CI": "ci95"})]  # fmt: skip
    if summary["comparisons"]:
        lines += ["", "## Against the first setting, paired by seed", "",
                  *_table(summary["comparisons"], {"setting": "setting", "baseline": "baseline",
                          **SCORE_COLUMNS, "mean difference": "mean_difference",
                          "95% CI": "ci95", "verdict": "verdict"})]  # fmt: skip
    if summary["fid_ratios"]:
        columns = {k: v for k, v in SCORE_COLUMNS.items() if k != "score"}
        lines += ["", "## FID of each average over the generator's, paired by seed", "",
                  *_table(summary["fid_ratios"], {**columns, "mean ratio": "mean", "sd": "sd",
                                                  "95% CI": "ci95"})]  # fmt: skip
    lines += ["", "## Runs left out", ""]
    lines += [f"- {f['run']}: {f['state']}" + (f": {f['error']}" if "error" in f else "")
              for f in summary["failed"]] or ["None: every run finished."]  # fmt: skip
    return "\n".join(lines) + "\n"


def _plot(out: Path, summary: dict[str, Any]) -> None:
    from gradgames import plotting

    @plotting.styled
    def draw() -> None:
        fid = [r for r in summary["scores"] if r["score"] == "fid"]
        settings = list(dict.fromkeys(r["setting"] for r in fid))
        fig, ax = plotting.figure(width=6.4, height=3.8)
        for i, setting in enumerate(settings):
            for generator, style in (("generator", "o-"), ("ema", "^--")):
                rows = sorted((r for r in fid if r["setting"] == setting
                               and r["generator"] == generator), key=lambda r: r["epoch"])
                if not rows:
                    continue
                epochs = [r["epoch"] for r in rows]
                label = setting + (" (EMA)" if generator == "ema" else "")
                ax.plot(epochs, [r["mean"] for r in rows], style, color=f"C{i}", label=label)
                bands = [(r["epoch"], *r["ci95"]) for r in rows if r["ci95"]]
                if bands:
                    e, low, high = zip(*bands, strict=True)
                    ax.fill_between(e, low, high, color=f"C{i}", alpha=0.15)
        ax.set_xlabel("epoch")
        ax.set_ylabel("FID (classifier features)")
        ax.set_title("FID over epochs: mean over seeds, 95% t interval")
        ax.legend()
        plotting.save(fig, out / "fid.png")
        fig, ax = plotting.figure(width=6.4, height=3.8)
        for i, setting in enumerate(settings):
            for generator, marker, shift in (("generator", "o", -0.1), ("ema", "^", 0.1)):
                rows = [r for r in fid if r["setting"] == setting and r["generator"] == generator]
                if rows:
                    last = max(rows, key=lambda r: r["epoch"])
                    seeds = _seed_values(out, setting, last["epoch"], generator, last["seeds"])
                    ax.plot([i + shift] * len(seeds), seeds, marker, color=f"C{i}", alpha=0.8)
        ax.set_xticks(range(len(settings)), settings, rotation=20, ha="right")
        ax.set_ylabel("final FID (o generator, ^ EMA)")
        ax.set_title("Final FID of every seed")
        plotting.save(fig, out / "final_fid.png")

    draw()


def _seed_values(out: Path, setting: str, epoch: int, generator: str, seeds: list[int]):
    found = []
    for seed in seeds:
        for e, scores in run_scores(Path(out) / setting / f"seed-{seed}"):
            if e == epoch and "fid" in scores[generator]:
                found.append(scores[generator]["fid"])
    return found
