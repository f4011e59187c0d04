"""First-order dynamics on ``min_x max_y f(x, y)`` and a runner that reports how they end.

With ``gx = grad_x f``, ``gy = grad_y f``, the simultaneous descent field
``xi = (gx, -gy)`` of the two players, step sizes ``eta_x`` (``lr_x``) for the minimising
player and ``eta_y`` (``lr_y``) for the maximising one (two timescales, Heusel et al., "GANs
Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", NeurIPS 2017),
``D = diag(eta_x I, eta_y I)`` and H the Hessian of f:

* ``gda``     simultaneous descent-ascent: ``x+ = x - eta_x gx(x, y)``, ``y+ = y + eta_y gy(x, y)``.
* ``alt-gda`` alternating: ``x+ = x - eta_x gx(x, y)``, then ``y+ = y + eta_y gy(x+, y)``.
* ``gd``      gradient descent on both players (the assignment's mistake):
  ``x+ = x - eta_x gx``, ``y+ = y - eta_y gy``.
* ``ogda``    optimistic GDA: ``z+ = z - D (2 xi(z) - xi(z-))`` with ``z-`` the previous iterate
  (the first step is a gda step).
* ``eg``      extragradient: ``z' = z - D xi(z)``, ``z+ = z - D xi(z')``.
* ``nm-gda``  alternating GDA with negative momentum beta (Gidel et al., "Negative Momentum
  for Improved Game Dynamics", AISTATS 2019, eq. (7)-(8)):
  ``x+ = x - eta_x gx(x, y) + beta (x - x-)``, then ``y+ = y + eta_y gy(x+, y) + beta (y - y-)``.
* ``co``      consensus optimisation (Mescheder, Nowozin and Geiger, "The Numerics of GANs",
  NeurIPS 2017, Algorithm 1): descent on ``xi + gamma grad(|xi|^2 / 2) = xi + gamma J^T xi``,
  ``z+ = z - D (xi + gamma J^T xi)``.
* ``sga``     symplectic gradient adjustment (Balduzzi et al., "The Mechanics of n-Player
  Differentiable Games", ICML 2018, Algorithm 1): ``z+ = z - D (xi + lambda A^T xi)`` with
  ``A = (J - J^T) / 2`` the antisymmetric part of the game Jacobian J of xi. With alignment the
  sign of lambda is ``sign(<xi, grad H><A^T xi, grad H> / N + epsilon)``, ``grad H = J^T xi``,
  ``epsilon = 1/10``.
* ``hgd``     Hamiltonian gradient descent (Abernethy, Lai and Wibisono 2019; Loizou et al.,
  "Stochastic Hamiltonian Gradient Methods for Smooth Games", ICML 2020): descent on the
  Hamiltonian ``|xi|^2 / 2``, ``z+ = z - D J^T xi``.

Here ``J^T xi = H grad f`` and ``J xi = S H xi`` with ``S = diag(I, -I)``, both Hessian-vector
products by autograd. Every step function has the signature
``step(game, x, y, lr_x, lr_y, memory, hyper) -> (x, y, memory)``; ``memory`` holds the previous
field for ``ogda``, the previous iterate for ``nm-gda`` and is None for the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from gradgames.config import (
    check_choice,
    check_int,
    check_numbers,
    check_positive,
    check_range,
    shown,
)
from gradgames.errors import ConfigError
from gradgames.files import finite_or_none
from gradgames.saddle.config import MAX_STEPS, SGA_ALIGN_EPSILON, Hyperparameters, Method, check_lr
from gradgames.saddle.game import DTYPE, Game

Tensor = torch.Tensor
StepFn = Callable[..., tuple[Tensor, Tensor, Any]]


def gda_step(game: Game, x: Tensor, y: Tensor, lr_x, lr_y, memory=None, hyper=None):
    """Simultaneous GDA: ``(x, y) <- (x - eta_x gx(x, y), y + eta_y gy(x, y))``."""
    gx, gy = game.gradients(x, y)
    return x - lr_x * gx, y + lr_y * gy, None


def alt_gda_step(game: Game, x: Tensor, y: Tensor, lr_x, lr_y, memory=None, hyper=None):
    """Alternating GDA: ``x <- x - eta_x gx(x, y)``, then ``y <- y + eta_y gy(x_new, y)``."""
    gx, _ = game.gradients(x, y)
    x = x - lr_x * gx
    _, gy = game.gradients(x, y)
    return x, y + lr_y * gy, None


def gd_step(game: Game, x: Tensor, y: Tensor, lr_x, lr_y, memory=None, hyper=None):
    """Gradient descent on both players: ``(x, y) <- (x - eta_x gx, y - eta_y gy)``."""
    gx, gy = game.gradients(x, y)
    return x - lr_x * gx, y - lr_y * gy, None


def ogda_step(game: Game, x: Tensor, y: Tensor, lr_x, lr_y, memory=None, hyper=None):
    """Optimistic GDA: ``z <- z - D (2 xi(z) - xi(z_prev))``.

    ``memory`` holds ``(gx, gy)`` of the previous iterate (None on the first step, which then
    uses the current gradients twice: a gda step).
    """
    gx, gy = game.gradients(x, y)
    px, py = memory if memory is not None else (gx, gy)
    return x - lr_x * (2 * gx - px), y + lr_y * (2 * gy - py), (gx, gy)


def eg_step(game: Game, x: Tensor, y: Tensor, lr_x, lr_y, memory=None, hyper=None):
    """Extragradient: ``(x', y') = (x - eta_x gx(x, y), y + eta_y gy(x, y))``, then
    ``(x, y) <- (x - eta_x gx(x', y'), y + eta_y gy(x', y'))``."""
    gx, gy = game.gradients(x, y)
    gx, gy = game.gradients(x - lr_x * gx, y + lr_y * gy)
    return x - lr_x * gx, y + lr_y * gy, None


def nm_gda_step(game: Game, x: Tensor, y: Tensor, lr_x, lr_y, memory=None, hyper=None):
    """Alternating GDA with momentum beta (negative by default, Gidel et al. 2019):
    ``x <- x - eta_x gx(x, y) + beta (x - x_prev)``, then
    ``y <- y + eta_y gy(x_new, y) + beta (y - y_prev)``; ``memory`` is ``(x_prev, y_prev)``
    (None on the first step: no momentum yet)."""
    beta = (hyper or Hyperparameters()).momentum
    px, py = memory if memory is not None else (x, y)
    gx, _ = game.gradients(x, y)
    nx = x - lr_x * gx + beta * (x - px)
    _, gy = game.gradients(nx, y)
    return nx, y + lr_y * gy + beta * (y - py), (x, y)


def co_step(game: Game, x: Tensor, y: Tensor, lr_x, lr_y, memory=None, hyper=None):
    """Consensus optimisation: ``z <- z - D (xi + gamma J^T xi)``, ``J^T xi = H grad f``."""
    gamma = (hyper or Hyperparameters()).co_gamma
    xi, h_g, _ = _field_products(game, x, y)
    return _descend(game, x, y, lr_x, lr_y, xi + gamma * h_g)


def sga_step(game: Game, x: Tensor, y: Tensor, lr_x, lr_y, memory=None, hyper=None):
    """Symplectic gradient adjustment: ``z <- z - D (xi + lambda A^T xi)`` with
    ``A^T xi = (J^T xi - J xi) / 2``; with alignment lambda's sign is chosen per iterate."""
    hyper = hyper or Hyperparameters()
    xi, h_g, s_h_xi = _field_products(game, x, y)
    adjustment = 0.5 * (h_g - s_h_xi)  # (B, N): A^T xi
    lam = torch.full_like(xi[..., :1], hyper.sga_lambda)  # (B, 1)
    if hyper.sga_align:  # grad of the Hamiltonian |xi|^2 / 2 is J^T xi = H grad f
        alignment = (xi * h_g).sum(-1, keepdim=True) * (adjustment * h_g).sum(-1, keepdim=True)
        sign = (alignment / xi.shape[-1] + SGA_ALIGN_EPSILON >= 0).to(DTYPE) * 2 - 1
        lam = abs(hyper.sga_lambda) * sign
    return _descend(game, x, y, lr_x, lr_y, xi + lam * adjustment)


