"""Part 2: minimax optimisation ``min_x max_y f(x, y)`` with gradient descent-ascent.

* :mod:`.expr`: a safe expression language for f (no eval, bounded size).
* :mod:`.game`: the game, its derivatives by autograd, stationary points and their type.
* :mod:`.dynamics`: gda, alt-gda, gd, ogda, eg and a runner with converged / diverged status.
* :mod:`.stability`: the exact stable step sizes from the spectral radius of the linearised
  update, the best step size and its rate.
* :mod:`.plots`, :mod:`.report`, :mod:`.assignment`: figures, reports and the assignment's
  f = 4x^2 - 4y^2 checked against its closed forms.
"""

from gradgames.saddle.assignment import assignment_report
from gradgames.saddle.dynamics import METHODS, RunResult, observed_rate, run, run_many
from gradgames.saddle.expr import Expression, parse
from gradgames.saddle.game import KINDS, Game, StationaryPoint, classify
from gradgames.saddle.plots import plot_compare, plot_run, plot_spectral_radius
from gradgames.saddle.report import (
    analyze,
    compare_dynamics,
    describe,
    describe_comparison,
    describe_run,
    write_comparison,
)
from gradgames.saddle.stability import (
    Stability,
    gd_growth,
    spectral_radius,
    stability,
    stability_table,
    update_matrix,
)

__all__ = [
    "KINDS",
    "METHODS",
    "Expression",
    "Game",
    "RunResult",
    "Stability",
    "StationaryPoint",
    "analyze",
    "assignment_report",
    "classify",
    "compare_dynamics",
    "describe",
    "describe_comparison",
    "describe_run",
    "gd_growth",
    "observed_rate",
    "parse",
    "plot_compare",
    "plot_run",
    "plot_spectral_radius",
    "run",
    "run_many",
    "spectral_radius",
    "stability",
    "stability_table",
    "update_matrix",
    "write_comparison",
]
