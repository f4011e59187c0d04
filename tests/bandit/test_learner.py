"""Update rules: the assignment's formula, REINFORCE's expectation, and the baseline."""

import pytest
import torch

from gradgames.bandit.learner import Learner, LearnerConfig, ascent_direction, expected_direction
from gradgames.bandit.policy import score


def _theta(runs=8, arms=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(runs, arms, generator=gen, dtype=torch.float64), gen


def test_chosen_arm_rule_is_the_assignments_formula():
    lr = 0.3
    learner = Learner(LearnerConfig(rule="chosen-arm", baseline="none", lr=lr), runs=4, arms=3)
    learner.theta += torch.tensor([[0.5, -0.2, 0.1]], dtype=torch.float64)
    before = learner.theta.clone()
    pi, _ = learner.policy()
    action = torch.tensor([0, 1, 2, 1])
    reward = torch.tensor([1.5, -0.7, 2.0, 0.0], dtype=torch.float64)
    learner.update(pi, action, reward)
    for r in range(4):
        a = action[r].item()
        for j in range(3):
            want = lr * reward[r] * (1 - pi[r, a]) if j == a else 0.0
            got = learner.theta[r, j] - before[r, j]
            assert got.item() == pytest.approx(float(want), abs=1e-15)


def test_full_rule_is_reinforce_with_the_textbook_mean_baseline():
    """b_1 = R_1, then b_t = mean(R_1 .. R_{t-1}) (Sutton & Barto, eq. 2.12)."""
    lr = 0.2
    learner = Learner(LearnerConfig(rule="full", baseline="mean", lr=lr), runs=3, arms=4)
    rewards = [torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64),
               torch.tensor([3.0, 0.0, 1.0], dtype=torch.float64),
               torch.tensor([0.5, 4.0, 2.0], dtype=torch.float64)]
    actions = [torch.tensor([0, 3, 2]), torch.tensor([1, 1, 0]), torch.tensor([2, 0, 3])]
    seen = []
    for reward, action in zip(rewards, actions, strict=True):
        before = learner.theta.clone()
        pi, _ = learner.policy()
        baseline = torch.stack(seen).mean(0) if seen else reward
        learner.update(pi, action, reward)
        want = lr * (reward - baseline)[:, None] * score(before, action)
        torch.testing.assert_close(learner.theta - before, want, rtol=0, atol=1e-15)
        seen.append(reward)


@pytest.mark.parametrize("baseline", [0.0, 0.7, -3.0])
def test_expected_full_update_is_the_gradient_of_expected_reward(baseline):
    theta, gen = _theta(runs=6, arms=5, seed=3)
    values = 2 * torch.randn(6, 5, generator=gen, dtype=torch.float64)
    leaf = theta.clone().requires_grad_(True)
    (torch.softmax(leaf, 1) * values).sum().backward()  # sum over runs of J = pi . q*
    got = expected_direction("full", theta, values, baseline)
    torch.testing.assert_close(got, leaf.grad, rtol=0, atol=1e-14)


def test_expected_chosen_arm_update_keeps_only_the_jacobian_diagonal():
    theta, gen = _theta(runs=6, arms=5, seed=4)
    values = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    pi = torch.softmax(theta, 1)
    got = expected_direction("chosen-arm", theta, values)
    torch.testing.assert_close(got, pi * (1 - pi) * values, rtol=0, atol=1e-15)
    gradient = pi * (values - (pi * values).sum(1, keepdim=True))
    assert (got - gradient).abs().max() > 1e-2  # not the gradient in general


def test_mean_baseline_lowers_the_variance_of_the_update_and_keeps_its_mean():
    """Sampled (A, R) on a Gaussian bandit with q* around 4; b = E[R] vs b = 0."""
    theta, gen = _theta(runs=1, arms=5, seed=5)
    values = 4 + torch.randn(1, 5, generator=gen, dtype=torch.float64)
    n = 200_000
    pi = torch.softmax(theta, 1).expand(n, 5)
    action = torch.multinomial(pi[0], n, replacement=True, generator=gen)
    reward = values[0, action] + torch.randn(n, generator=gen, dtype=torch.float64)
    b = (pi[0] * values[0]).sum()
    plain = ascent_direction("full", pi, action, reward)  # (n, arms)
    with_baseline = ascent_direction("full", pi, action, reward - b)
    var_plain = plain.var(0).sum()
    var_base = with_baseline.var(0).sum()
    assert var_base < 0.2 * var_plain
    se = (var_plain / n).sqrt()
    assert (plain.mean(0) - with_baseline.mean(0)).abs().max() < 5 * se


def test_learner_rejects_bad_settings():
    from gradgames.errors import ConfigError

    for bad in ({"lr": 0.0}, {"lr": float("nan")}, {"lr": -1.0}, {"optimizer": "lion"},
                {"rule": "both"}, {"schedule": "cosine"}, {"gamma": 1.5}, {"patience": 0},
                {"decay_every": 0}, {"baseline": "median"}, {"min_improvement": -0.1}):
        with pytest.raises(ConfigError) as info:
            LearnerConfig(**bad)
        assert info.value.field == next(iter(bad))
