"""Testbeds and random streams: the distributions they promise, one stream per run."""

import numpy as np
import pytest
import torch
from scipy import stats

from gradgames.bandit.streams import ACTION, REWARD, Streams, splitmix64
from gradgames.bandit.testbeds import BanditConfig, make_testbed
from gradgames.errors import UsageError


def test_streams_are_uniform_and_depend_only_on_seed_run_index_stream():
    streams = Streams(seed=3, run_ids=np.arange(50))
    u = streams.uniform(np.arange(400), ACTION)  # (400, 50)
    assert u.dtype == torch.float64 and ((u > 0) & (u < 1)).all()
    assert stats.kstest(u.flatten().numpy(), "uniform").pvalue > 1e-3
    subset = Streams(seed=3, run_ids=np.array([49, 7])).uniform(np.arange(400), ACTION)
    assert torch.equal(subset, u[:, [49, 7]])
    assert not torch.equal(Streams(3, np.arange(50)).uniform(np.arange(400), REWARD), u)
    assert not torch.equal(Streams(4, np.arange(50)).uniform(np.arange(400), ACTION), u)


def test_splitmix64_and_the_streams_are_bit_identical_to_fixed_values():
    # SplitMix64's published first outputs from state 0 (the state advances by the golden gamma)
    out = splitmix64(np.array([0, 0x9E3779B97F4A7C15], dtype=np.uint64))
    assert out.tolist() == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]
    streams = Streams(0, np.array([0, 5]))
    assert streams.keys.tolist() == [0x8B4FDA8C892B50E, 0x7FE2811FC126DC6F]
    assert streams.uniform(np.array([0, 3]), REWARD).numpy().tolist() == [
        [0.5385560528693345, 0.2851060806341354],
        [0.4843385527984026, 0.14311825412889062],
    ]


def test_streams_of_neighbouring_runs_and_steps_are_uncorrelated():
    u = Streams(seed=0, run_ids=np.arange(200)).uniform(np.arange(500), ACTION).numpy()
    across_runs = np.corrcoef(u[:, :-1].ravel(), u[:, 1:].ravel())[0, 1]
    across_steps = np.corrcoef(u[:-1].ravel(), u[1:].ravel())[0, 1]
    assert abs(across_runs) < 0.01 and abs(across_steps) < 0.01  # 1e5 pairs: sd ~0.003


def test_gaussian_testbed_draws_values_and_rewards_as_promised():
    streams = Streams(seed=1, run_ids=np.arange(4000))
    testbed = make_testbed(BanditConfig(arms=5, true_mean=4.0), streams)
    values = testbed.values.numpy()  # (4000, 5)
    assert stats.kstest(values.ravel() - 4.0, "norm").pvalue > 1e-3
    noise = testbed.noise(streams.uniform(np.arange(20), REWARD))
    assert stats.kstest(noise.numpy().ravel(), "norm").pvalue > 1e-3
    q = testbed.values[:, 2]
    assert torch.equal(testbed.reward(q, noise[0]), q + noise[0])


def test_bernoulli_testbed_uniform_or_given_probabilities():
    streams = Streams(seed=2, run_ids=np.arange(3000))
    random_probs = make_testbed(BanditConfig(arms=4, testbed="bernoulli"), streams).values
    assert stats.kstest(random_probs.numpy().ravel(), "uniform").pvalue > 1e-3
    given = make_testbed(BanditConfig(arms=3, testbed="bernoulli", probs=(0.1, 0.5, 0.8)),
                         streams)
    assert given.values.shape == (3000, 3)
    assert torch.equal(given.best, torch.full((3000,), 0.8, dtype=torch.float64))
    u = given.noise(streams.uniform(np.arange(200), REWARD))  # (200, 3000)
    rewards = torch.stack([given.reward(given.values[:, 1], row) for row in u])
    assert set(rewards.unique().tolist()) == {0.0, 1.0}
    assert rewards.mean().item() == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize(
    "bad",
    [
        {"arms": 1},
        {"arms": 0},
        {"testbed": "cauchy"},
        {"true_mean": float("inf")},
        {"testbed": "bernoulli", "arms": 2, "probs": (0.5, 1.5)},
        {"testbed": "bernoulli", "arms": 2, "probs": (-0.1, 0.5)},
        {"testbed": "bernoulli", "arms": 3, "probs": (0.5, 0.5)},
        {"testbed": "gaussian", "arms": 2, "probs": (0.5, 0.5)},
    ],
)
def test_bad_bandits_are_refused(bad):
    with pytest.raises(UsageError):
        BanditConfig(**bad)
