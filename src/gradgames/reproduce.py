"""``gradgames reproduce``: the whole assignment in one command, and its report.

Part 1 runs the bandit study and the derivative check, Part 2 the analysis of
f = 4x² - 4y², Part 3 the DCGAN training followed by its evaluation (with ``--seeds N`` over N
seeds, through ``gan sweep``). Every part writes its own outputs into a subdirectory of
``--out``; the report (report.md and a self-contained report.html) is built from the JSON those
parts wrote, so its numbers are theirs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gradgames.config import check_fields, check_int, check_seed, from_dict, option, to_dict
from gradgames.device import resolve_device
from gradgames.errors import GradgamesError, Stopped, UsageError
from gradgames.files import atomic_write_text, read_json, write_json
from gradgames.gan.results import Evaluation, TrainResult
from gradgames.report import Report
from gradgames.reproduce_report import build_report, seconds_text, total_seconds
from gradgames.rundir import check_output_dir, claimed_output_dir, resumed_settings

MARKER = "reproduce-config.json"
TIMINGS = "timings.json"  # {part: seconds} of the finished parts, kept across --resume
RESUMABLE = ("device", "progress")  # how a resumed reproduction runs, not what it computes


@dataclass
class ReproduceConfig:
    """Settings of ``gradgames reproduce``."""

    out: Path = option(Path("runs/reproduce"), "directory of the report and the parts' outputs")
    quick: bool = option(
        False, "the same steps at reduced size (200 bandit runs, 2 GAN epochs on 2,048 images)"
    )
    device: str = option("auto", "device of the GAN: auto, cpu or cuda")
    seed: int = option(0, "seed of every part")
    seeds: int = option(
        1, "Part 3 trains seeds seed, seed + 1, ... (through gan sweep); above 1 the report adds "
        "each final score's mean over them with its 95 percent interval"
    )
    data_dir: Path | None = option(None, "directory of the four Fashion-MNIST IDX files")
    download: bool = option(False, "download Fashion-MNIST into the user cache if missing")
    resume: bool = option(
        False, "continue an interrupted reproduction: finished parts are kept, the GAN resumes"
    )
    progress: bool = option(True, "show progress bars")

    def __post_init__(self):
        check_seed("seed", self.seed)
        check_int("seeds", self.seeds, 1)

    def sizes(self) -> dict[str, Any]:
        """The size of each part: the assignment's, or reduced with --quick."""
        if self.quick:
            return dict(bandit_runs=200, bandit_steps=300, gan_epochs=2, gan_subset=2048,
                        gan_snapshots=(1, 2), eval_samples=1000)  # fmt: skip
        return dict(bandit_runs=2000, bandit_steps=1000, gan_epochs=50, gan_subset=None,
                    gan_snapshots=(10, 30, 50), eval_samples=10_000)  # fmt: skip


# A part returns its result, the seconds it already took in earlier sessions (--resume: 0.0
# when it ran whole now, None when an earlier session did not record them), and whether it ran
# now: a part finished earlier and only read back adds no time of this session.
PartResult = tuple[dict[str, Any], float | None, bool]


def part_bandit(config: ReproduceConfig, out: Path, recorded: float | None) -> PartResult:
    """The step-size study in ``out`` and Sutton & Barto's Figures 2.5 and 2.6 in
    ``out/sutton-barto``; the result is the step-size study's JSON with the preset's under
    ``"sutton_barto"``. With --resume, studies already written are read back, one
    stopped before its study.json is redone."""
    from gradgames.bandit import StudyConfig, StudyResult, run_study
    sizes = config.sizes()
    studies, ran = {}, False
    for preset, folder in (("step-size", out), ("sutton-barto", out / "sutton-barto")):
        if config.resume and (folder / "study.json").exists():
            path = folder / "study.json"
            studies[preset] = StudyResult.from_dict(read_json(path), str(path))
            continue
        if config.resume:  # a study stopped before its study.json: its files are redone
            shutil.rmtree(folder, ignore_errors=True)
        study = StudyConfig(preset=preset, runs=sizes["bandit_runs"],
                            steps=sizes["bandit_steps"], seed=config.seed)  # fmt: skip
        studies[preset], ran = run_study(study, folder), True
    result = {**studies["step-size"].to_dict(), "sutton_barto": studies["sutton-barto"].to_dict()}
    return result, (0.0 if ran else recorded), ran


