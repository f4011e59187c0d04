"""Exact step-size stability of each dynamic near a stationary point, with two step sizes.

Every dynamic is, near a stationary point, the linear map ``e+ = M e`` of :mod:`.linear`, with
``eta_y = R eta_x``. The update contracts near z* exactly when the spectral radius
``rho(M(eta_x)) < 1``, and the error then shrinks like ``rho^k``. This module gives the set of
eta_x > 0 with ``rho < 1`` (a union of open intervals), the best eta_x and its rate.

For gda, gd, eg, co, sga and hgd, M is a polynomial ``p(eta_x B)`` of one matrix B, so
``rho(eta) = max_lambda |p(eta lambda)|`` over the eigenvalues lambda of B and the interval ends
are the positive roots of the polynomials ``|p(eta lambda)|^2 - 1``: closed form. For alt-gda,
ogda and nm-gda the ends are found by a fine scan of ``rho(eta)`` and bisection on
``rho(eta) = 1`` to a relative precision of 1e-12.

References: the local analysis of game dynamics by the spectrum of the update's Jacobian follows
Mescheder, Nowozin and Geiger, "The Numerics of GANs" (NeurIPS 2017), Section 3, and Gidel et
al., "Negative Momentum for Improved Game Dynamics" (AISTATS 2019), Section 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradgames.config import check_choice, check_range
from gradgames.errors import ConfigError
from gradgames.saddle.config import LR_RATIO_RANGE, METHODS, Hyperparameters, Method
from gradgames.saddle.game import StationaryPoint
from gradgames.saddle.linear import (
    LINEAR,
    polynomial_form,
    singular_values,
    spectral_radius,
    step_scales,
    update_matrix,
)

STABLE_BELOW = 1.0 - 1e-12  # rho below this counts as contracting (rho = 1 is marginal)
RELATIVE_PRECISION = 1e-12

__all__ = [
    "METHODS", "Stability", "gd_growth", "spectral_radius", "stability", "stability_table",
    "update_matrix",
]


@dataclass(frozen=True)
class Stability:
    """The step sizes eta_x for which one dynamic contracts near one stationary point.

    Attributes:
        method: the dynamic.
        intervals: the open intervals ``(lo, hi)`` of eta_x > 0 with ``rho(M) < 1``
            (``hi`` is ``inf`` when there is no upper end).
        best_lr: the eta_x with the smallest spectral radius, None when no eta is stable.
        best_rate: that spectral radius, the linear rate of convergence.
        closed_form: whether the ends come from polynomial roots rather than bisection.
        lr_ratio: R = eta_y / eta_x.
        hyperparameters: the hyper-parameters the dynamic used, by name.
    """

    method: str
    intervals: list[tuple[float, float]]
    best_lr: float | None
    best_rate: float | None
    closed_form: bool
    lr_ratio: float = 1.0
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{"intervals": [[lo, hi], ...], "best_lr", "best_rate", "hyperparameters"}``
        (an infinite end as None)."""
        ends = [[lo, None if math.isinf(hi) else hi] for lo, hi in self.intervals]
        return {
            "intervals": ends, "best_lr": self.best_lr, "best_rate": self.best_rate,
            "hyperparameters": dict(self.hyperparameters),
        }

    @classmethod
    def from_dict(cls, method: str, data: dict[str, Any], lr_ratio: float = 1.0) -> Stability:
        """The inverse of :meth:`to_dict` (``closed_form`` is not recorded: read as False)."""
        intervals = [(lo, math.inf if hi is None else hi) for lo, hi in data["intervals"]]
        return cls(
            method, intervals, data["best_lr"], data["best_rate"], False, lr_ratio,
            dict(data.get("hyperparameters", {})),
        )


def stability(
    method: str, hessian: np.ndarray, x_dim: int, *, lr_ratio: float = 1.0,
    hyper: Hyperparameters | None = None,
) -> Stability:
    """The stable step sizes eta_x of ``method`` near a point with Hessian ``hessian`` (N, N),
    with eta_y = ``lr_ratio`` eta_x and ``hyper`` (the papers' defaults when None)."""
    check_choice("method", method, Method)
    check_range("lr_ratio", lr_ratio, *LR_RATIO_RANGE)
    hyper = hyper or Hyperparameters()
    h = np.asarray(hessian, dtype=np.float64)
    if not np.isfinite(h).all():
        raise ConfigError("hessian", "must be finite")
    if method in LINEAR:
        intervals, best, closed = *_polynomial_stability(method, h, x_dim, lr_ratio, hyper), True
    else:
        intervals, best, closed = *_scanned_stability(method, h, x_dim, lr_ratio, hyper), False
    return Stability(method, intervals, *best, closed, lr_ratio, hyper.of(method))


