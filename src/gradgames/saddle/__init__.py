"""Part 2: minimax optimisation ``min_x max_y f(x, y)`` and the dynamics that play it.

* :mod:`.expr`: a safe expression language for f (no eval, bounded size).
* :mod:`.game`: the game, its derivatives by autograd, stationary points and their type.
* :mod:`.dynamics`: gda, alt-gda, gd, ogda, eg, nm-gda, co, sga and hgd with separate step
  sizes for the two players, and a runner with converged / diverged status.
* :mod:`.linear`, :mod:`.stability`, :mod:`.stabmap`: each dynamic's linearised update, its
  exact stable step sizes, and its stability region over the (eta_x, eta_y) plane.
* :mod:`.analysis`, :mod:`.report`, :mod:`.plots`, :mod:`.assignment`: typed results, text,
  figures and the assignment's f = 4x^2 - 4y^2 checked against its closed forms.

Example::

    >>> from gradgames.saddle import Game, analyze, run
    >>> analysis = analyze(Game.from_expression("4*x**2 - 4*y**2"))
    >>> point = analysis.points[0]
    >>> point.kind, point.stability["gda"].intervals, point.stability["gda"].best_lr
    ('saddle', [(0.0, 0.25)], 0.125)
    >>> run(Game.from_expression("x*y"), "eg", 0.5, 500, [1.0], [1.0]).status
    'converged'
"""

from gradgames.saddle.analysis import (
    Analysis,
    Comparison,
    PointAnalysis,
    RunSummary,
    analyze,
    compare_dynamics,
    write_comparison,
)
from gradgames.saddle.assignment import AssignmentReport, assignment_report
from gradgames.saddle.config import (
    ASSIGNMENT_F,
    DIRAC_GAN_F,
    KINDS,
    METHODS,
    Hyperparameters,
    Kind,
    Method,
)
from gradgames.saddle.dynamics import RunResult, observed_rate, run, run_many
from gradgames.saddle.expr import Expression, parse
from gradgames.saddle.game import Game, StationaryPoint, classify
from gradgames.saddle.linear import spectral_radius, update_matrix
from gradgames.saddle.plots import (
    plot_compare,
    plot_run,
    plot_spectral_radius,
    plot_stability_map,
)
from gradgames.saddle.report import describe, describe_comparison, describe_map, describe_run
from gradgames.saddle.stability import Stability, gd_growth, stability, stability_table
from gradgames.saddle.stabmap import StabilityMap, stability_map

__all__ = [
    "ASSIGNMENT_F",
    "DIRAC_GAN_F",
    "KINDS",
    "METHODS",
    "Analysis",
    "AssignmentReport",
    "Comparison",
    "Expression",
    "Game",
    "Hyperparameters",
    "Kind",
    "Method",
    "PointAnalysis",
    "RunResult",
    "RunSummary",
    "Stability",
    "StabilityMap",
    "StationaryPoint",
    "analyze",
    "assignment_report",
    "classify",
    "compare_dynamics",
    "describe",
    "describe_comparison",
    "describe_map",
    "describe_run",
    "gd_growth",
    "observed_rate",
    "parse",
    "plot_compare",
    "plot_run",
    "plot_spectral_radius",
    "plot_stability_map",
    "run",
    "run_many",
    "spectral_radius",
    "stability",
    "stability_map",
    "stability_table",
    "update_matrix",
    "write_comparison",
]
