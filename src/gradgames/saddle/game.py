"""Two-player zero-sum games ``min_x max_y f(x, y)``: derivatives, stationary points, their type.

Notation used across :mod:`gradgames.saddle`: ``x`` in R^n (``x_dim``), ``y`` in R^m (``y_dim``),
``z = (x, y)`` in R^N with N = n + m, the Hessian ``H = [[Hxx, Hxy], [Hyx, Hyy]]`` and the
descent-ascent field ``F(z) = (grad_x f, -grad_y f)`` with Jacobian
``J = [[Hxx, Hxy], [-Hyx, -Hyy]]``. All derivatives come from torch.autograd in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product

import numpy as np
import torch

from gradgames.config import check_int, check_range, check_seed
from gradgames.errors import UsageError
from gradgames.saddle.config import KINDS, MAX_BOX
from gradgames.saddle.expr import Expression

Objective = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
DTYPE = torch.float64
STALL = 15  # Newton iterations without a shrinking step before a start is given up
__all__ = ["DTYPE", "KINDS", "Game", "StationaryPoint", "classify", "newton"]


@dataclass(frozen=True)
class StationaryPoint:
    """A point with ``grad f = 0`` and its type (one of :data:`KINDS`).

    Attributes:
        x, y: the coordinates, shapes (n,) and (m,).
        kind: see :func:`classify`.
        value: ``f(x, y)``.
        hessian: the (N, N) Hessian of f at the point.
    """

    x: np.ndarray
    y: np.ndarray
    kind: str
    value: float
    hessian: np.ndarray

    @property
    def z(self) -> np.ndarray:
        return np.concatenate([self.x, self.y])


class Game:
    """The game ``min_x max_y f(x, y)``.

    Args:
        f: the objective. With ``batched=False`` it takes one point, tensors of shapes (n,) and
            (m,), and returns a scalar tensor; with ``batched=True`` it takes (..., n) and
            (..., m) and returns (...). It must be written with torch operations.
        x_dim, y_dim: n and m.
        name: how reports show ``f``.
        quadratic: whether ``f`` is a quadratic (then stationary points are solved for
            exactly); None tests it numerically (a constant Hessian at random points).
        batched: see ``f``.
    """

    def __init__(
        self, f: Objective, x_dim: int, y_dim: int, *, name: str | None = None,
        quadratic: bool | None = None, batched: bool = False,
    ):
        check_int("x_dim", x_dim, 1, 4096)
        check_int("y_dim", y_dim, 1, 4096)
        self.f, self.x_dim, self.y_dim = f, int(x_dim), int(y_dim)
        self.name = name or getattr(f, "__name__", "f")
        self.batched = batched
        origin = torch.zeros(self.dim, dtype=DTYPE)
        probe = self.value(*self.split(origin))
        if probe.ndim != 0:
            raise UsageError(
                f"{self.name} must return a scalar per point; got shape {tuple(probe.shape)}"
            )
        self._quadratic = quadratic
        self._points: dict[tuple[float, int], list[StationaryPoint]] = {}

    @classmethod
    def from_expression(cls, text: str) -> Game:
        """The game of an expression such as ``"4*x**2 - 4*y**2"`` (see :mod:`.expr`)."""
        expr = Expression(text)
        quadratic = expr.degree is not None and expr.degree <= 2
        return cls(expr, expr.x_dim, expr.y_dim, name=text, quadratic=quadratic, batched=True)

    @property
    def dim(self) -> int:
        return self.x_dim + self.y_dim

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z`` (..., N) -> ``x`` (..., n), ``y`` (..., m)."""
        return z[..., : self.x_dim], z[..., self.x_dim :]

    def value(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``f(x, y)`` for one point or a batch, shapes (..., n), (..., m) -> (...)."""
        if self.batched or (x.ndim == 1 and y.ndim == 1):
            return self.f(x, y)
        batch = np.broadcast_shapes(x.shape[:-1], y.shape[:-1])
        xs = x.expand(*batch, self.x_dim).reshape(-1, self.x_dim)
        ys = y.expand(*batch, self.y_dim).reshape(-1, self.y_dim)
        values = [self.f(xi, yi) for xi, yi in zip(xs, ys, strict=True)]
        return torch.stack(values).reshape(batch)

    def gradients(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(grad_x f, grad_y f)`` at one point or a batch of points (rows independent)."""
        x = x.detach().to(DTYPE).requires_grad_(True)
        y = y.detach().to(DTYPE).requires_grad_(True)
        with torch.enable_grad():
            value = self.value(x, y)
            if not value.requires_grad:  # f does not depend on x or y
                return torch.zeros_like(x).detach(), torch.zeros_like(y).detach()
            gx, gy = torch.autograd.grad(value.sum(), (x, y), allow_unused=True)
        gx = torch.zeros_like(x) if gx is None else gx
        gy = torch.zeros_like(y) if gy is None else gy
        return gx.detach(), gy.detach()

    def hessians(self, z: torch.Tensor) -> torch.Tensor:
        """The Hessians of f at the rows of ``z`` (B, N) -> (B, N, N), one backward per row of H,
        symmetrised: ``(H + H^T) / 2`` (f is C^2 where it is smooth, so H is symmetric; this
        averages what autograd's rules for non-smooth corners, such as pow's at exponent 0,
        make of the two mixed derivatives)."""
        z = z.detach().to(DTYPE).requires_grad_(True)
        rows = []
        with torch.enable_grad():
            value = self.value(*self.split(z))
            if not value.requires_grad:
                return torch.zeros(len(z), self.dim, self.dim, dtype=DTYPE)
            (grad,) = torch.autograd.grad(value.sum(), z, create_graph=True, allow_unused=True)
            grad = torch.zeros_like(z) if grad is None else grad
            for i in range(self.dim):
                if not grad.requires_grad:
                    rows.append(torch.zeros_like(z))
                    continue
                (row,) = torch.autograd.grad(
                    grad[:, i].sum(), z, retain_graph=True, allow_unused=True
                )
                rows.append(torch.zeros_like(z) if row is None else row)
        h = torch.stack(rows, dim=1).detach()  # (B, N, N)
        return 0.5 * (h + h.transpose(1, 2))

    def hessian(self, x, y) -> np.ndarray:
        """The (N, N) Hessian ``[[Hxx, Hxy], [Hyx, Hyy]]`` of f at one point."""
        z = torch.cat([torch.as_tensor(x, dtype=DTYPE), torch.as_tensor(y, dtype=DTYPE)])
        return self.hessians(z[None])[0].numpy()

    @property
    def quadratic(self) -> bool:
        """Whether f is quadratic (its Hessian is the same at the origin and random points)."""
        if self._quadratic is None:
            generator = torch.Generator().manual_seed(0)
            z = torch.cat(
                [
                    torch.zeros(1, self.dim, dtype=DTYPE),
                    4 * torch.rand(3, self.dim, generator=generator, dtype=DTYPE) - 2,
                ]
            )
            h = self.hessians(z)
            scale = float(h.abs().max())  # relative: c f is quadratic when f is
            constant = (h - h[0]).abs().max() <= 1e-9 * scale
            self._quadratic = bool(torch.isfinite(h).all() and constant)
        return self._quadratic

    def stationary_points(self, *, box: float = 3.0, seed: int = 0) -> list[StationaryPoint]:
        """The stationary points of f, sorted by distance from the origin.

        Quadratics: the solutions of ``H z = -grad f(0)`` (the minimum-norm one, typed
        "degenerate", when H is singular and the system consistent; none when inconsistent).
        Otherwise Newton's method from a grid of starts in ``[-box, box]^N`` (random starts
        when N > 8), keeping the points where its iterates settled (:func:`newton`) inside the
        box, merging those closer than 1e-6. Types are decided at the scale of f's curvature
        over the starts (:func:`classify`).

        Raises:
            ConfigError: ``box`` outside ``(0, MAX_BOX]`` or a bad ``seed``.
            UsageError: f is not finite at any start, or its derivatives overflow float64.
        """
        check_range("box", box, 0.0, MAX_BOX, low_open=True)
        check_seed("seed", seed)
        key = (float(box), int(seed))
        if key not in self._points:  # f is fixed: the search is done once per box and seed
            self._points[key] = self._search(box, seed)
        return list(self._points[key])

    def saddles_first(self, *, box: float = 3.0) -> list[StationaryPoint]:
        """:meth:`stationary_points` with the game's saddles first (the points runs and maps
        are measured against by default)."""
        points = self.stationary_points(box=box)
        return [p for p in points if p.kind == "saddle"] + [p for p in points if p.kind != "saddle"]

    def _search(self, box: float, seed: int) -> list[StationaryPoint]:
        if self.quadratic:
            return [self.point(z) for z in self._solve_quadratic()]
        starts = _starts(self.dim, box, seed)
        gradient_scale, curvature_scale = self._scales(starts, box)
        found = newton(self, starts, box=box, gradient_scale=gradient_scale)
        points = [self.point(z, scale=curvature_scale) for z in _deduplicate(found)]
        return [p for p in points if np.isfinite(p.value)]

    def _scales(self, starts: torch.Tensor, box: float) -> tuple[float, float]:
        """The scale of f's gradient and of its Hessian over ``starts`` (B, N): the medians of
        their nonzero finite norms (0 where there are none).

        Raises:
            UsageError: f is not finite at any start.
        """
        with torch.no_grad():
            values = self.value(*self.split(starts))
        if not torch.isfinite(values).any():
            at = float(self.value(*self.split(torch.zeros(self.dim, dtype=DTYPE))))
            raise UsageError(
                f"f is not finite at any of the {len(starts)} points tried in [-{box:g}, "
                f"{box:g}]^{self.dim} (f at the origin = {at}): give an f defined there"
            )
        grad = torch.cat(self.gradients(*self.split(starts)), dim=-1).norm(dim=1)
        hess = torch.linalg.matrix_norm(self.hessians(starts))
        return _median_scale(grad), _median_scale(hess)

    def point(self, z: np.ndarray, *, scale: float | None = None) -> StationaryPoint:
        """The :class:`StationaryPoint` at ``z`` (N,), typed by :func:`classify` (at the
        curvature ``scale`` of f, or the Hessian's own when None).

        Raises:
            UsageError: the Hessian there is not finite.
        """
        z = np.asarray(z, dtype=np.float64) + 0.0  # no -0.0 in reports
        x, y = z[: self.x_dim], z[self.x_dim :]
        hessian = self.hessian(x, y)
        if not np.isfinite(hessian).all():
            where = ", ".join(f"{v:.6g}" for v in z)
            raise UsageError(
                f"f has a stationary point at ({where}) where its second derivatives are not "
                "finite in float64, so its type and stable step sizes cannot be decided: "
                "rewrite f to be twice differentiable there"
            )
        value = float(self.value(torch.as_tensor(x), torch.as_tensor(y)))
        kind = classify(hessian, self.x_dim, quadratic=self.quadratic, scale=scale)
        return StationaryPoint(x=x, y=y, kind=kind, value=value, hessian=hessian)

    def _solve_quadratic(self) -> list[np.ndarray]:
        origin = torch.zeros(self.dim, dtype=DTYPE)
        gx, gy = self.gradients(*self.split(origin))
        g = torch.cat([gx, gy]).numpy()
        h = self.hessian(*self.split(origin))
        if not (np.isfinite(g).all() and np.isfinite(h).all()):
            raise UsageError(
                "f's derivatives at the origin are not finite in float64 (an overflow or a "
                "division by zero): rescale f"
            )
        z, *_ = np.linalg.lstsq(h, -g, rcond=None)
        size = np.linalg.norm(g) + np.linalg.norm(h, 2) * np.linalg.norm(z)  # f and c f alike
        if np.linalg.norm(h @ z + g) > 1e-9 * size:
            return []
        return [z]

    def __repr__(self) -> str:
        return f"Game({self.name!r}, x_dim={self.x_dim}, y_dim={self.y_dim})"


def classify(
    hessian: np.ndarray, x_dim: int, *, quadratic: bool = False, scale: float | None = None
) -> str:
    """The type of a stationary point from the blocks of its Hessian H = [[Hxx, Hxy], [Hyx, Hyy]].

    * "saddle": the game's saddle, a local minimum in x and maximum in y: Hxx > 0 and Hyy < 0
      (positive / negative definite). For a quadratic f, Hxx >= 0 and Hyy <= 0 with H
      nonsingular suffice (f is then convex in x and concave in y; e.g. f = x*y).
    * "min" / "max": H > 0 / H < 0.
    * "degenerate": H is singular, or the blocks are only semidefinite in a non-quadratic f,
      so the second-order test cannot decide.
    * "other-saddle": H is nonsingular and indefinite but the point is no saddle of the game.

    Eigenvalues within ``1e-9 * max(scale, |H|)`` of zero count as zero: ``scale`` is the size
    of f's curvature elsewhere (so that a vanishing Hessian at a degenerate point is zero), None
    the Hessian's own; never an absolute size, so f and c f have the same types.
    """
    hessian = 0.5 * (hessian + hessian.T)
    eig = np.linalg.eigvalsh(hessian)
    tol = 1e-9 * max(scale or 0.0, float(np.abs(eig).max(initial=0.0)))
    exx = np.linalg.eigvalsh(hessian[:x_dim, :x_dim])
    eyy = np.linalg.eigvalsh(hessian[x_dim:, x_dim:])
    singular = bool(np.any(np.abs(eig) <= tol))
    if exx.min() > tol and eyy.max() < -tol:
        return "saddle"
    if eig.min() > tol:
        return "min"
    if eig.max() < -tol:
        return "max"
    if singular:
        return "degenerate"
    if exx.min() >= -tol and eyy.max() <= tol:
        return "saddle" if quadratic else "degenerate"
    return "other-saddle"


def _starts(dim: int, box: float, seed: int) -> torch.Tensor:
    """Newton starts: a grid of k^dim points in [-box, box]^dim (about 256), random if dim > 8."""
    if dim > 8:
        generator = torch.Generator().manual_seed(seed)
        return box * (2 * torch.rand(256, dim, generator=generator, dtype=DTYPE) - 1)
    k = max(2, int(256 ** (1 / dim)))
    axis = np.linspace(-box, box, k)
    return torch.tensor(list(product(axis, repeat=dim)), dtype=DTYPE)


def newton(
    game: Game, starts: torch.Tensor, *, box: float, gradient_scale: float = 1.0,
    iterations: int = 200,
) -> np.ndarray:
    """Newton's method ``z <- z - H(z)^-1 grad f(z)`` from each row of ``starts`` (B, N).

    A point is kept only where Newton's iterates settled on a genuine zero of the gradient:

    * the last step was an exact solve of ``H s = grad f`` (the pseudo-inverse, used where H is
      exactly singular, only moves the iterate on: a step that ignores a direction says nothing
      about the gradient along it), or the gradient is exactly zero after a jump (below);
    * that step is below ``1e-13 * max(1, |z|)``, or below ``1e-6 * max(1, |z|)`` and shrinking
      (at most 0.9 times the one before) when the iterations end;
    * ``|grad f| <= 1e-6 * gradient_scale`` there, and the point lies in ``[-box, box]^N``.

    At a zero of order k (``x**k``) Newton's steps shrink by the same ratio r = (k - 1) / k
    each time, so slowly for large k that the iterations would end first: where two ratios in a
    row agree to 1e-6 and lie in (0.5, 0.999), the iterate jumps to the limit of the geometric
    series, ``z - s r / (1 - r)`` (Aitken's extrapolation), which is exact for ``x**k``. There
    the derivatives may underflow to exactly zero, which then counts as a genuine zero.

    A row whose step has not shrunk for :data:`STALL` iterations in a row is dropped (Newton
    walks off to infinity at a constant pace where f has no critical point, as ``exp(x)``;
    where its derivatives underflow to zero there, with no jump, nothing is kept). A row
    leaves when it turns non-finite or wanders beyond ``1e3 * box``. Returns the kept points
    (K, N).
    """
    n = len(starts)
    z, done = starts.clone(), []
    previous, ratio = torch.full((n,), math.inf, dtype=DTYPE), torch.zeros(n, dtype=DTYPE)
    settled, jumped = torch.zeros(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool)
    stalled = torch.zeros(n, dtype=torch.long)  # steps in a row that did not shrink
    for _ in range(iterations):
        grad = torch.cat(game.gradients(*game.split(z)), dim=-1)  # (B, N)
        hess = game.hessians(z)  # (B, N, N)
        alive = torch.isfinite(grad).all(1) & torch.isfinite(hess).flatten(1).all(1)
        alive &= (z.abs().max(dim=1).values < 1e3 * box) & (stalled < STALL)
        grad, hess = grad[alive], hess[alive]
        z, previous, ratio, settled, stalled, jumped = (
            t[alive] for t in (z, previous, ratio, settled, stalled, jumped)
        )
        if len(z) == 0:
            break
        step, exact = _newton_step(hess, grad)  # (B, N), (B,)
        size = step.norm(dim=1)
        ratio, last_ratio = size / previous, ratio
        linear = (ratio > 0.5) & (ratio < 0.999) & ((ratio - last_ratio).abs() < 1e-6)
        z = z - step * torch.where(linear, 1 / (1 - ratio), 1.0)[:, None]
        jumped |= linear
        reach = z.norm(dim=1).clamp(min=1.0)
        flat = jumped & (grad == 0).all(1)  # after a jump to a zero of high order
        finished = (exact | flat) & (size <= 1e-13 * reach)
        done.append(z[finished])
        stuck = size <= 1e-13 * reach  # only the pseudo-inverse's null space is left
        settled = exact & (size <= 1e-6 * reach) & (size <= 0.9 * previous)
        stalled = torch.where(size > 0.99 * previous, stalled + 1, 0)
        stay = ~finished & ~stuck
        z, previous, ratio, settled, stalled, jumped = (
            t[stay] for t in (z, size, ratio, settled, stalled, jumped)
        )
    z = torch.cat([*done, z[settled]])
    grad = torch.cat(game.gradients(*game.split(z)), dim=-1)
    keep = grad.norm(dim=1) <= 1e-6 * gradient_scale
    keep &= z.abs().max(dim=1).values <= box * (1 + 1e-9)
    return z[keep].numpy()


def _newton_step(hess: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``H^-1 grad`` per row (B, N) and whether it was an exact solve (B,); rows whose H is
    singular get ``pinv(H) grad``."""
    solution, info = torch.linalg.solve_ex(hess, grad[:, :, None])
    step = solution[:, :, 0]
    exact = (info == 0) & torch.isfinite(step).all(dim=1)
    if not exact.all():
        fallback = torch.linalg.pinv(hess[~exact]) @ grad[~exact][:, :, None]
        step = step.clone()
        step[~exact] = fallback[:, :, 0]
    return step, exact


def _median_scale(norms: torch.Tensor) -> float:
    """The median of the finite nonzero entries of ``norms`` (0.0 when there are none)."""
    usable = norms[torch.isfinite(norms) & (norms > 0)]
    return float(usable.median()) if len(usable) else 0.0


def _deduplicate(points: np.ndarray, tol: float = 1e-6) -> list[np.ndarray]:
    """The points of ``points`` (K, N) with near-duplicates merged, nearest to the origin first."""
    kept: list[np.ndarray] = []
    for z in sorted(points, key=lambda p: (float(np.linalg.norm(p)), tuple(p))):
        if all(np.linalg.norm(z - k) > tol * max(1.0, np.linalg.norm(z)) for k in kept):
            kept.append(np.where(np.abs(z) < 1e-12, 0.0, z))
    return kept