def stability_table(
    point: StationaryPoint, *, lr_ratio: float = 1.0, hyper: Hyperparameters | None = None,
    methods: tuple[str, ...] = METHODS,
) -> dict[str, Stability]:
    """:func:`stability` of every dynamic at one stationary point."""
    return {
        m: stability(m, point.hessian, len(point.x), lr_ratio=lr_ratio, hyper=hyper)
        for m in methods
    }


def gd_growth(hessian: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """The directions plain gd expands for every eta > 0.

    Returns ``(c, v)`` for each eigenpair of H with eigenvalue ``-c < 0``: gd multiplies the
    component of the error along v by ``1 + c eta`` per step (for f = 4x^2 - 4y^2: c = 8 along
    the y axis).
    """
    values, vectors = np.linalg.eigh(0.5 * (hessian + hessian.T))
    tol = 1e-9 * float(np.abs(values).max(initial=0.0))
    return [(float(-v), vectors[:, i]) for i, v in enumerate(values) if v < -tol]


def _eigenvalues(matrix: np.ndarray) -> list[complex]:
    """The distinct eigenvalues of ``matrix``, one of each conjugate pair (equal within 1e-12 of
    the largest modulus: relative, so lambda and -lambda stay apart however small f is)."""
    values = np.linalg.eigvals(matrix)
    tol = 1e-12 * np.abs(values).max(initial=0.0)
    distinct: list[complex] = []
    for lam in values:
        lam = complex(lam.real, abs(lam.imag))
        if all(abs(lam - d) > tol for d in distinct):
            distinct.append(lam)
    return distinct


def _modulus_squared(coeffs: tuple[float, ...], lam: complex) -> np.ndarray:
    """The real polynomial ``|p(eta lam)|^2`` in eta, coefficients highest power first."""
    q = np.array([c * lam**k for k, c in enumerate(coeffs)])[::-1]  # p(eta lam), highest first
    return np.real(np.polymul(q, np.conj(q)))


def _positive_roots(poly: np.ndarray) -> list[float]:
    """The positive real roots of ``poly`` (highest power first), polished by Newton steps."""
    poly = np.trim_zeros(poly, "f")
    if len(poly) < 2 or np.all(np.abs(poly) < 1e-300):
        return []
    derivative = np.polyder(poly)
    roots = []
    for r in np.roots(poly):
        if abs(r.imag) > 1e-7 * max(1.0, abs(r)) or r.real <= 0:
            continue
        root = r.real
        for _ in range(3):
            slope = np.polyval(derivative, root)
            if slope == 0:
                break
            root -= np.polyval(poly, root) / slope
        roots.append(float(root))
    return roots


def _polynomial_stability(method, hessian, x_dim, lr_ratio, hyper):
    """Closed form for ``M = p(eta B)``: the ends are roots of ``|p(eta lam)|^2 - 1``, the best
    eta is among the critical points of each ``|p(eta lam)|^2`` and their pairwise crossings.
    The polynomials are taken in ``u = eta s`` with s the largest ``|lam|`` (their coefficients
    then lie in [-4, 4] whatever the scale of f). Returns ``(intervals, (best_lr, best_rate))``.
    """
    matrix, coeffs = polynomial_form(method, hessian, x_dim, lr_ratio, hyper)
    lams = _eigenvalues(matrix)
    scale = max((abs(lam) for lam in lams), default=0.0)
    if not scale > 0:
        return [], (None, None)  # M = I: rho = 1 for every eta
    squares = [_modulus_squared(coeffs, lam / scale) for lam in lams]

    def rho(u: float) -> float:
        return max(math.sqrt(max(float(np.polyval(s, u)), 0.0)) for s in squares)

    ends = set()
    for s in squares:
        ends.update(_positive_roots(np.polysub(s, [1.0])))
    intervals = _stable_segments(rho, sorted(ends))
    candidates = set()
    for i, s in enumerate(squares):
        candidates.update(_positive_roots(np.polyder(s)))
        for t in squares[i + 1 :]:
            candidates.update(_positive_roots(np.polysub(s, t)))
    best_u, best_rate = _best_of(rho, intervals, sorted(candidates))
    intervals = [(lo / scale, hi / scale) for lo, hi in intervals]
    return intervals, (None if best_u is None else best_u / scale, best_rate)


def _stable_segments(rho, ends: list[float]) -> list[tuple[float, float]]:
    """The maximal runs of stable segments between consecutive ``ends`` (and 0 and inf)."""
    points = [0.0, *[e for e in ends if e > 0], math.inf]
    intervals: list[list[float]] = []
    for lo, hi in zip(points[:-1], points[1:], strict=True):
        mid = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * lo + 1.0
        if hi - lo <= RELATIVE_PRECISION * hi or rho(mid) >= STABLE_BELOW:
            continue
        if intervals and intervals[-1][1] == lo and rho(lo) < STABLE_BELOW:
            intervals[-1][1] = hi
        else:
            intervals.append([lo, hi])
    return [(lo, hi) for lo, hi in intervals]


def _best_of(rho, intervals, candidates) -> tuple[float | None, float | None]:
    """The candidate eta inside a stable interval with the smallest ``rho``."""
    inside = [c for c in candidates if any(lo < c < hi for lo, hi in intervals)]
    if not inside:
        return None, None
    best = min(inside, key=rho)
    return float(best), float(rho(best))


def _scanned_stability(method, hessian, x_dim, lr_ratio=1.0, hyper=None):
    """Scan + bisection: ``rho(eta)`` on a geometric grid over ``[1e-4 / s_max, 8 / s_min]``
    (s: the nonzero singular values of ``diag(I, R I) H``), 400 points a decade; every change
    between stable and unstable is bisected to relative precision 1e-12; the best eta is the
    grid minimum refined by golden-section search. Returns ``(intervals, (best_lr, best_rate))``.
    """
    hyper = hyper or Hyperparameters()
    singular = singular_values(step_scales(len(hessian), x_dim, lr_ratio)[:, None] * hessian)
    if len(singular) == 0:
        return [], (None, None)

    def rho(lr):  # a float for one eta, an array for a grid
        return spectral_radius(method, hessian, x_dim, lr, lr_ratio=lr_ratio, hyper=hyper)

    lo, hi = 1e-4 / singular.max(), 8.0 / singular.min()
    while rho(hi) < STABLE_BELOW and hi < 1e6 / singular.min():
        hi *= 2.0
    grid = np.geomspace(lo, hi, int(400 * math.log10(hi / lo)) + 2)
    values = rho(grid)  # (G,)
    stable = values < STABLE_BELOW
    intervals, start = [], 0.0 if stable[0] else None
    for i in np.flatnonzero(stable[1:] != stable[:-1]):
        edge = _bisect(rho, grid[i], grid[i + 1], stable_left=bool(stable[i]))
        if stable[i]:
            intervals.append((start, edge))
        else:
            start = edge
    if stable[-1]:
        intervals.append((start, math.inf))
    return intervals, _scan_best(rho, grid, np.where(stable, values, np.inf), intervals)


def _bisect(rho, a: float, b: float, *, stable_left: bool) -> float:
    """The eta in ``(a, b)`` where ``rho`` crosses :data:`STABLE_BELOW`, to relative 1e-12."""
    while b - a > RELATIVE_PRECISION * b:
        mid = 0.5 * (a + b)
        if (rho(mid) < STABLE_BELOW) == stable_left:
            a = mid
        else:
            b = mid
    return float(0.5 * (a + b))


def _scan_best(rho, grid, values, intervals) -> tuple[float | None, float | None]:
    """The grid's minimum of ``values`` (rho, inf where unstable), refined by golden-section
    search between its neighbours (clipped to its interval)."""
    if not intervals:
        return None, None
    i = int(np.argmin(values))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    lo, hi = next((lo, hi) for lo, hi in intervals if lo <= grid[i] <= hi)
    a, b = max(a, lo), min(b, hi)
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    while b - a > RELATIVE_PRECISION * b:
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if rho(c) <= rho(d):
            b = d
        else:
            a = c
    best = min((0.5 * (a + b), grid[i]), key=rho)
    return float(best), float(rho(best))
