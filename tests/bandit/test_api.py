"""The package's public API: its names resolve, its docstring example runs, and the typed
results keep every JSON key the dicts had."""

import dataclasses
import doctest

import pytest

import gradgames.bandit as bandit
from gradgames.bandit.config import LearnerConfig, RunConfig
from gradgames.bandit.experiment import simulate, summary

# The keys of `gradgames bandit run --json` before the results were typed (all kept, in order).
RUN_KEYS = ["status", "steps", "runs", "arms", "final_mean_reward", "final_mean_reward_ci95",
            "final_optimal_action", "final_optimal_action_ci95", "final_entropy",
            "optimal_value", "random_value", "converged_fraction", "mean_convergence_step",
            "locked_suboptimal_fraction", "final_reward_variance", "diverged_fraction",
            "first_divergence_step", "seconds"]  # fmt: skip


def test_every_public_name_resolves():
    for name in bandit.__all__:
        assert getattr(bandit, name) is not None, name
    assert set(bandit.__all__) <= set(dir(bandit))


def test_the_package_docstring_example_runs():
    failures, tried = doctest.testmod(bandit, raise_on_error=False, verbose=False)
    assert tried >= 5 and failures == 0


def test_the_summary_is_frozen_and_keeps_every_key_in_order():
    s = summary(simulate(RunConfig(runs=20, steps=30, learner=LearnerConfig(lr=0.2))))
    keys = list(s.to_dict())
    assert keys[: len(RUN_KEYS)] == RUN_KEYS
    assert keys[len(RUN_KEYS) :] == ["average_reward", "average_reward_ci95"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.status = "changed"