def hgd_step(game: Game, x: Tensor, y: Tensor, lr_x, lr_y, memory=None, hyper=None):
    """Hamiltonian gradient descent: ``z <- z - D J^T xi`` (descent on ``|xi|^2 / 2``)."""
    _, h_g, _ = _field_products(game, x, y)
    return _descend(game, x, y, lr_x, lr_y, h_g)


def _descend(game: Game, x: Tensor, y: Tensor, lr_x, lr_y, direction: Tensor):
    """``z - D direction`` split back into ``(x, y, None)``; ``direction`` (B, N)."""
    dx, dy = game.split(direction)
    return x - lr_x * dx, y - lr_y * dy, None


def _field_products(game: Game, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``xi``, ``J^T xi = H g`` and ``J xi = S H xi`` at the rows of (x, y), each (B, N)
    (g = grad f, ``S = diag(I, -I)``): two Hessian-vector products by autograd."""
    z = torch.cat([x, y], dim=-1).detach().to(DTYPE).requires_grad_(True)
    sign = torch.ones(z.shape[-1], dtype=DTYPE)
    sign[game.x_dim :] = -1.0
    with torch.enable_grad():
        value = game.value(*game.split(z))
        if not value.requires_grad:
            zero = torch.zeros_like(z).detach()
            return zero, zero, zero
        (g,) = torch.autograd.grad(value.sum(), z, create_graph=True)
        xi = sign * g
        if not g.requires_grad:  # f is linear: H = 0
            return xi.detach(), torch.zeros_like(g), torch.zeros_like(g)
        (h_g,) = torch.autograd.grad(
            (g * g.detach()).sum(), z, retain_graph=True, allow_unused=True
        )
        (h_xi,) = torch.autograd.grad((g * xi.detach()).sum(), z, allow_unused=True)
    h_g = torch.zeros_like(g) if h_g is None else h_g
    h_xi = torch.zeros_like(g) if h_xi is None else h_xi
    return xi.detach(), h_g.detach(), (sign * h_xi).detach()


STEPS: dict[str, StepFn] = {
    "gda": gda_step, "alt-gda": alt_gda_step, "gd": gd_step, "ogda": ogda_step, "eg": eg_step,
    "nm-gda": nm_gda_step, "co": co_step, "sga": sga_step, "hgd": hgd_step,
}


@dataclass(frozen=True)
class RunResult:
    """How one run of a dynamic ended.

    Attributes:
        method, lr: the dynamic and its step size eta_x.
        status: "converged" (within ``tol`` of ``target``), "diverged" (a non-finite iterate or
            ``|z| > bound``) or "max-steps".
        steps: the number of steps taken.
        diverged_at: the step whose iterate was non-finite or out of bounds, else None.
        trajectory: the finite iterates, (steps + 1, N) (one fewer when the last was
            non-finite), columns ``x`` then ``y``.
        target: the stationary point distances are measured to, (N,), or None.
        distances: ``|z_k - target|`` per row of ``trajectory`` (empty without a target).
        x_dim: n.
        lr_ratio: R, with eta_y = R eta_x.
        hyperparameters: the hyper-parameters the dynamic used, by name.
    """

    method: str
    lr: float
    status: str
    steps: int
    diverged_at: int | None
    trajectory: np.ndarray
    target: np.ndarray | None
    distances: np.ndarray = field(default_factory=lambda: np.zeros(0))
    x_dim: int = 1
    lr_ratio: float = 1.0
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @property
    def x(self) -> np.ndarray:
        return self.trajectory[-1, : self.x_dim]

    @property
    def y(self) -> np.ndarray:
        return self.trajectory[-1, self.x_dim :]

    @property
    def lr_y(self) -> float:
        return self.lr * self.lr_ratio

    def to_dict(self, *, trajectory: bool = False) -> dict[str, Any]:
        """A JSON-ready summary (all numbers finite); ``trajectory=True`` adds the iterates."""
        out: dict[str, Any] = {
            "method": self.method, "lr": self.lr, "lr_y": self.lr_y, "lr_ratio": self.lr_ratio,
            "hyperparameters": dict(self.hyperparameters), "status": self.status,
            "steps": self.steps, "diverged_at": self.diverged_at, "x": self.x.tolist(),
            "y": self.y.tolist(),
            "target": None if self.target is None else _split(self.target, self.x_dim),
            "distance": finite_or_none(self.distances[-1]) if len(self.distances) else None,
        }
        if trajectory:
            out["trajectory"] = {
                "x": self.trajectory[:, : self.x_dim].tolist(),
                "y": self.trajectory[:, self.x_dim :].tolist(),
            }
        return out


def norms(v: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows of ``v`` (..., N), scaled so that squares cannot overflow."""
    scale = np.abs(v).max(axis=-1, keepdims=True)
    scale[~(scale > 0)] = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        return scale[..., 0] * np.linalg.norm(v / scale, axis=-1)


def _split(z: np.ndarray, x_dim: int) -> dict[str, list[float]]:
    return {"x": z[:x_dim].tolist(), "y": z[x_dim:].tolist()}


def run(
    game: Game, method: str, lr: float, steps: int, x0, y0, *, tol: float = 1e-8,
    bound: float = 1e6, target=None, lr_ratio: float = 1.0, hyper: Hyperparameters | None = None,
) -> RunResult:
    """Runs ``method`` for at most ``steps`` steps from ``(x0, y0)``.

    Args:
        game: the game.
        method: one of :data:`~gradgames.saddle.config.METHODS`.
        lr: the step size eta_x > 0 of the minimising player.
        steps: the most steps to take, 1 to :data:`~gradgames.saddle.config.MAX_STEPS`.
        x0, y0: the start, shapes (n,) and (m,) (a sequence of finite numbers).
        tol: the run stops as "converged" once ``|z - target| <= tol * max(1, |target|)``;
            0 never stops early unless the target is hit exactly.
        bound: the run stops as "diverged" once ``|z| > bound`` or z is not finite.
        target: the stationary point (N,) to converge to; None takes the stationary point
            nearest to the start, a saddle of the game when there is one.
        lr_ratio: R > 0, the maximising player's step size eta_y = R eta_x.
        hyper: the hyper-parameters of nm-gda, co and sga (the papers' defaults when None).

    Raises:
        ConfigError: an argument it cannot take, naming it.
    """
    return run_many(
        game, method, [lr], steps, x0, y0, tol=tol, bound=bound, target=target, lr_ratio=lr_ratio,
        hyper=hyper,
    )[0]


def as_start(name: str, values, dim: int) -> torch.Tensor:
    """``values`` as a float64 tensor (dim,): ``dim`` finite numbers, or one repeated.

    Raises:
        ConfigError: naming ``name``, for anything else.
    """
    try:
        flat = np.asarray(values, dtype=np.float64).reshape(-1).tolist()
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(name, f"must be finite numbers; got {shown(values)}") from None
    check_numbers(name, flat)
    if len(flat) == 1:
        flat = flat * dim
    if len(flat) != dim:
        what = "one number" if dim == 1 else f"one number or {dim}"
        raise ConfigError(
            name,
            f"has {len(flat)} numbers but f has {dim} "
            f"{name[0]}-coordinate{'s' if dim > 1 else ''}: give {what}",
        )
    return torch.tensor(flat, dtype=DTYPE)


def run_many(
    game: Game, method: str, lrs, steps: int, x0, y0, *, tol: float = 1e-8, bound: float = 1e6,
    target=None, lr_ratio: float = 1.0, hyper: Hyperparameters | None = None,
) -> list[RunResult]:
    """:func:`run` for several step sizes eta_x at once: one batch of B iterates, one row per
    step size, advanced together (rows are independent; a row that stops is frozen)."""
    check_choice("method", method, Method)
    for lr in np.ravel(lrs).tolist():
        check_lr(lr, lr_ratio)
    check_int("steps", steps, 1, MAX_STEPS)
    check_range("tol", tol, 0.0, 1.0)
    check_positive("bound", bound)
    lrs = np.asarray(lrs, dtype=np.float64).reshape(-1)
    hyper = hyper or Hyperparameters()
    x, y = as_start("x0", x0, game.x_dim), as_start("y0", y0, game.y_dim)
    z0 = torch.cat([x, y]).numpy()
    with torch.no_grad():
        at_start = float(game.value(x, y))
    if not math.isfinite(at_start):
        raise ConfigError(
            "x0", f"and y0 give a start where f = {at_start}: choose a start where f is defined"
        )
    goal = default_target(game, z0) if target is None else as_start("target", target, game.dim)
    goal = None if goal is None else np.asarray(goal, dtype=np.float64)
    lr_x = torch.as_tensor(lrs, dtype=DTYPE)[:, None]  # (B, 1)
    lr_y = lr_x * lr_ratio
    x, y = x.repeat(len(lrs), 1), y.repeat(len(lrs), 1)  # (B, n), (B, m)
    history = [np.tile(z0, (len(lrs), 1))]  # [(B, N)] per step
    end = np.full(len(lrs), -1)  # the step where a row stopped, -1 while it runs
    status = np.array(["max-steps"] * len(lrs), dtype=object)
    step, memory = STEPS[method], None
    for k in range(1, steps + 2):
        converged = (end < 0) & _close(history[-1], goal, tol)
        status[converged], end[converged] = "converged", k - 1
        running = end < 0
        if not running.any() or k == steps + 1:
            break
        nx, ny, memory = step(game, x, y, lr_x, lr_y, memory, hyper)
        keep = torch.as_tensor(running)[:, None]
        x, y = torch.where(keep, nx, x), torch.where(keep, ny, y)
        z = torch.cat([x, y], dim=1).numpy()
        bad = running & ~(np.isfinite(z).all(axis=1) & (norms(z) <= bound))
        status[bad], end[bad] = "diverged", k
        history.append(z)
    paths = np.stack(history, axis=1)  # (B, K + 1, N)
    extra = {"lr_ratio": float(lr_ratio), "hyperparameters": hyper.of(method)}
    return [
        _result(game, method, float(lrs[i]), str(status[i]), int(end[i]), paths[i], goal, extra)
        for i in range(len(lrs))
    ]


def _close(z: np.ndarray, goal: np.ndarray | None, tol: float) -> np.ndarray:
    """Rows of ``z`` (B, N) within ``tol * max(1, |goal|)`` of ``goal``."""
    if goal is None:
        return np.zeros(len(z), dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        return norms(z - goal) <= tol * max(1.0, float(np.linalg.norm(goal)))


def _result(
    game: Game, method: str, lr: float, status: str, end: int, path: np.ndarray,
    goal: np.ndarray | None, extra: dict[str, Any],
) -> RunResult:
    """One row of :func:`run_many` as a :class:`RunResult` (non-finite iterates dropped)."""
    steps = end if end >= 0 else len(path) - 1
    path = path[: steps + 1]
    if not np.all(np.isfinite(path[-1])):
        path = path[:-1]
    with np.errstate(over="ignore"):
        distances = np.zeros(0) if goal is None else norms(path - goal)
    diverged_at = steps if status == "diverged" else None
    return RunResult(
        method, lr, status, steps, diverged_at, path, goal, distances, game.x_dim, **extra
    )


def default_target(game: Game, z0: np.ndarray) -> np.ndarray | None:
    """The stationary point runs are measured against: the saddle of the game nearest to ``z0``,
    else the nearest stationary point of any type, else None."""
    points = game.stationary_points()
    if not points:
        return None
    saddles = [p for p in points if p.kind == "saddle"] or points
    return min((p.z for p in saddles), key=lambda z: float(np.linalg.norm(z - z0)))


def observed_rate(result: RunResult) -> float:
    """The geometric mean contraction ``(d_K / d_0)^(1/K)`` of the distance to the target."""
    d = result.distances
    if len(d) < 2 or d[0] == 0:
        return math.nan
    return float((d[-1] / d[0]) ** (1.0 / (len(d) - 1)))
