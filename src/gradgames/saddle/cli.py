"""``gradgames saddle ...``: analyze, run, compare and map.

Each command parses its flags into a config dataclass of :mod:`gradgames.saddle.config` (which
checks itself), parses f and checks every output path before any work, calls the library and
prints. Bad input is one line and exit status 2, with nothing written. The library (torch,
matplotlib) is imported inside the commands, so ``gradgames saddle --help`` loads neither.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gradgames.config import add_arguments, from_namespace, subcommands, to_dict
from gradgames.errors import ConfigError, UsageError
from gradgames.files import atomic_write_text, to_json, write_json
from gradgames.rundir import check_output_dir, check_output_file, claimed_output_dir
from gradgames.saddle.config import AnalyzeConfig, CompareConfig, MapConfig, RunConfig

COMMANDS = (
    ("analyze", AnalyzeConfig, "stationary points, their type and the stable step sizes of "
     "every dynamic"),
    ("run", RunConfig, "run one dynamic from a start and report how it ends"),
    ("compare", CompareConfig, "run every dynamic from the same start; plot trajectories and "
     "distances"),
    ("map", MapConfig, "the exact stability region of one dynamic over the (eta_x, eta_y) "
     "plane: PNG, CSV, JSON"),
)  # fmt: skip


def register(parser: argparse.ArgumentParser) -> None:
    commands = subcommands(parser)
    functions = {"analyze": run_analyze, "run": run_run, "compare": run_compare, "map": run_map}
    for name, config, help_text in COMMANDS:
        p = commands.add_parser(name, help=help_text, description=help_text)
        add_arguments(p, config)
        p.set_defaults(func=functions[name])


def run_analyze(args: argparse.Namespace) -> int:
    from gradgames.saddle.analysis import analyze
    from gradgames.saddle.game import Game
    from gradgames.saddle.text import describe

    config = from_namespace(AnalyzeConfig, args)
    game = Game.from_expression(config.f)
    analysis = analyze(game, box=config.box, lr_ratio=config.lr_ratio,
                       hyper=config.hyperparameters())  # fmt: skip
    print(to_json(analysis.to_dict()) if config.json else describe(analysis))
    return 0


def run_run(args: argparse.Namespace) -> int:
    from gradgames.saddle.analysis import RunSummary
    from gradgames.saddle.dynamics import run
    from gradgames.saddle.game import Game
    from gradgames.saddle.plots import plot_run
    from gradgames.saddle.text import describe_run

    config = from_namespace(RunConfig, args)
    if config.plot is not None:
        check_output_file(config.plot, ".png")
    game = Game.from_expression(config.f)
    hyper = config.hyperparameters()
    result = run(game, config.method, config.lr, config.steps, config.x0, config.y0,
                 tol=config.tol, bound=config.bound, lr_ratio=config.lr_ratio, hyper=hyper)
    summary = RunSummary.of(game, result, hyper)
    if config.plot is not None:
        plot_run(game, result, config.plot)
    if config.json:
        report = {"f": game.name, **summary.to_dict()}
        report["trajectory"] = result.to_dict(trajectory=True)["trajectory"]
        report["plot"] = None if config.plot is None else str(config.plot)
        print(to_json(report))
        return 0
    print(describe_run(game.name, summary))
    if config.plot is not None:
        print(f"wrote {config.plot}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from gradgames.saddle.analysis import compare_dynamics, write_comparison
    from gradgames.saddle.game import Game
    from gradgames.saddle.text import describe_comparison

    config = from_namespace(CompareConfig, args)
    if config.out is None:
        raise UsageError("compare needs --out DIR, the directory for its figure and JSON")
    if (config.out / "compare.json").exists():
        raise UsageError(f"{config.out} already holds a comparison: choose another --out")
    check_output_dir(config.out, marker="compare.json")
    game = Game.from_expression(config.f)
    comparison = compare_dynamics(
        game, config.lr, config.steps, config.x0, config.y0, tol=config.tol,
        bound=config.bound, lr_ratio=config.lr_ratio, hyper=config.hyperparameters(),
    )  # fmt: skip
    with claimed_output_dir(config.out, marker="compare.json") as out:
        write_json(out / "config.json", to_dict(config))
        comparison = write_comparison(game, comparison, out)
    print(describe_comparison(comparison))
    print(f"wrote {comparison.figure} and {out / 'compare.json'}")
    return 0


def map_paths(png: Path) -> dict[str, Path]:
    """The three files ``map --out FILE.png`` writes: the figure, FILE.csv and FILE.json."""
    return {"png": png, "csv": png.with_suffix(".csv"), "json": png.with_suffix(".json")}


def run_map(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from gradgames.saddle.game import Game
    from gradgames.saddle.plots import plot_stability_map
    from gradgames.saddle.stabmap import stability_map
    from gradgames.saddle.text import describe_map

    config = from_namespace(MapConfig, args)
    if config.out is None:
        raise UsageError("map needs --out FILE.png, the figure (FILE.csv and FILE.json beside it)")
    if config.out.suffix.lower() != ".png":
        raise ConfigError("out", f"must name a .png file; got {str(config.out)!r}")
    paths = map_paths(config.out)
    check_output_file(paths["png"], ".png", sidecars=(paths["csv"], paths["json"]))
    game = Game.from_expression(config.f)
    point = _chosen_point(game, config.point, config.box)
    result = stability_map(
        config.method, point.hessian, game.x_dim, eta_min=config.eta_min,
        eta_max=config.eta_max, resolution=config.resolution, hyper=config.hyperparameters(),
        lr_ratio=config.lr_ratio, point=(tuple(point.x), tuple(point.y), point.kind),
    )  # fmt: skip
    result = replace(result, files={k: str(v) for k, v in paths.items()})
    plot_stability_map(result, paths["png"], title=f"f = {game.name}: {config.method}")
    atomic_write_text(paths["csv"], result.csv())
    write_json(paths["json"], {"f": game.name, **result.grid_dict()})
    print(to_json({"f": game.name, **result.to_dict()}) if config.json
          else describe_map(game.name, result))  # fmt: skip
    return 0


def _chosen_point(game, index: int, box: float):
    """The ``index``-th stationary point (1-based), saddles of the game first."""
    points = game.saddles_first(box=box)
    if not points:
        raise UsageError(f"f has no stationary point in [-{box:g}, {box:g}]^N: nothing to map")
    if index > len(points):
        raise ConfigError(
            "point", f"must be at most {len(points)}: f has {len(points)} stationary points"
        )
    return points[index - 1]
