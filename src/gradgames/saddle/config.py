"""The names and settings of Part 2, free of torch: the dynamics, the point types, the papers'
hyper-parameters and the config dataclasses the ``gradgames saddle`` flags are generated from.

Every config checks itself in ``__post_init__`` and raises
:class:`~gradgames.errors.ConfigError` naming the field; the command line names the flag.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gradgames.config import (
    check_bool,
    check_choice,
    check_int,
    check_numbers,
    check_positive,
    check_range,
    option,
    shown,
)
from gradgames.errors import ConfigError

Method = Literal["gda", "alt-gda", "gd", "ogda", "eg", "nm-gda", "co", "sga", "hgd"]
METHODS: tuple[str, ...] = typing.get_args(Method)
Kind = Literal["saddle", "min", "max", "other-saddle", "degenerate"]
KINDS: tuple[str, ...] = typing.get_args(Kind)

ASSIGNMENT_F = "4*x**2 - 4*y**2"
DIRAC_GAN_F = "-log(1 + exp(-x*y))"  # log sigmoid(psi theta): theta = x, psi = y
MAX_STEPS = 1_000_000
MAX_BOX = 1e6  # beyond, Newton's starts sit where float64 loses f's structure
MAX_RESOLUTION = 801
ETA_RANGE = (1e-100, 1e100)  # the step sizes a map can draw on log axes
LR_RATIO_RANGE = (1e-6, 1e6)  # eta_y / eta_x: beyond, one player stands still
SGA_ALIGN_EPSILON = 0.1  # Balduzzi et al. (2018), Algorithm 1

F_HELP = (
    "the objective f(x, y), minimised over x and maximised over y: numbers, x, y (or x1..xn, "
    "y1..ym), + - * / **, parentheses, sin cos tan exp log sqrt tanh abs; quote it"
)
START_HELP = "start of {p}: one number for every coordinate or a comma list (--{p}0=-1,2)"


@dataclass(frozen=True)
class Hyperparameters:
    """The hyper-parameters of the dynamics that have them, at the papers' defaults.

    Attributes:
        momentum: beta of ``nm-gda``, in (-1, 1); -0.5 is the negative momentum of Gidel et al.
            (2019), used in their bilinear and GAN experiments.
        co_gamma: gamma >= 0 of consensus optimisation; 10 as in Mescheder, Nowozin and Geiger
            (2017)'s experiments.
        sga_lambda: lambda of symplectic gradient adjustment; 1 as in Balduzzi et al. (2018).
        sga_align: whether sga chooses the sign of lambda by the paper's alignment rule
            (Balduzzi et al. 2018, Algorithm 1, with epsilon = 1/10).
    """

    momentum: float = -0.5
    co_gamma: float = 10.0
    sga_lambda: float = 1.0
    sga_align: bool = False

    def __post_init__(self):
        check_range("momentum", self.momentum, -1.0, 1.0, low_open=True, high_open=True)
        check_range("co_gamma", self.co_gamma, 0.0, 1e6)
        check_range("sga_lambda", self.sga_lambda, -1e6, 1e6)
        check_bool("sga_align", self.sga_align)

    def of(self, method: str) -> dict[str, Any]:
        """The hyper-parameters ``method`` uses, by name (``{}`` for those without)."""
        if method == "nm-gda":
            return {"momentum": self.momentum}
        if method == "co":
            return {"co_gamma": self.co_gamma}
        if method == "sga":
            out: dict[str, Any] = {"sga_lambda": self.sga_lambda, "sga_align": self.sga_align}
            if self.sga_align:
                out["sga_align_epsilon"] = SGA_ALIGN_EPSILON
            return out
        return {}


def check_lr(lr: Any, lr_ratio: Any) -> None:
    """``lr`` (eta_x) and ``lr_ratio`` (eta_y / eta_x) are positive and eta_y is too."""
    check_positive("lr", lr)
    check_range("lr_ratio", lr_ratio, *LR_RATIO_RANGE)
    eta_y = lr * lr_ratio
    if not (math.isfinite(eta_y) and eta_y > 0):
        raise ConfigError("lr_ratio", f"gives eta_y = lr * lr_ratio = {eta_y!r}; keep it finite")


@dataclass
class DynamicsOptions:
    """What every command shares: f, the step-size ratio and the dynamics' hyper-parameters."""

    f: str = option(ASSIGNMENT_F, F_HELP, metavar="EXPR")
    lr_ratio: float = option(
        1.0, "eta_y / eta_x, 1e-6 to 1e6: the maximising player's step is R times eta_x"
    )
    momentum: float = option(-0.5, "beta of nm-gda, in (-1, 1) (Gidel et al. 2019)")
    co_gamma: float = option(10.0, "gamma of co (Mescheder, Nowozin and Geiger 2017)")
    sga_lambda: float = option(1.0, "lambda of sga (Balduzzi et al. 2018)")
    sga_align: bool = option(False, "sga picks the sign of lambda by the paper's alignment rule")

    def __post_init__(self):
        if not isinstance(self.f, str):
            raise ConfigError("f", f"must be an expression string; got {shown(self.f)}")
        check_range("lr_ratio", self.lr_ratio, *LR_RATIO_RANGE)
        self.hyperparameters()

    def hyperparameters(self) -> Hyperparameters:
        return Hyperparameters(self.momentum, self.co_gamma, self.sga_lambda, self.sga_align)


