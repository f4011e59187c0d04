"""First-order dynamics on ``min_x max_y f(x, y)`` and a runner that reports how they end.

With ``gx = grad_x f``, ``gy = grad_y f`` and step size ``lr`` (eta):

* ``gda``     simultaneous descent-ascent: ``x+ = x - lr gx(x, y)``, ``y+ = y + lr gy(x, y)``.
* ``alt-gda`` alternating: ``x+ = x - lr gx(x, y)``, then ``y+ = y + lr gy(x+, y)``.
* ``gd``      gradient descent on both players (the assignment's mistake):
  ``x+ = x - lr gx``, ``y+ = y - lr gy``.
* ``ogda``    optimistic GDA on ``F = (gx, -gy)``: ``z+ = z - 2 lr F(z) + lr F(z-)`` with
  ``z-`` the previous iterate (the first step is a gda step).
* ``eg``      extragradient: ``z' = z - lr F(z)``, ``z+ = z - lr F(z')``.

Every step function has the signature ``step(game, x, y, lr, memory) -> (x, y, memory)``;
``memory`` is the previous field for ``ogda`` and None for the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from gradgames.errors import UsageError
from gradgames.saddle.game import DTYPE, Game

Tensor = torch.Tensor
StepFn = Callable[[Game, Tensor, Tensor, float, Any], tuple[Tensor, Tensor, Any]]
STATUSES = ("converged", "diverged", "max-steps")


def gda_step(game: Game, x: Tensor, y: Tensor, lr: float, memory: Any = None):
    """Simultaneous GDA: ``(x, y) <- (x - lr gx(x, y), y + lr gy(x, y))``."""
    gx, gy = game.gradients(x, y)
    return x - lr * gx, y + lr * gy, None


def alt_gda_step(game: Game, x: Tensor, y: Tensor, lr: float, memory: Any = None):
    """Alternating GDA: ``x <- x - lr gx(x, y)``, then ``y <- y + lr gy(x_new, y)``."""
    gx, _ = game.gradients(x, y)
    x = x - lr * gx
    _, gy = game.gradients(x, y)
    return x, y + lr * gy, None


def gd_step(game: Game, x: Tensor, y: Tensor, lr: float, memory: Any = None):
    """Gradient descent on both players: ``(x, y) <- (x - lr gx, y - lr gy)``."""
    gx, gy = game.gradients(x, y)
    return x - lr * gx, y - lr * gy, None


def ogda_step(game: Game, x: Tensor, y: Tensor, lr: float, memory: Any = None):
    """Optimistic GDA: ``z <- z - lr (2 F(z) - F(z_prev))`` with ``F = (gx, -gy)``.

    ``memory`` holds ``(gx, gy)`` of the previous iterate (None on the first step, which then
    uses the current gradients twice: a gda step).
    """
    gx, gy = game.gradients(x, y)
    px, py = memory if memory is not None else (gx, gy)
    return x - lr * (2 * gx - px), y + lr * (2 * gy - py), (gx, gy)


def eg_step(game: Game, x: Tensor, y: Tensor, lr: float, memory: Any = None):
    """Extragradient: ``(x', y') = (x - lr gx(x, y), y + lr gy(x, y))``, then
    ``(x, y) <- (x - lr gx(x', y'), y + lr gy(x', y'))``."""
    gx, gy = game.gradients(x, y)
    gx, gy = game.gradients(x - lr * gx, y + lr * gy)
    return x - lr * gx, y + lr * gy, None


METHODS: dict[str, StepFn] = {
    "gda": gda_step,
    "alt-gda": alt_gda_step,
    "gd": gd_step,
    "ogda": ogda_step,
    "eg": eg_step,
}


@dataclass
class RunResult:
    """How one run of a dynamic ended.

    Attributes:
        method, lr: the dynamic and its step size.
        status: "converged" (within ``tol`` of ``target``), "diverged" (a non-finite iterate or
            ``|z| > bound``) or "max-steps".
        steps: the number of steps taken.
        diverged_at: the step whose iterate was non-finite or out of bounds, else None.
        trajectory: the finite iterates, (steps + 1, N) (one fewer when the last was
            non-finite), columns ``x`` then ``y``.
        target: the stationary point distances are measured to, (N,), or None.
        distances: ``|z_k - target|`` per row of ``trajectory`` (empty without a target).
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

    @property
    def x(self) -> np.ndarray:
        return self.trajectory[-1, : self.x_dim]

    @property
    def y(self) -> np.ndarray:
        return self.trajectory[-1, self.x_dim :]

    def to_dict(self, *, trajectory: bool = False) -> dict[str, Any]:
        """A JSON-ready summary (all numbers finite); ``trajectory=True`` adds the iterates."""
        out: dict[str, Any] = {
            "method": self.method,
            "lr": self.lr,
            "status": self.status,
            "steps": self.steps,
            "diverged_at": self.diverged_at,
            "x": self.x.tolist(),
            "y": self.y.tolist(),
            "target": None if self.target is None else _split(self.target, self.x_dim),
            "distance": _finite_or_none(self.distances[-1]) if len(self.distances) else None,
        }
        if trajectory:
            out["trajectory"] = {
                "x": self.trajectory[:, : self.x_dim].tolist(),
                "y": self.trajectory[:, self.x_dim :].tolist(),
            }
        return out


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def norms(v: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows of ``v`` (..., N), scaled so that squares cannot overflow."""
    scale = np.abs(v).max(axis=-1, keepdims=True)
    scale[~(scale > 0)] = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        return scale[..., 0] * np.linalg.norm(v / scale, axis=-1)


def _split(z: np.ndarray, x_dim: int) -> dict[str, list[float]]:
    return {"x": z[:x_dim].tolist(), "y": z[x_dim:].tolist()}


def run(
    game: Game,
    method: str,
    lr: float,
    steps: int,
    x0,
    y0,
    *,
    tol: float = 1e-8,
    bound: float = 1e6,
    target=None,
) -> RunResult:
    """Runs ``method`` for at most ``steps`` steps from ``(x0, y0)``.

    Args:
        game: the game.
        method: a key of :data:`METHODS`.
        lr: the step size eta > 0.
        steps: the most steps to take.
        x0, y0: the start, shapes (n,) and (m,) (anything ``torch.as_tensor`` takes).
        tol: the run stops as "converged" once ``|z - target| <= tol * max(1, |target|)``;
            0 never stops early unless the target is hit exactly.
        bound: the run stops as "diverged" once ``|z| > bound`` or z is not finite.
        target: the stationary point (N,) to converge to; None takes the stationary point
            nearest to the start, a saddle of the game when there is one.
    """
    return run_many(game, method, [lr], steps, x0, y0, tol=tol, bound=bound, target=target)[0]


def run_many(
    game: Game,
    method: str,
    lrs,
    steps: int,
    x0,
    y0,
    *,
    tol: float = 1e-8,
    bound: float = 1e6,
    target=None,
) -> list[RunResult]:
    """:func:`run` for several step sizes at once: one batch of B iterates, one row per step
    size, advanced together (rows are independent; a row that stops is frozen)."""
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    lrs = np.asarray(lrs, dtype=np.float64).reshape(-1)
    x = torch.as_tensor(x0, dtype=DTYPE).reshape(game.x_dim)
    y = torch.as_tensor(y0, dtype=DTYPE).reshape(game.y_dim)
    z0 = torch.cat([x, y]).numpy()
    goal = default_target(game, z0) if target is None else np.asarray(target, dtype=np.float64)
    lr = torch.as_tensor(lrs, dtype=DTYPE)[:, None]  # (B, 1)
    x, y = x.repeat(len(lrs), 1), y.repeat(len(lrs), 1)  # (B, n), (B, m)
    history = [np.tile(z0, (len(lrs), 1))]  # [(B, N)] per step
    end = np.full(len(lrs), -1)  # the step where a row stopped, -1 while it runs
    status = np.array(["max-steps"] * len(lrs), dtype=object)
    step, memory = METHODS[method], None
    for k in range(1, steps + 2):
        converged = (end < 0) & _close(history[-1], goal, tol)
        status[converged], end[converged] = "converged", k - 1
        running = end < 0
        if not running.any() or k == steps + 1:
            break
        nx, ny, memory = step(game, x, y, lr, memory)
        keep = torch.as_tensor(running)[:, None]
        x, y = torch.where(keep, nx, x), torch.where(keep, ny, y)
        z = torch.cat([x, y], dim=1).numpy()
        bad = running & ~(np.isfinite(z).all(axis=1) & (norms(z) <= bound))
        status[bad], end[bad] = "diverged", k
        history.append(z)
    paths = np.stack(history, axis=1)  # (B, K + 1, N)
    return [
        _result(game, method, float(lrs[i]), str(status[i]), int(end[i]), paths[i], goal)
        for i in range(len(lrs))
    ]


def _close(z: np.ndarray, goal: np.ndarray | None, tol: float) -> np.ndarray:
    """Rows of ``z`` (B, N) within ``tol * max(1, |goal|)`` of ``goal``."""
    if goal is None:
        return np.zeros(len(z), dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        return norms(z - goal) <= tol * max(1.0, float(np.linalg.norm(goal)))


def _result(
    game: Game,
    method: str,
    lr: float,
    status: str,
    end: int,
    path: np.ndarray,
    goal: np.ndarray | None,
) -> RunResult:
    """One row of :func:`run_many` as a :class:`RunResult` (non-finite iterates dropped)."""
    steps = end if end >= 0 else len(path) - 1
    path = path[: steps + 1]
    if not np.all(np.isfinite(path[-1])):
        path = path[:-1]
    with np.errstate(over="ignore"):
        distances = np.zeros(0) if goal is None else norms(path - goal)
    diverged_at = steps if status == "diverged" else None
    return RunResult(method, lr, status, steps, diverged_at, path, goal, distances, game.x_dim)


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
