"""Typed results built from the pieces: the analysis of a game, run summaries and comparisons.

What crosses a module boundary is one of these frozen records; ``to_dict()`` gives the JSON
the command line prints and writes (strict: every number finite or null), ``from_dict`` reads
it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from gradgames.config import check_range
from gradgames.files import finite_or_none, write_json
from gradgames.saddle.config import LR_RATIO_RANGE, METHODS, Hyperparameters
from gradgames.saddle.dynamics import RunResult, observed_rate, run
from gradgames.saddle.game import Game, StationaryPoint
from gradgames.saddle.linear import spectral_radius
from gradgames.saddle.stability import Stability, gd_growth, stability_table


@dataclass(frozen=True)
class PointAnalysis:
    """One stationary point, its type and the stable step sizes of every dynamic there.

    Attributes:
        x, y: the coordinates.
        kind: its type (:data:`~gradgames.saddle.config.KINDS`).
        value: f at the point.
        hessian_x, hessian_y: the eigenvalues of the blocks Hxx and Hyy.
        stability: per dynamic, its :class:`~gradgames.saddle.stability.Stability`.
        gd_growth: ``(c, direction)`` for each direction gd expands by ``1 + c eta`` a step.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]
    kind: str
    value: float | None
    hessian_x: tuple[float, ...] = ()
    hessian_y: tuple[float, ...] = ()
    stability: dict[str, Stability] = field(default_factory=dict)
    gd_growth: tuple[tuple[float, tuple[float, ...]], ...] = ()

    @classmethod
    def of(cls, point: StationaryPoint, *, lr_ratio: float, hyper: Hyperparameters):
        n = len(point.x)
        return cls(
            tuple(point.x.tolist()), tuple(point.y.tolist()), point.kind,
            finite_or_none(point.value), tuple(np.linalg.eigvalsh(point.hessian[:n, :n]).tolist()),
            tuple(np.linalg.eigvalsh(point.hessian[n:, n:]).tolist()),
            stability_table(point, lr_ratio=lr_ratio, hyper=hyper),
            tuple((c, tuple(v.tolist())) for c, v in gd_growth(point.hessian)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "x": list(self.x), "y": list(self.y), "type": self.kind, "value": self.value,
            "stability": {m: s.to_dict() for m, s in self.stability.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], lr_ratio: float = 1.0) -> PointAnalysis:
        table = {m: Stability.from_dict(m, s, lr_ratio) for m, s in data["stability"].items()}
        return cls(
            tuple(data["x"]), tuple(data["y"]), data["type"], data.get("value"), stability=table
        )


@dataclass(frozen=True)
class Analysis:
    """What ``gradgames saddle analyze`` reports: the stationary points of f with their types
    and, per dynamic, the stable step sizes eta_x (eta_y = ``lr_ratio`` eta_x).

    Attributes:
        f: the objective's name.
        x_dim, y_dim: n and m.
        quadratic: whether f is quadratic (points solved exactly, not searched).
        box: the search box of a non-quadratic f.
        lr_ratio: R.
        points: the stationary points, nearest the origin first.
    """

    f: str
    x_dim: int
    y_dim: int
    quadratic: bool
    box: float
    lr_ratio: float
    points: tuple[PointAnalysis, ...]

    def to_dict(self) -> dict[str, Any]:
        """``{"stationary_points": [{"x", "y", "type", "value", "stability": {method:
        {"intervals", "best_lr", "best_rate", "hyperparameters"}}}], "f", "lr_ratio", ...}``."""
        return {
            "stationary_points": [p.to_dict() for p in self.points], "f": self.f,
            "x_dim": self.x_dim, "y_dim": self.y_dim, "quadratic": self.quadratic, "box": self.box,
            "lr_ratio": self.lr_ratio,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        ratio = data.get("lr_ratio", 1.0)
        points = tuple(PointAnalysis.from_dict(p, ratio) for p in data["stationary_points"])
        return cls(
            data.get("f", ""), data.get("x_dim", 1), data.get("y_dim", 1),
            data.get("quadratic", True), data.get("box", 3.0), ratio, points,
        )


def analyze(
    game: Game, *, box: float = 3.0, lr_ratio: float = 1.0, hyper: Hyperparameters | None = None,
) -> Analysis:
    """The stationary points of ``game``, their type and every dynamic's stable step sizes.

    Raises:
        ConfigError: ``box`` or ``lr_ratio`` it cannot take, naming it.
    """
    check_range("lr_ratio", lr_ratio, *LR_RATIO_RANGE)
    hyper = hyper or Hyperparameters()
    points = game.stationary_points(box=box)
    return Analysis(
        game.name, game.x_dim, game.y_dim, game.quadratic, box, lr_ratio,
        tuple(PointAnalysis.of(p, lr_ratio=lr_ratio, hyper=hyper) for p in points),
    )


@dataclass(frozen=True)
class RunSummary:
    """One run as reported: :meth:`RunResult.to_dict`'s fields, the start, the observed rate
    and the spectral radius of the linearised update at the target (the predicted rate)."""

    method: str
    lr: float
    lr_y: float
    lr_ratio: float
    hyperparameters: dict[str, Any]
    status: str
    steps: int
    diverged_at: int | None
    x: list[float]
    y: list[float]
    target: dict[str, list[float]] | None
    distance: float | None
    trajectory_start: dict[str, list[float]]
    observed_rate: float | None
    predicted_rate: float | None

    @classmethod
    def of(cls, game: Game, result: RunResult, hyper: Hyperparameters | None = None):
        predicted = None
        if result.target is not None:
            x, y = result.target[: game.x_dim], result.target[game.x_dim :]
            predicted = spectral_radius(
                result.method, game.hessian(x, y), game.x_dim, result.lr, lr_ratio=result.lr_ratio,
                hyper=hyper,
            )
        start = {
            "x": result.trajectory[0, : game.x_dim].tolist(),
            "y": result.trajectory[0, game.x_dim :].tolist(),
        }
        return cls(
            **result.to_dict(), trajectory_start=start,
            observed_rate=finite_or_none(observed_rate(result)),
            predicted_rate=finite_or_none(predicted),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        values: dict[str, Any] = {"lr_y": data["lr"], "lr_ratio": 1.0, "hyperparameters": {}}
        values.update({k: data[k] for k in cls.__dataclass_fields__ if k in data})
        return cls(**values)


@dataclass(frozen=True)
class Comparison:
    """Every dynamic run with the same step sizes from the same start.

    Attributes:
        f: the objective's name.
        lr, lr_ratio: eta_x and R.
        runs: per dynamic, its :class:`RunSummary`.
        results: the runs themselves (for figures; not in the JSON).
        figure: the path of compare.png once drawn.
    """

    f: str
    lr: float
    lr_ratio: float
    runs: dict[str, RunSummary]
    results: tuple[RunResult, ...] = ()
    figure: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "f": self.f, "lr": self.lr, "lr_ratio": self.lr_ratio,
            "runs": {m: s.to_dict() for m, s in self.runs.items()}, "figure": self.figure,
        }


def compare_dynamics(
    game: Game, lr: float, steps: int, x0, y0, *, lr_ratio: float = 1.0,
    hyper: Hyperparameters | None = None, methods: tuple[str, ...] = METHODS, **kwargs,
) -> Comparison:
    """Runs every dynamic with the same step sizes from the same start (kwargs go to run)."""
    results = tuple(
        run(game, m, lr, steps, x0, y0, lr_ratio=lr_ratio, hyper=hyper, **kwargs) for m in methods
    )
    runs = {r.method: RunSummary.of(game, r, hyper) for r in results}
    return Comparison(game.name, float(lr), float(lr_ratio), runs, results)


def write_comparison(game: Game, comparison: Comparison, out_dir: Path) -> Comparison:
    """Writes ``compare.png`` (every trajectory and the distance to the saddle per step) and
    ``compare.json`` (:meth:`Comparison.to_dict`) into ``out_dir``; returns the comparison
    with its figure's path."""
    from gradgames.saddle.plots import plot_compare

    out_dir = Path(out_dir)
    figure = plot_compare(game, comparison.results, out_dir / "compare.png")
    comparison = replace(comparison, figure=str(figure))
    write_json(out_dir / "compare.json", comparison.to_dict())
    return comparison
