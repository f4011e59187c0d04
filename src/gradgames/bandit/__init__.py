"""Part 1: softmax policy gradient on k-armed bandits, thousands of runs at once.

>>> from gradgames.bandit import LearnerConfig, RunConfig, simulate, summary
>>> result = simulate(RunConfig(runs=200, steps=300, learner=LearnerConfig(optimizer="adam")))
>>> s = summary(result)
>>> s.status, s.runs, s.steps
('ok', 200, 300)
>>> s.final_optimal_action > 0.5  # the uniform policy: 0.1
True
>>> sorted(s.to_dict())[:3]  # the JSON of ``gradgames bandit run --json``
['arms', 'average_reward', 'average_reward_ci95']

Modules: :mod:`~gradgames.bandit.config` (the settings, torch-free),
:mod:`~gradgames.bandit.results` (the typed results, torch-free),
:mod:`~gradgames.bandit.policy` (softmax, Jacobian, score),
:mod:`~gradgames.bandit.testbeds`, :mod:`~gradgames.bandit.streams` (per-run random streams),
:mod:`~gradgames.bandit.learner` (rules, baselines, optimisers),
:mod:`~gradgames.bandit.schedules`, :mod:`~gradgames.bandit.monitor` (measurements and
convergence criteria), :mod:`~gradgames.bandit.experiment` (the simulator),
:mod:`~gradgames.bandit.reference` (the same algorithm as a plain per-run loop),
:mod:`~gradgames.bandit.study`, :mod:`~gradgames.bandit.sutton_barto` (the textbook's
Figures 2.5 and 2.6) and :mod:`~gradgames.bandit.plots`.

The names below are loaded on first use (PEP 562), so importing the torch-free modules
(``gradgames.bandit.config``, as the command line does) does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradgames.exports import lazy_exports

_SOURCES = {
    name: module
    for module, names in {
        "config": "BanditConfig LearnerConfig RunConfig StudyConfig",
        "results": "RunSummary StudyResult StudyRow BookPoint DerivativeCheck",
        "experiment": "Result sample_actions simulate summary",
        "learner": "Learner ascent_direction expected_direction",
        "policy": "derivative_check entropy jacobian policy_and_entropy score softmax",
        "schedules": "PerRunPlateau",
        "streams": "Streams",
        "study": "run_study",
        "testbeds": "Testbed make_testbed",
    }.items()
    for name in names.split()
}
__all__ = sorted(_SOURCES)

if TYPE_CHECKING:
    from gradgames.bandit.config import BanditConfig, LearnerConfig, RunConfig, StudyConfig
    from gradgames.bandit.experiment import Result, sample_actions, simulate, summary
    from gradgames.bandit.learner import Learner, ascent_direction, expected_direction
    from gradgames.bandit.policy import (
        derivative_check,
        entropy,
        jacobian,
        policy_and_entropy,
        score,
        softmax,
    )
    from gradgames.bandit.results import (
        BookPoint,
        DerivativeCheck,
        RunSummary,
        StudyResult,
        StudyRow,
    )
    from gradgames.bandit.schedules import PerRunPlateau
    from gradgames.bandit.streams import Streams
    from gradgames.bandit.study import run_study
    from gradgames.bandit.testbeds import Testbed, make_testbed


__getattr__, __dir__ = lazy_exports(__name__, _SOURCES, __all__)