def part_saddle(config: ReproduceConfig, out: Path, recorded: float | None) -> PartResult:
    from gradgames.saddle import assignment_report

    return assignment_report(out).to_dict(), 0.0, True


def part_gan(config: ReproduceConfig, out: Path, recorded: float | None) -> PartResult:
    """The DCGAN in the run directory ``out`` (with ``seeds`` above 1: :func:`part_gan_seeds`),
    its final evaluation and the record of its weights; a finished run is read back."""
    from gradgames.gan import train

    if config.seeds > 1:
        return part_gan_seeds(config, out, recorded)
    resume = config.resume and (out / "config.json").exists()
    kept = _finished_gan(out) if resume else None
    if kept is not None:
        return kept, recorded, False
    summary = train(_train_config(config, out, resume))
    if summary.stopped_by:
        raise Stopped(
            summary.stopped_by, f"training stopped by {summary.stopped_by}: continue with "
            f"gradgames reproduce --out {config.out} --resume"
        )  # fmt: skip
    total = summary.seconds_total  # training of earlier sessions, to their last checkpoint
    before = None if total is None else max(total - summary.seconds, 0.0)
    return _evaluated_gan(config, out, summary), before, True


def part_gan_seeds(config: ReproduceConfig, out: Path, recorded: float | None) -> PartResult:
    """Part 3 over ``config.seeds`` seeds from ``config.seed``: ``gan sweep --out out --seeds
    ...`` with the settings of :func:`part_gan` (``--resume``: ``gan sweep --resume``, its
    finished seeds untouched). The first seed's run, ``out/default/seed-S``, is evaluated and
    recorded as :func:`part_gan` does; the record adds the sweep's summary.json as ``seeds``."""
    from gradgames.gan import sweep

    seeds = range(config.seed, config.seed + config.seeds)
    resume = config.resume and (out / "sweep.json").is_file()
    ran = not resume or any(sweep.run_state(out / "default" / f"seed-{s}")["state"] != "finished"
                            for s in seeds)  # fmt: skip
    parser = argparse.ArgumentParser()
    sweep.register(parser.add_subparsers())
    argv = ["sweep", "--out", str(out), "--resume" if resume else "--seeds=" + ",".join(
        map(str, seeds))]  # fmt: skip
    args = parser.parse_args(argv)
    if not resume:  # gan train's settings, as part_gan's run has them, without a progress bar
        fields = to_dict(replace(_train_config(config, out, False), progress=False))
        vars(args).update({k: v for k, v in fields.items() if k not in sweep.OWNED + ("model",)})
    code = sweep.run_sweep(args)
    if code == 130:
        raise Stopped("SIGINT", "training stopped by SIGINT: continue with gradgames reproduce "
                      f"--out {config.out} --resume")  # fmt: skip
    summary = read_json(out / "summary.json")
    if code:
        failed = summary["failed"][0]
        raise GradgamesError(f"Part 3's run {out / failed['run']} ended {failed['state']}"
                             f"{': ' + failed['error'] if 'error' in failed else ''}; continue "
                             f"with gradgames reproduce --out {config.out} --resume")  # fmt: skip
    first = out / "default" / f"seed-{config.seed}"
    record = _finished_gan(first) or _evaluated_gan(
        config, first, TrainResult.from_dict(read_json(first / "summary.json")))
    before = (None if resume else 0.0) if ran else recorded  # earlier sessions: not recorded
    return {**record, "seeds": summary}, before, ran