@dataclass
class AnalyzeConfig(DynamicsOptions):
    """``gradgames saddle analyze``."""

    box: float = option(
        3.0,
        f"search stationary points of a non-quadratic f in [-box, box]^N, box in (0, {MAX_BOX:g}]",
    )
    json: bool = option(False, "print one JSON object instead of text")

    def __post_init__(self):
        super().__post_init__()
        check_range("box", self.box, 0.0, MAX_BOX, low_open=True)


@dataclass
class _RunOptions(DynamicsOptions):
    lr: float = option(0.1, "the step size eta_x of the minimising player")
    steps: int = option(200, "the most steps to take")
    x0: tuple[float, ...] = option((1.0,), START_HELP.format(p="x"), metavar="X")
    y0: tuple[float, ...] = option((1.0,), START_HELP.format(p="y"), metavar="Y")
    tol: float = option(1e-8, "stop as converged within tol * max(1, |z*|) of the saddle")
    bound: float = option(1e6, "stop as diverged once |(x, y)| exceeds this")

    def __post_init__(self):
        super().__post_init__()
        check_lr(self.lr, self.lr_ratio)
        check_int("steps", self.steps, 1, MAX_STEPS)
        check_numbers("x0", self.x0)
        check_numbers("y0", self.y0)
        check_range("tol", self.tol, 0.0, 1.0)
        check_positive("bound", self.bound)


@dataclass
class RunConfig(_RunOptions):
    """``gradgames saddle run``."""

    method: Method = option("gda", "the dynamic")
    json: bool = option(False, "print one JSON object, with the trajectory")
    plot: Path | None = option(None, "draw contours, field and trajectory into this PNG")

    def __post_init__(self):
        super().__post_init__()
        check_choice("method", self.method, Method)


@dataclass
class CompareConfig(_RunOptions):
    """``gradgames saddle compare``."""

    out: Path | None = option(None, "the directory for compare.png, compare.json, config.json")


@dataclass
class MapConfig(DynamicsOptions):
    """``gradgames saddle map``."""

    method: Method = option("gda", "the dynamic")
    out: Path | None = option(None, "the PNG to draw; FILE.csv and FILE.json are written beside it")
    point: int = option(1, "which stationary point (1 = nearest the origin; saddles first)")
    resolution: int = option(121, f"grid points per axis, 2 to {MAX_RESOLUTION}")
    eta_min: float | None = option(
        None, "the smallest step size on both axes, 1e-100 to 1e100 (default: from H)"
    )
    eta_max: float | None = option(None, "the largest step size on both axes (default: from H)")
    box: float = option(3.0, "search stationary points of a non-quadratic f in [-box, box]^N")
    json: bool = option(False, "print the map's summary as one JSON object")

    def __post_init__(self):
        super().__post_init__()
        check_choice("method", self.method, Method)
        check_int("point", self.point, 1)
        check_int("resolution", self.resolution, 2, MAX_RESOLUTION)
        check_range("box", self.box, 0.0, MAX_BOX, low_open=True)
        for name in ("eta_min", "eta_max"):
            if getattr(self, name) is not None:
                check_range(name, getattr(self, name), *ETA_RANGE)
        low, high = self.eta_min, self.eta_max
        if low is not None and high is not None and low >= high:
            raise ConfigError("eta_max", f"must exceed eta_min {low!r}; got {high!r}")
