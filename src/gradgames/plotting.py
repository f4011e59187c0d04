"""One figure style for every plot of the project, and the helpers the parts share.

Importing this module changes nothing global: the house style is applied inside
``matplotlib.rc_context`` by :func:`styled` (every plotting function of the project wears it),
and the backend is chosen by the command line alone, so a user's own figures, backend and
rcParams are left as they were. matplotlib itself is imported on the first figure, so a
command that draws nothing before its first training step does not wait for it.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np

from gradgames.files import atomic_write_bytes

STYLE = {
    "figure.dpi": 110, "savefig.dpi": 110, "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False, "font.size": 10, "legend.frameon": False,
}


def pyplot():
    """``matplotlib.pyplot``, imported on first use."""
    import matplotlib.pyplot as plt

    return plt


def styled(function):
    """Runs a plotting function inside the house style (``rc_context(STYLE)``)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with pyplot().rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapper


def figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.0, **kw):
    """A new figure in the house style; returns ``(fig, axes)``."""
    plt = pyplot()
    with plt.rc_context(STYLE):
        return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), **kw)


def epoch_axis(ax, label: str = "epoch") -> None:
    """Labels the x axis and puts its ticks on whole epochs only."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel(label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def save(fig, path: Path) -> Path:
    """Saves ``fig`` as PNG atomically and closes it."""
    plt = pyplot()
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
