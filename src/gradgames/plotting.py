"""One figure style for every plot of the project, and the helpers the parts share."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gradgames.runs import atomic_write_bytes  # noqa: E402

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "legend.frameon": False,
}


plt.rcParams.update(STYLE)


def figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.0, **kw):
    """A new figure in the house style; returns ``(fig, axes)``."""
    with plt.rc_context(STYLE):
        return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), **kw)


def save(fig, path: Path) -> Path:
    """Saves ``fig`` as PNG atomically and closes it."""
    import io

    buffer = io.BytesIO()
    with plt.rc_context(STYLE):
        fig.tight_layout()
        fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def ema(values, alpha: float = 0.8) -> np.ndarray:
    """Exponential moving average ``s_t = alpha * s_{t-1} + (1 - alpha) * v_t``, ``s_0 = v_0``."""
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    if values.size == 0:
        return out
    out[0] = values[0]
    for i in range(1, values.size):
        out[i] = alpha * out[i - 1] + (1.0 - alpha) * values[i]
    return out