def _train_config(config: ReproduceConfig, out: Path, resume: bool):
    from gradgames.gan import TrainConfig

    sizes = config.sizes()
    return TrainConfig(
        out=out, epochs=sizes["gan_epochs"], subset=sizes["gan_subset"],
        snapshot_epochs=sizes["gan_snapshots"], eval_epochs=sizes["gan_snapshots"],
        eval_samples=sizes["eval_samples"], device=config.device, seed=config.seed,
        data_dir=config.data_dir, download=config.download, resume=resume,
        progress=config.progress,
    )  # fmt: skip


def _finished_gan(out: Path) -> dict[str, Any] | None:
    """The record of a run that finished with its evaluation and weights (else None)."""
    from gradgames.gan.artifacts import read_evaluations
    from gradgames.gan.release import RECORD

    if not all((out / name).exists() for name in ("summary.json", "evaluation.json", RECORD)):
        return None
    summary = TrainResult.from_dict(read_json(out / "summary.json"), str(out / "summary.json"))
    if summary.stopped_by is not None:
        return None
    return gan_record(summary, read_evaluations(out), read_json(out / RECORD))


def _evaluated_gan(config: ReproduceConfig, out: Path, summary: TrainResult) -> dict[str, Any]:
    """The record of a run that has just finished: its last evaluation (its last epoch is an
    evaluation epoch) in evaluation.json, and its weights.json."""
    from gradgames.gan import real_reference
    from gradgames.gan.artifacts import read_evaluations
    from gradgames.gan.release import write_record

    evaluations = read_evaluations(out)
    write_json(out / "evaluation.json", evaluations[-1].to_dict())
    device = resolve_device(config.device)
    weights = write_record(out, device, real_reference(device, config.data_dir, config.download))
    return gan_record(summary, evaluations, weights)


