"""The baselines: the textbook's R_bar_t (Sutton & Barto, 2nd ed., section 2.8, eq. 2.12), its
variant that includes R_t, and none."""

import numpy as np
import pytest
import torch

from gradgames.bandit.config import BanditConfig, LearnerConfig, RunConfig
from gradgames.bandit.experiment import simulate
from gradgames.bandit.learner import Learner
from gradgames.bandit.reference import simulate_run


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam"])
@pytest.mark.parametrize("rule", ["full", "chosen-arm"])
def test_the_first_update_is_zero_with_the_mean_baseline(rule, optimizer):
    """R_bar_1 = R_1: rewards near 4 do not push the first arm tried (b = 0 pushed it by about
    4 eta)."""
    learner = Learner(LearnerConfig(rule=rule, optimizer=optimizer, lr=0.4), runs=5, arms=10)
    pi, _ = learner.policy()
    learner.update(
        pi,
        torch.tensor([0, 3, 9, 3, 1]),
        torch.tensor([4.2, 3.1, 5.5, 4.0, 2.9], dtype=torch.float64),
    )
    assert torch.equal(learner.theta, torch.zeros(5, 10, dtype=torch.float64))


def test_mean_inclusive_is_the_mean_update_with_step_eta_times_t_minus_1_over_t():
    """R_t - mean(R_1..R_t) = ((t - 1) / t)(R_t - mean(R_1..R_{t-1})), so with SGD the update
    is the mean baseline's, scaled by (t - 1) / t."""
    gen = torch.Generator().manual_seed(0)
    mean = Learner(LearnerConfig(baseline="mean", lr=0.3), runs=6, arms=4)
    inclusive = Learner(LearnerConfig(baseline="mean-inclusive", lr=0.3), runs=6, arms=4)
    for t in range(1, 30):
        inclusive.theta.copy_(mean.theta)
        before = mean.theta.clone()
        pi, _ = mean.policy()
        action = torch.randint(0, 4, (6,), generator=gen)
        reward = 4 + torch.randn(6, generator=gen, dtype=torch.float64)
        mean.update(pi, action, reward)
        inclusive.update(pi, action, reward)
        torch.testing.assert_close(inclusive.theta - before, (mean.theta - before) * (t - 1) / t,
                                   rtol=0, atol=1e-14)  # fmt: skip


def _shifted(baseline: str, optimizer: str, true_mean: float):
    return simulate(RunConfig(
        runs=200, steps=300, seed=5, bandit=BanditConfig(true_mean=true_mean),
        learner=LearnerConfig(baseline=baseline, optimizer=optimizer, lr=0.4),
    ))  # fmt: skip


@pytest.mark.parametrize("baseline", ["mean", "mean-inclusive"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_with_a_mean_baseline_shifting_every_reward_changes_nothing(baseline, optimizer):
    """The book on Figure 2.5: shifting the rewards "has absolutely no effect on the gradient
    bandit algorithm because of the reward baseline term". Same seed, same streams: q* mean 0
    and q* mean 4 give the same actions and preferences (up to rounding)."""
    at_0, at_4 = _shifted(baseline, optimizer, 0.0), _shifted(baseline, optimizer, 4.0)
    np.testing.assert_allclose(at_0.theta, at_4.theta, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(at_0.curves["optimal_action"], at_4.curves["optimal_action"])


def test_without_a_baseline_the_shift_changes_the_learning():
    at_0, at_4 = _shifted("none", "sgd", 0.0), _shifted("none", "sgd", 4.0)
    assert np.abs(at_0.theta - at_4.theta).max() > 1.0


@pytest.mark.parametrize("baseline", ["mean", "mean-inclusive", "none"])
def test_the_reference_loop_uses_the_same_baseline(baseline):
    config = RunConfig(runs=3, steps=120, seed=2, bandit=BanditConfig(arms=5, true_mean=4.0),
                       learner=LearnerConfig(baseline=baseline, lr=0.4))  # fmt: skip
    result = simulate(config)
    loop = np.array([simulate_run(config, r)["theta"] for r in range(3)])
    np.testing.assert_allclose(result.theta, loop, rtol=0, atol=1e-10)
