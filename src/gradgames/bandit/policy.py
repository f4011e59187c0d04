"""The softmax policy over k arms and its derivatives.

With preferences ``theta`` (one row per run), the policy is

    pi(a_i) = exp(theta_i) / sum_j exp(theta_j),

its Jacobian is ``d pi_i / d theta_j = pi_i (1{i = j} - pi_j)``, i.e. ``diag(pi) - pi pi^T``,
and the score function (the gradient of the log-probability of the action taken, ``A``) is

    d log pi(A) / d theta = e_A - pi.

Every function takes any leading batch shape: ``theta`` is ``(..., arms)``.
"""

from __future__ import annotations

import torch

from gradgames.bandit.results import DerivativeCheck
from gradgames.config import check_int, check_seed
from gradgames.errors import ConfigError


def arm_major_zeros(*batch: int, arms: int) -> torch.Tensor:
    """A float64 zero tensor of shape ``(*batch, arms)`` stored with the arms outermost.

    The simulator's per-step reductions over arms (max, sum, cumsum) then run along long
    contiguous rows of runs instead of many short rows of ``arms`` numbers (the few-arms,
    many-runs case is the common one). Elementwise results keep the layout, so all code still
    reads ``(runs, arms)``.
    """
    storage = torch.zeros(arms, *batch, dtype=torch.float64)
    return storage.movedim(0, -1)


def softmax(theta: torch.Tensor) -> torch.Tensor:
    """``pi = exp(theta - max theta) / sum exp(theta - max theta)`` along the last dimension.

    Args:
        theta: (..., arms) preferences.

    Returns:
        (..., arms) action probabilities, each row summing to 1.
    """
    return torch.softmax(theta, dim=-1)


def policy_and_entropy(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The policy and its entropy from one exponential, for the simulator's inner loop.

    With ``z = theta - max theta``, ``e = exp(z)`` and ``Z = sum e``: ``pi = e / Z`` and
    ``H = -sum pi log pi = log Z - sum pi z``.

    Args:
        theta: (runs, arms) preferences.

    Returns:
        ``(pi, H)``: (runs, arms) and (runs,).
    """
    z = theta - theta.amax(1, keepdim=True)  # (runs, arms)
    e = z.exp()
    total = e.sum(1, keepdim=True)  # (runs, 1)
    pi = e / total
    return pi, total.squeeze(1).log() - (pi * z).sum(1)


def jacobian(theta: torch.Tensor) -> torch.Tensor:
    """The analytic Jacobian ``J[..., i, j] = d pi_i / d theta_j = pi_i (1{i = j} - pi_j)``.

    Args:
        theta: (..., arms) preferences.

    Returns:
        (..., arms, arms) ``diag(pi) - pi pi^T`` (symmetric; rows and columns sum to 0).
    """
    pi = softmax(theta)  # (..., arms)
    return torch.diag_embed(pi) - pi.unsqueeze(-1) * pi.unsqueeze(-2)


def score(theta: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """The score function ``d log pi(A) / d theta = e_A - pi``.

    Args:
        theta: (..., arms) preferences.
        action: (...) integer index ``A`` of the action taken.

    Returns:
        (..., arms) the score (its entries sum to 0).
    """
    pi = softmax(theta)
    one_hot = torch.nn.functional.one_hot(action, theta.shape[-1]).to(theta.dtype)
    return one_hot - pi


def entropy(theta: torch.Tensor) -> torch.Tensor:
    """The policy's entropy in nats, ``H = -sum_i pi_i log pi_i`` (between 0 and log k).

    Args:
        theta: (..., arms) preferences.

    Returns:
        (...) entropies.
    """
    log_pi = torch.log_softmax(theta, dim=-1)
    return -(log_pi.exp() * log_pi).sum(-1)


def derivative_check(arms: int = 10, samples: int = 64, seed: int = 0) -> DerivativeCheck:
    """Compares :func:`jacobian` and :func:`score` with ``torch.autograd`` at random points.

    The points are ``theta ~ N(0, 3^2)`` in float64 (spread enough to give nearly
    deterministic policies as well as flat ones) and uniformly random actions.

    Args:
        arms: k.
        samples: how many random preference vectors.
        seed: seed of the points.

    Returns:
        the largest absolute errors of both, with ``arms`` and ``samples``.

    Raises:
        ConfigError: arms outside 2 to 1,000, samples outside 1 to 1,000, more than 64
            million Jacobian entries (samples x arms^2, about 512 MB), or a seed outside the
            seed range.
    """
    check_int("arms", arms, 2, 1000)
    check_int("samples", samples, 1, 1000)
    if samples * arms * arms > 64_000_000:
        raise ConfigError("samples", f"x arms^2 must stay within 64,000,000 Jacobian entries; "
                          f"got {samples} x {arms}^2")  # fmt: skip
    check_seed("seed", seed)
    gen = torch.Generator().manual_seed(seed)
    theta = 3.0 * torch.randn(samples, arms, generator=gen, dtype=torch.float64)
    actions = torch.randint(0, arms, (samples,), generator=gen)
    jac_error = 0.0
    score_error = 0.0
    for row, action in zip(theta, actions, strict=True):
        auto_jac = torch.autograd.functional.jacobian(softmax, row)  # (arms, arms)
        jac_error = max(jac_error, (auto_jac - jacobian(row)).abs().max().item())
        leaf = row.clone().requires_grad_(True)
        (auto_score,) = torch.autograd.grad(torch.log_softmax(leaf, -1)[action], leaf)
        score_error = max(score_error, (auto_score - score(row, action)).abs().max().item())
    return DerivativeCheck(
        jacobian_max_abs_error=jac_error, score_max_abs_error=score_error, arms=arms,
        samples=samples,
    )
