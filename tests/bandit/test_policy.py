"""The softmax policy's analytic derivatives against torch.autograd."""

import math

import pytest
import torch

from gradgames.bandit.policy import (
    derivative_check,
    entropy,
    jacobian,
    policy_and_entropy,
    score,
    softmax,
)


@pytest.mark.parametrize("arms", [2, 3, 10])
@pytest.mark.parametrize("spread", [0.1, 1.0, 8.0])
def test_jacobian_matches_autograd(arms, spread):
    gen = torch.Generator().manual_seed(arms)
    for theta in spread * torch.randn(20, arms, generator=gen, dtype=torch.float64):
        expected = torch.autograd.functional.jacobian(softmax, theta)
        torch.testing.assert_close(jacobian(theta), expected, rtol=0, atol=1e-14)


def test_jacobian_is_the_spec_formula_and_batches():
    theta = torch.tensor([[0.3, -1.0, 2.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    pi = torch.softmax(theta, -1)
    jac = jacobian(theta)  # (2, 3, 3)
    for b in range(2):
        for i in range(3):
            for j in range(3):
                want = pi[b, i] * (1 - pi[b, i]) if i == j else -pi[b, i] * pi[b, j]
                assert jac[b, i, j].item() == pytest.approx(want.item(), abs=1e-15)
    torch.testing.assert_close(jac.sum(-1), torch.zeros(2, 3, dtype=torch.float64))


@pytest.mark.parametrize("arms", [2, 5, 10])
def test_score_matches_autograd(arms):
    gen = torch.Generator().manual_seed(100 + arms)
    theta = 3 * torch.randn(30, arms, generator=gen, dtype=torch.float64)
    actions = torch.randint(0, arms, (30,), generator=gen)
    leaf = theta.clone().requires_grad_(True)
    log_pi = torch.log_softmax(leaf, -1).gather(1, actions[:, None]).sum()
    (expected,) = torch.autograd.grad(log_pi, leaf)
    torch.testing.assert_close(score(theta, actions), expected, rtol=0, atol=1e-14)


def test_policy_and_entropy_agree_with_log_softmax():
    gen = torch.Generator().manual_seed(1)
    theta = 5 * torch.randn(50, 7, generator=gen, dtype=torch.float64)
    theta[0] = 0.0
    theta[1, 0] = 800.0  # a nearly deterministic policy must not overflow
    pi, h = policy_and_entropy(theta)
    torch.testing.assert_close(pi, torch.softmax(theta, 1), rtol=0, atol=1e-15)
    torch.testing.assert_close(h, entropy(theta), rtol=0, atol=1e-12)
    assert h[0].item() == pytest.approx(math.log(7))
    assert h[1].item() == pytest.approx(0.0, abs=1e-12)


def test_entropy_flags_every_non_finite_preference():
    theta = torch.zeros(4, 3, dtype=torch.float64)
    theta[1, 0], theta[2, 1], theta[3, 2] = math.nan, math.inf, -math.inf
    _, h = policy_and_entropy(theta)
    assert torch.isfinite(h).tolist() == [True, False, False, False]


def test_derivative_check_reports_tiny_errors():
    check = derivative_check(arms=6, samples=16)
    assert check.jacobian_max_abs_error < 1e-14
    assert check.score_max_abs_error < 1e-14
    assert check.arms == 6 and check.samples == 16
    assert sorted(check.to_dict()) == ["arms", "jacobian_max_abs_error", "samples",
                                       "score_max_abs_error"]  # fmt: skip
