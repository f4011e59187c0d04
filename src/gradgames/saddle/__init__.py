"""Part 2: minimax optimisation ``min_x max_y f(x, y)`` and the dynamics that play it.

* :mod:`.expr`: a safe expression language for f (no eval, bounded size).
* :mod:`.game`: the game, its derivatives by autograd, stationary points and their type.
* :mod:`.dynamics`: gda, alt-gda, gd, ogda, eg, nm-gda, co, sga and hgd with separate step
  sizes for the two players, and a runner with converged / diverged status.
* :mod:`.linear`, :mod:`.stability`, :mod:`.stabmap`: each dynamic's linearised update, its
  exact stable step sizes, and its stability region over the (eta_x, eta_y) plane.
* :mod:`.analysis`, :mod:`.text`, :mod:`.plots`, :mod:`.assignment`: typed results, text,
  figures and the assignment's f = 4x^2 - 4y^2 checked against its closed forms.

Example::

    >>> from gradgames.saddle import Game, analyze, run
    >>> analysis = analyze(Game.from_expression("4*x**2 - 4*y**2"))
    >>> point = analysis.points[0]
    >>> point.kind, point.stability["gda"].intervals, point.stability["gda"].best_lr
    ('saddle', [(0.0, 0.25)], 0.125)
    >>> run(Game.from_expression("x*y"), "eg", 0.5, 500, [1.0], [1.0]).status
    'converged'

The names below are loaded on first use (PEP 562), so importing the torch-free
``gradgames.saddle.config`` (as the command line does) imports neither torch nor matplotlib.
The function ``stability`` lives in :mod:`gradgames.saddle.stability` (a package attribute of
the same name would clash with the module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradgames.exports import lazy_exports

_SOURCES = {
    name: module
    for module, names in {
        "analysis": "Analysis Comparison PointAnalysis RunSummary analyze compare_dynamics "
        "write_comparison",
        "assignment": "AssignmentReport assignment_report",
        "config": "ASSIGNMENT_F AnalyzeConfig CompareConfig DIRAC_GAN_F Hyperparameters KINDS "
        "Kind METHODS MapConfig Method RunConfig",
        "dynamics": "RunResult observed_rate run run_many",
        "expr": "Expression parse",
        "game": "Game StationaryPoint classify",
        "linear": "spectral_radius update_matrix",
        "plots": "plot_compare plot_run plot_spectral_radius plot_stability_map",
        "text": "describe describe_comparison describe_map describe_run",
        "stability": "Stability gd_growth stability_table",
        "stabmap": "StabilityMap stability_map",
    }.items()
    for name in names.split()
}
__all__ = sorted(_SOURCES)

if TYPE_CHECKING:
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
        AnalyzeConfig,
        CompareConfig,
        Hyperparameters,
        Kind,
        MapConfig,
        Method,
        RunConfig,
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
    from gradgames.saddle.stability import Stability, gd_growth, stability_table
    from gradgames.saddle.stabmap import StabilityMap, stability_map
    from gradgames.saddle.text import describe, describe_comparison, describe_map, describe_run


__getattr__, __dir__ = lazy_exports(__name__, _SOURCES, __all__)
