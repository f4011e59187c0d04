"""The linearised update of every dynamic near a stationary point, with two step sizes.

Near a stationary point z* with Hessian ``H = [[Hxx, Hxy], [Hyx, Hyy]]`` every dynamic of
:mod:`.dynamics` is, to first order, a linear map ``e+ = M e`` of the error ``e = z - z*`` (for
``ogda`` and ``nm-gda`` on the pair ``(e_k, e_{k-1})``). With ``J = [[Hxx, Hxy], [-Hyx, -Hyy]]``
(the Jacobian of the simultaneous descent field ``xi = (grad_x f, -grad_y f)``), the step sizes
``D = diag(eta_x I_n, eta_y I_m)``, ``eta_y = R eta_x``, ``P_x``, ``P_y`` the projections on the
x and y coordinates and ``A = (J - J^T) / 2`` the antisymmetric part of J:

* gda:     ``M = I - D J``
* gd:      ``M = I - D H``
* eg:      ``M = I - D J + (D J)^2``
* co:      ``M = I - D (I + gamma J^T) J``  (descent on ``xi + gamma grad(|xi|^2 / 2)``)
* sga:     ``M = I - D (I + lambda A^T) J`` (descent on ``xi + lambda A^T xi``; the alignment
  rule picks the sign ``+`` near z*, where its epsilon dominates the O(|e|^4) products)
* hgd:     ``M = I - D J^T J``             (descent on ``|xi|^2 / 2``)
* alt-gda: ``M = (I - P_y D J)(I - P_x D J)`` (x moves first, y sees the new x)
* ogda:    ``M = [[I - 2 D J, D J], [I, 0]]`` (companion form of the two-step recursion)
* nm-gda:  alt-gda with ``+ beta (e_k - e_{k-1})`` in each player's step: on ``(e, e_prev)``
  ``[[X, -beta P_x], [I, 0]]`` followed by the same for y (see :func:`_nm_gda`).

The first six are polynomials ``p(eta_x B)`` of one matrix B (``B = diag(I, R I) K`` with K the
matrix after D above, and ``p(w) = 1 - w`` or ``1 - w + w^2``): :func:`polynomial_form` gives
B and p, from which :mod:`.stability` finds the stable step sizes in closed form.
"""

from __future__ import annotations

import numpy as np

from gradgames.saddle.config import METHODS, Hyperparameters

LINEAR = {"gda": (1.0, -1.0), "gd": (1.0, -1.0), "co": (1.0, -1.0), "sga": (1.0, -1.0),
          "hgd": (1.0, -1.0), "eg": (1.0, -1.0, 1.0)}  # fmt: skip  # p(w), lowest power first


def field_jacobian(hessian: np.ndarray, x_dim: int) -> np.ndarray:
    """``J = [[Hxx, Hxy], [-Hyx, -Hyy]]``, the Jacobian of ``xi = (grad_x f, -grad_y f)``."""
    jac = np.array(hessian, dtype=np.float64)
    jac[x_dim:] *= -1.0
    return jac


def singular_values(matrix: np.ndarray) -> np.ndarray:
    """The singular values of ``matrix`` above ``1e-12`` times the largest (none when it is 0):
    the cut is relative, so a uniformly small H keeps them all."""
    values = np.linalg.svd(np.asarray(matrix, dtype=np.float64), compute_uv=False)
    return values[values > 1e-12 * values.max(initial=0.0)]


def step_scales(dim: int, x_dim: int, lr_ratio: float) -> np.ndarray:
    """The diagonal of ``D / eta_x``: 1 for the x coordinates, R for the y ones, shape (N,)."""
    scales = np.ones(dim)
    scales[x_dim:] = lr_ratio
    return scales


def _inner(method: str, hessian: np.ndarray, x_dim: int, hyper: Hyperparameters) -> np.ndarray:
    """K with ``M = I - D K`` (+ ``(D K)^2`` for eg): the Jacobian of the field each descends."""
    jac = field_jacobian(hessian, x_dim)
    eye = np.eye(len(jac))
    if method == "gd":
        return np.array(hessian, dtype=np.float64)
    if method in ("gda", "eg"):
        return jac
    if method == "co":
        return (eye + hyper.co_gamma * jac.T) @ jac
    if method == "sga":
        lam = abs(hyper.sga_lambda) if hyper.sga_align else hyper.sga_lambda
        return (eye + lam * 0.5 * (jac.T - jac)) @ jac  # A^T = (J^T - J) / 2
    if method == "hgd":
        return jac.T @ jac
    raise ValueError(f"{method!r} is not a one-step polynomial dynamic")


def polynomial_form(
    method: str, hessian: np.ndarray, x_dim: int, lr_ratio: float, hyper: Hyperparameters
) -> tuple[np.ndarray, tuple[float, ...]]:
    """``(B, p)`` with ``M(eta_x) = p(eta_x B)`` for the dynamics of :data:`LINEAR`."""
    inner = _inner(method, hessian, x_dim, hyper)
    return step_scales(len(inner), x_dim, lr_ratio)[:, None] * inner, LINEAR[method]


