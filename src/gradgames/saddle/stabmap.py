"""The exact stability region of a dynamic in the plane of the two players' step sizes.

With separate step sizes eta_x (the minimising player) and eta_y (the maximising one, the
two-timescale rule of Heusel et al. 2017), the linearised update M(eta_x, eta_y) of
:mod:`.linear` contracts near a stationary point exactly where its spectral radius is below 1.
:func:`stability_map` evaluates ``rho(M)`` on a geometric grid of the (eta_x, eta_y) plane; the
cells on the line eta_y = R eta_x are those :func:`~gradgames.saddle.stability.stability` gives
as intervals of eta_x.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradgames.config import check_int, check_range
from gradgames.errors import ConfigError
from gradgames.saddle.config import ETA_RANGE, MAX_RESOLUTION, Hyperparameters
from gradgames.saddle.linear import singular_values, spectral_radius
from gradgames.saddle.stability import STABLE_BELOW


def default_range(hessian: np.ndarray) -> tuple[float, float]:
    """``(1e-3 / s_max, 10 / s_min)`` over the nonzero singular values s of H: from steps too
    small to matter to steps past any stable one ((1e-3, 10) when H = 0)."""
    singular = singular_values(hessian)
    if len(singular) == 0:
        return 1e-3, 10.0
    low, high = ETA_RANGE
    return float(np.clip(1e-3 / singular.max(), low, high / 10)), float(
        np.clip(10.0 / singular.min(), low * 10, high)
    )


@dataclass(frozen=True)
class StabilityMap:
    """``rho(M(eta_x, eta_y))`` of one dynamic at one stationary point on a geometric grid.

    Attributes:
        method: the dynamic.
        hyperparameters: those it used, by name.
        x, y: the stationary point.
        kind: its type.
        eta_x: the grid's eta_x values, (G,).
        eta_y: the grid's eta_y values, (G,).
        radius: the spectral radius, (G, G), rows along eta_y, columns along eta_x.
        lr_ratio: the R of the line eta_y = R eta_x drawn on the map.
    """

    method: str
    hyperparameters: dict[str, Any]
    x: tuple[float, ...]
    y: tuple[float, ...]
    kind: str
    eta_x: np.ndarray
    eta_y: np.ndarray
    radius: np.ndarray
    lr_ratio: float = 1.0
    files: dict[str, str] = field(default_factory=dict)

    @property
    def stable(self) -> np.ndarray:
        """Whether each cell contracts, (G, G) booleans."""
        return self.radius < STABLE_BELOW

    def best(self) -> tuple[float, float, float] | None:
        """``(eta_x, eta_y, rho)`` of the grid's smallest spectral radius, None if no cell
        is stable."""
        if not self.stable.any():
            return None
        i, j = np.unravel_index(int(np.argmin(self.radius)), self.radius.shape)
        return float(self.eta_x[j]), float(self.eta_y[i]), float(self.radius[i, j])

    def to_dict(self) -> dict[str, Any]:
        """The summary ``--json`` prints (the grid itself is in :meth:`grid_dict`)."""
        best = self.best()
        return {
            "method": self.method,
            "hyperparameters": dict(self.hyperparameters),
            "point": {"x": list(self.x), "y": list(self.y), "type": self.kind},
            **{
                name: {"min": float(axis[0]), "max": float(axis[-1]), "count": len(axis)}
                for name, axis in (("eta_x", self.eta_x), ("eta_y", self.eta_y))
            },
            "cells": int(self.radius.size),
            "stable_cells": int(self.stable.sum()),
            "best": None
            if best is None
            else dict(zip(("eta_x", "eta_y", "rate"), best, strict=True)),
            "lr_ratio": self.lr_ratio,
            "files": dict(self.files),
        }

    def grid_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` plus the grid: ``eta_x``, ``eta_y`` and ``spectral_radius`` as a list
        of rows (one per eta_y)."""
        return {
            **self.to_dict(),
            "grid": {
                "eta_x": self.eta_x.tolist(), "eta_y": self.eta_y.tolist(),
                "spectral_radius": self.radius.tolist(),
            },
        }

    def csv(self) -> str:
        """One line per cell: ``eta_x,eta_y,spectral_radius,stable``."""
        buffer = io.StringIO()
        buffer.write("eta_x,eta_y,spectral_radius,stable\n")
        for i, ey in enumerate(self.eta_y.tolist()):
            for j, ex in enumerate(self.eta_x.tolist()):
                rho = float(self.radius[i, j])
                buffer.write(f"{ex!r},{ey!r},{rho!r},{int(rho < STABLE_BELOW)}\n")
        return buffer.getvalue()


def stability_map(
    method: str, hessian: np.ndarray, x_dim: int, *, eta_min: float | None = None,
    eta_max: float | None = None, resolution: int = 121, hyper: Hyperparameters | None = None,
    lr_ratio: float = 1.0, point: tuple[tuple[float, ...], tuple[float, ...], str] = ((), (), ""),
) -> StabilityMap:
    """The spectral radius of ``method``'s linearised update on a ``resolution`` x
    ``resolution`` geometric grid over ``[eta_min, eta_max]`` (both axes) at a point with
    Hessian ``hessian`` (N, N). An end left None comes from :func:`default_range` (kept at
    least a decade from the other end).

    Raises:
        ConfigError: a resolution outside [2, MAX_RESOLUTION], or ends that are not
            ``0 < eta_min < eta_max``.
    """
    check_int("resolution", resolution, 2, MAX_RESOLUTION)
    for name, value in (("eta_min", eta_min), ("eta_max", eta_max)):
        if value is not None:
            check_range(name, value, *ETA_RANGE)
    auto_lo, auto_hi = default_range(hessian)
    lo = eta_min if eta_min is not None else min(auto_lo, eta_max / 10 if eta_max else auto_lo)
    hi = eta_max if eta_max is not None else min(max(auto_hi, 10 * lo), ETA_RANGE[1])
    if lo >= hi:
        raise ConfigError("eta_max", f"must exceed eta_min {lo!r}; got {hi!r}")
    hyper = hyper or Hyperparameters()
    axis = np.geomspace(lo, hi, resolution)
    ex, ey = np.meshgrid(axis, axis)  # (G, G): rows along eta_y
    flat_x, flat_y = ex.ravel(), ey.ravel()
    chunk = max(1, 2**22 // (4 * len(hessian) ** 2))  # at most ~32 MiB of matrices at once
    pieces = [slice(i, i + chunk) for i in range(0, len(flat_x), chunk)]
    radius = np.concatenate(
        [
            spectral_radius(method, hessian, x_dim, flat_x[s], lr_y=flat_y[s], hyper=hyper)
            for s in pieces
        ]
    )
    return StabilityMap(
        method, hyper.of(method), *point, axis, axis.copy(), radius.reshape(ex.shape), lr_ratio
    )