def gan_record(summary: TrainResult, evaluations: list[Evaluation],
               weights: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Part 3's entry of reproduce.json: ``{"training": summary.json, "evaluation": the
    final scores (the last evaluation epoch's), "evaluations": those of every evaluation epoch,
    "weights": weights.json}`` (each evaluation with the EMA generator's under ``"ema"``), and
    with several seeds ``"seeds"``: ``gan sweep``'s summary.json."""
    return {"training": summary.to_dict(), "evaluation": evaluations[-1].to_dict(),
            "evaluations": [e.to_dict() for e in evaluations], "weights": weights}


PARTS = (  # (name, title, subdirectory, function)
    ("bandit", "Part 1: softmax policy gradient on a bandit", "part1-bandit", part_bandit),
    ("saddle", "Part 2: descent-ascent on f = 4x² - 4y²", "part2-saddle", part_saddle),
    ("gan", "Part 3: the DCGAN on Fashion-MNIST", "part3-gan", part_gan),
)


def resumed_config(config: ReproduceConfig, given: Iterable[str] = RESUMABLE) -> ReproduceConfig:
    """With ``resume``: the reproduction's saved settings, except those in :data:`RESUMABLE`.

    A resumed reproduction finishes the one it continues (its size, seed and data); a field in
    ``given`` (the flags the user set) that contradicts them is refused
    (:func:`~gradgames.rundir.resumed_settings`).
    """
    check_output_dir(config.out, resume=True, marker=MARKER)
    saved = read_json(Path(config.out) / MARKER)
    if not isinstance(saved, dict):
        raise UsageError(f"{config.out}/{MARKER} is damaged: the reproduction cannot be resumed")
    settings = resumed_settings(saved, to_dict(config), given, RESUMABLE)
    return from_dict(ReproduceConfig, {**settings, "resume": True}, str(Path(config.out) / MARKER))


def preflight(config: ReproduceConfig) -> None:
    """Checks the device and reads the data before any part runs (nothing is written).

    Raises:
        UsageError: an unknown or missing device, or Fashion-MNIST missing or damaged.
    """
    from gradgames.gan.data import load_fashion_mnist  # cached: Part 3 reads them again free

    resolve_device(config.device)
    for split in ("train", "test"):
        load_fashion_mnist(split, config.data_dir, config.download)


def reproduce(config: ReproduceConfig) -> dict[str, Any]:
    """Runs the three parts in order and writes report.md, report.html and reproduce.json.

    Every setting, the device and the data are checked before the first part runs. The output
    directory is locked for the reproduction's life (a second one there is refused). With
    ``resume`` the saved settings of the reproduction in ``out`` apply (:func:`resumed_config`).

    Returns:
        ``{"config", "quick", "parts": {name: result}, "seconds": {name: s}, "report": paths}``.
    """
    if config.resume:
        config = resumed_config(config)
    check_output_dir(config.out, resume=config.resume, marker=MARKER)
    preflight(config)
    with claimed_output_dir(config.out, resume=config.resume, marker=MARKER) as out:
        return _reproduce(config, out)


def _reproduce(config: ReproduceConfig, out: Path) -> dict[str, Any]:
    if not config.resume:
        write_json(out / MARKER, to_dict(config))
    recorded = read_timings(out) if config.resume else {}
    results: dict[str, Any] = {}
    seconds: dict[str, float | None] = {}
    for index, (name, title, subdir, run_part) in enumerate(PARTS, start=1):
        print(f"[{index}/{len(PARTS)}] {title} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        (out / subdir).mkdir(exist_ok=True)
        results[name], before, ran = run_part(config, out / subdir, recorded.get(name))
        now = time.perf_counter() - start
        if ran:
            seconds[name] = None if before is None else round(before + now, 1)
            took = f" ({seconds_text(seconds[name])} with earlier sessions)" if before else ""
            done = f"done in {now:.1f} s{took}"
        else:
            seconds[name] = before
            done = f"kept from an earlier session ({seconds_text(before)})"
        write_json(out / TIMINGS, seconds)
        print(f"[{index}/{len(PARTS)}] {done}", file=sys.stderr, flush=True)
    record = {"config": to_dict(config), "quick": config.quick, "sizes": config.sizes(),
              "seconds": seconds, "parts": results}  # fmt: skip
    write_json(out / "reproduce.json", record)  # kept even if the report fails: --resume rebuilds
    report: Report = build_report(record, out)
    missing = [f for f in report.figures() if not (out / f).is_file()]
    if missing:
        raise UsageError(f"the report refers to missing figures: {', '.join(missing)}")
    atomic_write_text(out / "report.md", report.markdown())
    atomic_write_text(out / "report.html", report.html(out))
    record["report"] = {"markdown": str(out / "report.md"), "html": str(out / "report.html")}
    write_json(out / "reproduce.json", record)
    return record


def register(parser) -> None:
    """``gradgames reproduce [flags]`` (the flags mirror ReproduceConfig)."""
    from gradgames.config import add_arguments

    add_arguments(parser, ReproduceConfig)
    parser.set_defaults(func=run_command)


def run_command(args) -> int:
    from gradgames.config import from_namespace, given_fields
    from gradgames.gan.accel import tune_allocator

    config = from_namespace(ReproduceConfig, args)
    if config.resume:
        config = resumed_config(config, given_fields(ReproduceConfig, args))
    tune_allocator()  # the GAN's step reuses its freed memory (process-wide: the CLI's call)
    record = reproduce(config)
    total = seconds_text(total_seconds(record["seconds"]))
    print(f"reproduced in {total}; report: {record['report']['html']} "
          f"and {record['report']['markdown']}")  # fmt: skip
    return 0


@dataclass(frozen=True)
class Timings:
    """timings.json: the seconds each finished part took over all sessions (None: unknown)."""

    bandit: float | None = option(None, "Part 1", low=0.0)
    saddle: float | None = option(None, "Part 2", low=0.0)
    gan: float | None = option(None, "Part 3", low=0.0)

    def __post_init__(self) -> None:
        check_fields(self)


def read_timings(out: Path) -> dict[str, float | None]:
    """The seconds of each part an earlier session finished, checked ({} if none yet)."""
    path = out / TIMINGS
    if not path.is_file():
        return {}
    data = read_json(path)
    timings = from_dict(Timings, data, str(path))  # unknown parts refused
    return {part: getattr(timings, part) for part in data}
