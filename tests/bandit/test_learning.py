"""Learning, lock-in, convergence and divergence, measured by the simulator."""

import json

import numpy as np
import pytest

from gradgames.bandit.config import BanditConfig, LearnerConfig, RunConfig
from gradgames.bandit.experiment import simulate, summary


@pytest.mark.parametrize(
    "bandit", [BanditConfig(arms=10, testbed="gaussian"),
               BanditConfig(arms=10, testbed="bernoulli")], ids=["gaussian", "bernoulli"])
@pytest.mark.parametrize("rule", ["full", "chosen-arm"])
def test_learning_beats_the_uniform_random_policy(bandit, rule):
    result = simulate(RunConfig(runs=400, steps=400, bandit=bandit,
                                learner=LearnerConfig(rule=rule, lr=0.2)))
    s = summary(result)
    reward = result.curves["reward"][0, -50:].mean()
    half_width = result.curves["reward"][1, -50:].mean()
    gap = s.optimal_value - s.random_value
    assert reward > s.random_value + 0.5 * gap
    assert reward - s.random_value > 5 * half_width
    assert result.curves["optimal_action"][0, -50:].mean() > 0.4  # uniform: 0.1
    assert result.curves["entropy"][0, -1] < 0.5 * np.log(10)


def test_lock_in_rate_matches_the_first_success_race():
    """chosen-arm, no baseline, Bernoulli (0.2, 0.8), huge steps: the first success locks in.

    Each step a reward of 1 comes from arm 0 with probability 0.5 * 0.2 and from arm 1 with
    0.5 * 0.8, so a run locks onto the suboptimal arm 0 with probability 0.1 / 0.5 = 0.2.
    """
    config = RunConfig(runs=4000, steps=200, window=20,
                       bandit=BanditConfig(arms=2, testbed="bernoulli", probs=(0.2, 0.8)),
                       learner=LearnerConfig(rule="chosen-arm", baseline="none", lr=60.0))
    result = simulate(config)
    s = summary(result)
    assert s.locked_suboptimal_fraction == pytest.approx(0.2, abs=0.025)
    assert set(result.greedy_arm[result.locked_suboptimal]) == {0}
    assert s.converged_fraction == 1.0
    assert result.convergence_step.min() >= config.window + 2


def test_a_policy_that_does_not_move_converges_at_the_first_window():
    config = RunConfig(runs=20, steps=100, window=30, learner=LearnerConfig(lr=1e-9))
    result = simulate(config)
    assert result.converged.all()
    assert (result.convergence_step == config.window + 1).all()
    short = simulate(RunConfig(runs=20, steps=50, window=30, learner=LearnerConfig(lr=1e-9)))
    assert not short.converged.any()  # fewer than a window of steps after the first check


def test_divergence_is_a_status_with_finite_json():
    some = summary(simulate(RunConfig(runs=40, steps=30, learner=LearnerConfig(lr=1e308))))
    assert some.status == "diverged" and 0 < some.diverged_fraction <= 1
    assert some.first_divergence_step >= 1
    json.dumps(some.to_dict(), allow_nan=False)
    everything = simulate(RunConfig(runs=10, steps=20, bandit=BanditConfig(true_mean=1e5),
                                    learner=LearnerConfig(lr=1e308, baseline="none")))
    s = summary(everything)
    assert s.status == "diverged" and s.diverged_fraction == 1.0
    assert s.final_mean_reward is None and s.first_divergence_step == 1
    json.dumps(s.to_dict(), allow_nan=False)
    assert (everything.greedy_arm == -1).all() and not everything.locked_suboptimal.any()


def test_a_diverged_run_leaves_the_others_measured():
    config = RunConfig(runs=30, steps=40, bandit=BanditConfig(true_mean=0.0),
                       learner=LearnerConfig(lr=1e308))
    result = simulate(config)
    alive = result.diverged_at < 0
    assert alive.any() and not alive.all()
    assert np.isfinite(result.curves["reward"][0]).all()
    assert np.isfinite(result.theta[alive]).all()
