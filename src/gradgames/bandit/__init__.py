"""Part 1: softmax policy gradient on k-armed bandits, thousands of runs at once.

    from gradgames.bandit import RunConfig, LearnerConfig, simulate, summary
    result = simulate(RunConfig(learner=LearnerConfig(optimizer="adam", lr=0.1)))
    summary(result)["final_optimal_action"]

Modules: :mod:`~gradgames.bandit.policy` (softmax, Jacobian, score),
:mod:`~gradgames.bandit.testbeds`, :mod:`~gradgames.bandit.streams` (per-run random streams),
:mod:`~gradgames.bandit.learner` (rules, baselines, optimisers),
:mod:`~gradgames.bandit.schedules`, :mod:`~gradgames.bandit.monitor` (measurements and
convergence criteria), :mod:`~gradgames.bandit.experiment` (the simulator),
:mod:`~gradgames.bandit.reference` (the same algorithm as a plain per-run loop),
:mod:`~gradgames.bandit.study` and :mod:`~gradgames.bandit.plots`.
"""

from gradgames.bandit.experiment import Result, RunConfig, sample_actions, simulate, summary
from gradgames.bandit.learner import Learner, LearnerConfig, ascent_direction, expected_direction
from gradgames.bandit.policy import (
    derivative_check,
    entropy,
    jacobian,
    policy_and_entropy,
    score,
    softmax,
)
from gradgames.bandit.schedules import PerRunPlateau
from gradgames.bandit.study import StudyConfig, run_study
from gradgames.bandit.testbeds import BanditConfig, Testbed, make_testbed

__all__ = [
    "BanditConfig",
    "Learner",
    "LearnerConfig",
    "PerRunPlateau",
    "Result",
    "RunConfig",
    "StudyConfig",
    "Testbed",
    "ascent_direction",
    "derivative_check",
    "entropy",
    "expected_direction",
    "jacobian",
    "make_testbed",
    "policy_and_entropy",
    "run_study",
    "sample_actions",
    "score",
    "simulate",
    "softmax",
    "summary",
]