def update_matrix(
    method: str, hessian: np.ndarray, x_dim: int, lr, *, lr_ratio: float = 1.0,
    hyper: Hyperparameters | None = None, lr_y=None,
) -> np.ndarray:
    """The Jacobian ``M`` of the linearised update (see the module docstring).

    Args:
        method: one of :data:`~gradgames.saddle.config.METHODS`.
        hessian: H at the point, (N, N).
        x_dim: n.
        lr: eta_x, a number or an array of G step sizes.
        lr_ratio: R with eta_y = R eta_x (ignored when ``lr_y`` is given).
        hyper: the dynamics' hyper-parameters (the papers' defaults when None).
        lr_y: eta_y as a number or an array like ``lr`` (for maps over the (eta_x, eta_y) plane).

    Returns:
        (K, K) for a number, (G, K, K) for an array; K = N, or 2N for ogda and nm-gda.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    hyper = hyper or Hyperparameters()
    h = np.asarray(hessian, dtype=np.float64)
    n = len(h)
    eta_x = np.asarray(lr, dtype=np.float64).reshape(-1)
    eta_y = eta_x * lr_ratio if lr_y is None else np.asarray(lr_y, dtype=np.float64).reshape(-1)
    eta_x, eta_y = np.broadcast_arrays(eta_x, eta_y)
    d = np.concatenate(
        [np.repeat(eta_x[:, None], x_dim, 1), np.repeat(eta_y[:, None], n - x_dim, 1)], axis=1
    )  # (G, N): the diagonal of D
    eye = np.eye(n)
    if method in LINEAR:
        dk = d[:, :, None] * _inner(method, h, x_dim, hyper)  # (G, N, N)
        m = eye - dk + (dk @ dk if method == "eg" else 0.0)
    elif method == "alt-gda":
        dj = d[:, :, None] * field_jacobian(h, x_dim)
        x_first, y_then = eye - _rows(dj, slice(0, x_dim)), eye - _rows(dj, slice(x_dim, n))
        m = y_then @ x_first
    elif method == "ogda":
        dj = d[:, :, None] * field_jacobian(h, x_dim)
        m = np.zeros((len(d), 2 * n, 2 * n))
        m[:, :n, :n] = eye - 2 * dj
        m[:, :n, n:] = dj
        m[:, n:, :n] = eye
    else:
        m = _nm_gda(d[:, :, None] * field_jacobian(h, x_dim), x_dim, hyper.momentum)
    return m[0] if np.ndim(lr) == 0 and (lr_y is None or np.ndim(lr_y) == 0) else m


def _rows(matrices: np.ndarray, rows: slice) -> np.ndarray:
    """``matrices`` (G, N, N) with every row outside ``rows`` set to zero."""
    out = np.zeros_like(matrices)
    out[:, rows] = matrices[:, rows]
    return out


def _nm_gda(dj: np.ndarray, x_dim: int, beta: float) -> np.ndarray:
    """alt-gda with momentum on the state ``s = (e, e_prev)``, (G, 2N, 2N).

    Each player's step is ``e_p <- e_p - eta_p (J e)_p + beta (e_p - e_prev_p)``: x first, then
    y with the new x. A player's step maps ``(e, e_prev)`` to ``(e', e_prev')`` where only its
    own rows change: ``e'_p = ((1 + beta) I - D J)_p e - beta e_prev_p`` and ``e_prev'_p = e_p``.
    """
    g, n, _ = dj.shape
    eye = np.eye(n)

    def player(rows: slice) -> np.ndarray:
        step = np.tile(np.eye(2 * n), (g, 1, 1))
        mask = np.zeros(n)
        mask[rows] = 1.0
        p = np.diag(mask)
        step[:, :n, :n] = eye + beta * p - _rows(dj, rows)
        step[:, :n, n:] = -beta * p
        step[:, n:, :n] = p
        step[:, n:, n:] = eye - p
        return step

    return player(slice(x_dim, n)) @ player(slice(0, x_dim))


def spectral_radius(
    method: str, hessian: np.ndarray, x_dim: int, lr, *, lr_ratio: float = 1.0,
    hyper: Hyperparameters | None = None, lr_y=None,
):
    """``rho(M)``, the largest eigenvalue modulus of the linearised update (a float, or an
    array (G,) when ``lr`` or ``lr_y`` is an array)."""
    m = update_matrix(method, hessian, x_dim, lr, lr_ratio=lr_ratio, hyper=hyper, lr_y=lr_y)
    radii = np.abs(np.linalg.eigvals(m)).max(axis=-1)
    return float(radii) if m.ndim == 2 else radii
