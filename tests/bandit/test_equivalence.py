"""The vectorised simulator against the plain per-run loop, and its reproducibility."""

import numpy as np
import pytest

from gradgames.bandit.config import BanditConfig, LearnerConfig, RunConfig
from gradgames.bandit.experiment import simulate, summary
from gradgames.bandit.reference import simulate_run

CASES = [
    ("full", "mean", "sgd", "constant", "gaussian"),
    ("chosen-arm", "none", "sgd", "exponential", "gaussian"),
    ("full", "none", "rmsprop", "inverse-time", "bernoulli"),
    ("chosen-arm", "mean", "adam", "plateau", "bernoulli"),
    ("full", "mean", "adam", "step", "gaussian"),
]


def _config(rule, baseline, optimizer, schedule, testbed, runs=4, steps=250):
    return RunConfig(
        runs=runs, steps=steps, seed=11, window=20, tol=0.02,
        bandit=BanditConfig(arms=4, testbed=testbed, true_mean=1.0 if testbed == "gaussian"
                            else 0.0),
        learner=LearnerConfig(rule=rule, baseline=baseline, optimizer=optimizer, lr=0.4,
                              schedule=schedule, tau=30.0, gamma=0.99, decay_every=60,
                              patience=10),
    )


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_vectorised_equals_per_run_loop(case):
    config = _config(*case)
    result = simulate(config)
    runs = [simulate_run(config, r) for r in range(config.runs)]
    theta = np.array([r["theta"] for r in runs])
    np.testing.assert_allclose(result.theta, theta, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(result.convergence_step, [r["convergence_step"] for r in runs])
    for name, key in (("reward", "reward"), ("optimal_action", "optimal"),
                      ("entropy", "entropy"), ("reward_variance", "reward_variance")):
        mean = np.mean([r[key] for r in runs], axis=0)
        np.testing.assert_allclose(result.curves[name][0], mean, rtol=0, atol=1e-10)


def test_a_run_does_not_depend_on_which_runs_are_simulated_with_it():
    config = _config("full", "mean", "adam", "plateau", "gaussian", runs=9, steps=200)
    together = simulate(config)
    alone = simulate(config, run_ids=np.array([6, 2]))
    np.testing.assert_array_equal(alone.theta, together.theta[[6, 2]])
    np.testing.assert_array_equal(alone.convergence_step, together.convergence_step[[6, 2]])


def test_same_seed_same_numbers_other_seed_other_numbers():
    config = _config("chosen-arm", "mean", "sgd", "constant", "gaussian", runs=50, steps=150)
    first, second = simulate(config), simulate(config)
    for name in first.curves:
        np.testing.assert_array_equal(first.curves[name], second.curves[name])
    np.testing.assert_array_equal(first.theta, second.theta)
    a, b = summary(first).to_dict(), summary(second).to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    other = simulate(RunConfig(**{**config.__dict__, "seed": 12}))
    assert not np.array_equal(other.theta, first.theta)
