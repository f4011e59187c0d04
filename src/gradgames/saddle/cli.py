"""``gradgames saddle ...``: analyze, run and compare.

Each command parses its flags into a config dataclass, validates every argument (and the
expression) before any work, calls the library and prints. Bad input is one line and exit
status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gradgames.cli import subcommands
from gradgames.config import add_arguments, from_namespace, option, require_positive, to_dict
from gradgames.errors import UsageError
from gradgames.runs import ensure_parent_writable, prepare_output_dir, write_json
from gradgames.saddle.dynamics import run
from gradgames.saddle.game import Game
from gradgames.saddle.plots import plot_run
from gradgames.saddle.report import (
    ASSIGNMENT_F,
    analyze,
    compare_dynamics,
    describe,
    describe_comparison,
    describe_run,
    run_summary,
    write_comparison,
)

MAX_STEPS = 1_000_000
F_HELP = (
    "the objective f(x, y), minimised over x and maximised over y: numbers, x, y (or x1..xn, "
    "y1..ym), + - * / **, parentheses, sin cos tan exp log sqrt tanh abs; quote it"
)
START_HELP = "start of {p}: one number for every coordinate or a comma list (--{p}0=-1,2)"
Method = Literal["gda", "alt-gda", "gd", "ogda", "eg"]


@dataclass
class AnalyzeConfig:
    """``gradgames saddle analyze``."""

    f: str = option(ASSIGNMENT_F, F_HELP, metavar="EXPR")
    box: float = option(3.0, "search stationary points of a non-quadratic f in [-box, box]^N")
    json: bool = option(False, "print one JSON object instead of text")


@dataclass
class RunConfig:
    """``gradgames saddle run``."""

    f: str = option(ASSIGNMENT_F, F_HELP, metavar="EXPR")
    method: Method = option("gda", "the dynamic")
    lr: float = option(0.1, "the step size eta")
    steps: int = option(200, "the most steps to take")
    x0: tuple[float, ...] = option((1.0,), START_HELP.format(p="x"), metavar="X")
    y0: tuple[float, ...] = option((1.0,), START_HELP.format(p="y"), metavar="Y")
    tol: float = option(1e-8, "stop as converged within tol * max(1, |z*|) of the saddle")
    bound: float = option(1e6, "stop as diverged once |(x, y)| exceeds this")
    json: bool = option(False, "print one JSON object, with the trajectory")
    plot: Path | None = option(None, "draw contours, field and trajectory into this PNG")


@dataclass
class CompareConfig:
    """``gradgames saddle compare``."""

    f: str = option(ASSIGNMENT_F, F_HELP, metavar="EXPR")
    lr: float = option(0.1, "the step size eta of every dynamic")
    steps: int = option(200, "the most steps per dynamic")
    x0: tuple[float, ...] = option((1.0,), START_HELP.format(p="x"), metavar="X")
    y0: tuple[float, ...] = option((1.0,), START_HELP.format(p="y"), metavar="Y")
    tol: float = option(1e-8, "stop as converged within tol * max(1, |z*|) of the saddle")
    bound: float = option(1e6, "stop as diverged once |(x, y)| exceeds this")
    out: Path | None = option(None, "the directory for compare.png, compare.json, config.json")


def register(parser: argparse.ArgumentParser) -> None:
    commands = subcommands(parser)
    specs = [
        (
            "analyze",
            AnalyzeConfig,
            run_analyze,
            "stationary points, their type and the stable step sizes of every dynamic",
        ),
        ("run", RunConfig, run_run, "run one dynamic from a start and report how it ends"),
        (
            "compare",
            CompareConfig,
            run_compare,
            "run every dynamic from the same start; plot trajectories and distances",
        ),
    ]
    for name, config, func, help_text in specs:
        p = commands.add_parser(name, help=help_text, description=help_text)
        add_arguments(p, config)
        p.set_defaults(func=func)


def _start(name: str, values: tuple[float, ...], dim: int) -> list[float]:
    """A start vector of length ``dim`` from one number (repeated) or ``dim`` numbers."""
    if not values or not all(math.isfinite(v) for v in values):
        raise UsageError(f"--{name} needs finite numbers; got {','.join(map(str, values))}")
    if len(values) == 1:
        return list(values) * dim
    if len(values) != dim:
        what = f"{dim} {name[0]}-coordinates: give one number or {dim}"
        if dim == 1:
            what = f"one {name[0]}-coordinate: give one number"
        raise UsageError(f"--{name} has {len(values)} numbers but f has {what}")
    return list(values)


def _check_run(config: RunConfig | CompareConfig) -> Game:
    """Validates the shared run settings and parses f; returns the game."""
    require_positive("--lr", config.lr)
    if not 1 <= config.steps <= MAX_STEPS:
        raise UsageError(f"--steps must be between 1 and {MAX_STEPS}; got {config.steps}")
    if not (math.isfinite(config.tol) and config.tol >= 0):
        raise UsageError(f"--tol must be a finite number >= 0; got {config.tol}")
    require_positive("--bound", config.bound)
    return Game.from_expression(config.f)


def _check_writable(path: Path) -> None:
    """Refuses an output file whose directory cannot take a new file (tried, not guessed)."""
    ensure_parent_writable(path)
    try:
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write into {path.parent}: {exc.strerror}") from None


def run_analyze(args: argparse.Namespace) -> int:
    config = from_namespace(AnalyzeConfig, args)
    require_positive("--box", config.box)
    game = Game.from_expression(config.f)
    if config.json:
        print(json.dumps(analyze(game, box=config.box), indent=2))
    else:
        print(describe(game, box=config.box))
    return 0


def run_run(args: argparse.Namespace) -> int:
    config = from_namespace(RunConfig, args)
    game = _check_run(config)
    x0 = _start("x0", config.x0, game.x_dim)
    y0 = _start("y0", config.y0, game.y_dim)
    if config.plot is not None:
        _check_writable(config.plot)
    result = run(
        game, config.method, config.lr, config.steps, x0, y0, tol=config.tol, bound=config.bound
    )
    if config.plot is not None:
        plot_run(game, result, config.plot)
    if config.json:
        report = {"f": game.name, **run_summary(game, result)}
        report["trajectory"] = result.to_dict(trajectory=True)["trajectory"]
        report["plot"] = None if config.plot is None else str(config.plot)
        print(json.dumps(report, indent=2))
        return 0
    print(describe_run(game, result))
    if config.plot is not None:
        print(f"wrote {config.plot}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    config = from_namespace(CompareConfig, args)
    if config.out is None:
        raise UsageError("compare needs --out DIR, the directory for its figure and JSON")
    game = _check_run(config)
    x0 = _start("x0", config.x0, game.x_dim)
    y0 = _start("y0", config.y0, game.y_dim)
    if (config.out / "compare.json").exists():
        raise UsageError(f"{config.out} already holds a comparison: choose another --out")
    out = prepare_output_dir(config.out, marker="compare.json")
    write_json(out / "config.json", to_dict(config))
    results = compare_dynamics(
        game, config.lr, config.steps, x0, y0, tol=config.tol, bound=config.bound
    )
    report = write_comparison(game, results, out)
    print(describe_comparison(report))
    print(f"wrote {report['figure']} and {out / 'compare.json'}")
    return 0
