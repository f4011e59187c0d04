"""Exact step-size stability of each dynamic near a stationary point.

Near a stationary point z* with Hessian ``H = [[Hxx, Hxy], [Hyx, Hyy]]`` every dynamic of
:mod:`.dynamics` is, to first order, a linear map ``e+ = M(eta) e`` of the error ``e = z - z*``
(for ``ogda`` on the pair ``(e_k, e_{k-1})``). With ``J = [[Hxx, Hxy], [-Hyx, -Hyy]]``:

* gda:     ``M = I - eta J``
* gd:      ``M = I - eta H``
* eg:      ``M = I - eta J + eta^2 J^2``
* alt-gda: ``M = [[I - eta Hxx, -eta Hxy], [eta Hyx (I - eta Hxx), I + eta Hyy - eta^2 Hyx Hxy]]``
* ogda:    ``M = [[I - 2 eta J, eta J], [I, 0]]`` (companion form of the two-step recursion)

The update contracts near z* exactly when the spectral radius ``rho(M(eta)) < 1``, and then
the error shrinks like ``rho^k``. For gda, gd and eg, M is a polynomial ``p(eta A)`` of one
matrix A (J or H), so ``rho(eta) = max_lambda |p(eta lambda)|`` over the eigenvalues lambda of
A and the interval ends are the positive roots of the polynomials ``|p(eta lambda)|^2 - 1``:
closed form. For alt-gda and ogda the ends are found by a fine scan of ``rho(eta)`` and
bisection on ``rho(eta) = 1`` to a relative precision of 1e-12.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradgames.saddle.game import StationaryPoint

METHODS = ("gda", "alt-gda", "gd", "ogda", "eg")
POLYNOMIALS = {"gda": (1.0, -1.0), "gd": (1.0, -1.0), "eg": (1.0, -1.0, 1.0)}  # p(w), low first
STABLE_BELOW = 1.0 - 1e-12  # rho below this counts as contracting (rho = 1 is marginal)
RELATIVE_PRECISION = 1e-12


@dataclass(frozen=True)
class Stability:
    """The step sizes for which one dynamic contracts near one stationary point.

    Attributes:
        method: the dynamic.
        intervals: the open intervals ``(lo, hi)`` of eta > 0 with ``rho(M(eta)) < 1``
            (``hi`` is ``inf`` when there is no upper end).
        best_lr: the eta with the smallest spectral radius, None when no eta is stable.
        best_rate: that spectral radius, the linear rate of convergence.
        closed_form: whether the ends come from polynomial roots rather than bisection.
    """

    method: str
    intervals: list[tuple[float, float]]
    best_lr: float | None
    best_rate: float | None
    closed_form: bool

    def to_dict(self) -> dict[str, Any]:
        """``{"intervals": [[lo, hi], ...], "best_lr": ..., "best_rate": ...}`` (inf -> None)."""
        ends = [[lo, None if math.isinf(hi) else hi] for lo, hi in self.intervals]
        return {"intervals": ends, "best_lr": self.best_lr, "best_rate": self.best_rate}

    def contains(self, lr: float) -> bool:
        return any(lo < lr < hi for lo, hi in self.intervals)


def field_jacobian(hessian: np.ndarray, x_dim: int) -> np.ndarray:
    """``J = [[Hxx, Hxy], [-Hyx, -Hyy]]``, the Jacobian of ``F = (grad_x f, -grad_y f)``."""
    jac = np.array(hessian, dtype=np.float64)
    jac[x_dim:] *= -1.0
    return jac


def update_matrix(method: str, hessian: np.ndarray, x_dim: int, lr) -> np.ndarray:
    """The Jacobian ``M(eta)`` of the linearised update (see the module docstring).

    ``lr`` may be a number, giving (K, K), or an array of G step sizes, giving (G, K, K);
    K = N, or 2N for ogda.
    """
    h = np.asarray(hessian, dtype=np.float64)
    eta = np.asarray(lr, dtype=np.float64).reshape(-1, 1, 1)  # (G, 1, 1)
    n = len(h)
    eye = np.eye(n)
    jac = field_jacobian(h, x_dim)
    if method == "gd":
        m = eye - eta * h
    elif method == "gda":
        m = eye - eta * jac
    elif method == "eg":
        m = eye - eta * jac + eta**2 * (jac @ jac)
    elif method == "ogda":
        m = np.zeros((len(eta), 2 * n, 2 * n))
        m[:, :n, :n] = eye - 2 * eta * jac
        m[:, :n, n:] = eta * jac
        m[:, n:, :n] = eye
    elif method == "alt-gda":
        hxx, hxy = h[:x_dim, :x_dim], h[:x_dim, x_dim:]
        hyx, hyy = h[x_dim:, :x_dim], h[x_dim:, x_dim:]
        m = np.zeros((len(eta), n, n))
        m[:, :x_dim, :x_dim] = np.eye(x_dim) - eta * hxx
        m[:, :x_dim, x_dim:] = -eta * hxy
        m[:, x_dim:, :x_dim] = eta * (hyx - eta * (hyx @ hxx))
        m[:, x_dim:, x_dim:] = np.eye(n - x_dim) + eta * hyy - eta**2 * (hyx @ hxy)
    else:
        raise ValueError(f"unknown method {method!r}")
    return m[0] if np.ndim(lr) == 0 else m


def spectral_radius(method: str, hessian: np.ndarray, x_dim: int, lr):
    """``rho(M(eta))``, the largest eigenvalue modulus of the linearised update (a float, or an
    array (G,) when ``lr`` is an array)."""
    radii = np.abs(np.linalg.eigvals(update_matrix(method, hessian, x_dim, lr))).max(axis=-1)
    return float(radii) if np.ndim(lr) == 0 else radii


def stability(method: str, hessian: np.ndarray, x_dim: int) -> Stability:
    """The stable step sizes of ``method`` near a point with Hessian ``hessian`` (N, N)."""
    if method in POLYNOMIALS:
        return _polynomial_stability(method, np.asarray(hessian, dtype=np.float64), x_dim)
    if method in ("alt-gda", "ogda"):
        return _scanned_stability(method, np.asarray(hessian, dtype=np.float64), x_dim)
    raise ValueError(f"unknown method {method!r}")


def stability_table(point: StationaryPoint) -> dict[str, Stability]:
    """:func:`stability` of every dynamic at one stationary point."""
    return {m: stability(m, point.hessian, len(point.x)) for m in METHODS}


def gd_growth(hessian: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """The directions plain gd expands for every eta > 0.

    Returns ``(c, v)`` for each eigenpair of H with eigenvalue ``-c < 0``: gd multiplies the
    component of the error along v by ``1 + c eta`` per step (for f = 4x^2 - 4y^2: c = 8 along
    the y axis).
    """
    values, vectors = np.linalg.eigh(0.5 * (hessian + hessian.T))
    tol = 1e-9 * max(1.0, float(np.abs(values).max(initial=0.0)))
    return [(float(-v), vectors[:, i]) for i, v in enumerate(values) if v < -tol]


def _eigenvalues(method: str, hessian: np.ndarray, x_dim: int) -> list[complex]:
    """The distinct eigenvalues of A (H for gd, else J), one of each conjugate pair."""
    matrix = hessian if method == "gd" else field_jacobian(hessian, x_dim)
    values = np.linalg.eigvals(matrix)
    distinct: list[complex] = []
    for lam in values:
        lam = complex(lam.real, abs(lam.imag))
        if all(abs(lam - d) > 1e-12 * max(1.0, abs(d)) for d in distinct):
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


def _polynomial_stability(method: str, hessian: np.ndarray, x_dim: int) -> Stability:
    """Closed form for ``M = p(eta A)``: the ends are roots of ``|p(eta lam)|^2 - 1``, the best
    eta is among the critical points of each ``|p(eta lam)|^2`` and their pairwise crossings."""
    coeffs = POLYNOMIALS[method]
    lams = _eigenvalues(method, hessian, x_dim)
    squares = [_modulus_squared(coeffs, lam) for lam in lams]

    def rho(lr: float) -> float:
        return max(math.sqrt(max(float(np.polyval(s, lr)), 0.0)) for s in squares)

    ends = set()
    for s in squares:
        ends.update(_positive_roots(np.polysub(s, [1.0])))
    intervals = _stable_segments(rho, sorted(ends))
    candidates = set()
    for i, s in enumerate(squares):
        candidates.update(_positive_roots(np.polyder(s)))
        for t in squares[i + 1 :]:
            candidates.update(_positive_roots(np.polysub(s, t)))
    best = _best_of(rho, intervals, sorted(candidates))
    return Stability(method, intervals, *best, closed_form=True)


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


def _scanned_stability(method: str, hessian: np.ndarray, x_dim: int) -> Stability:
    """Scan + bisection: ``rho(eta)`` on a geometric grid over ``[1e-4 / s_max, 8 / s_min]``
    (s: the nonzero singular values of H), 400 points a decade; every change between stable
    and unstable is bisected to relative precision 1e-12; the best eta is the grid minimum
    refined by golden-section search."""
    singular = np.linalg.svd(hessian, compute_uv=False)
    singular = singular[singular > 1e-12 * max(1.0, float(singular.max(initial=0.0)))]
    if len(singular) == 0:
        return Stability(method, [], None, None, closed_form=False)

    def rho(lr: float) -> float:
        return spectral_radius(method, hessian, x_dim, lr)

    lo, hi = 1e-4 / singular.max(), 8.0 / singular.min()
    while rho(hi) < STABLE_BELOW and hi < 1e6 / singular.min():
        hi *= 2.0
    grid = np.geomspace(lo, hi, int(400 * math.log10(hi / lo)) + 2)
    radii = spectral_radius(method, hessian, x_dim, grid)  # (G,)
    stable = radii < STABLE_BELOW
    intervals, start = [], 0.0 if stable[0] else None
    for i in np.flatnonzero(stable[1:] != stable[:-1]):
        edge = _bisect(rho, grid[i], grid[i + 1], stable_left=bool(stable[i]))
        if stable[i]:
            intervals.append((start, edge))
        else:
            start = edge
    if stable[-1]:
        intervals.append((start, math.inf))
    best = _scan_best(rho, grid, np.where(stable, radii, np.inf), intervals)
    return Stability(method, intervals, *best, closed_form=False)


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
