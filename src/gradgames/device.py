"""The torch side of a run: its device, its thread count and the environment it records.

torch is imported only inside these functions, so the command line can show its help without
loading it.
"""

from __future__ import annotations

import contextlib
import platform
from typing import Any

from gradgames import __version__
from gradgames.errors import ConfigError


@contextlib.contextmanager
def single_threaded():
    """Runs torch with one intra-op thread inside the block, then restores the thread count.

    For work made of many small ops (the bandit simulator's steps, KID's subset products): a
    parallel region over a few thousand elements costs more in thread hand-offs than it saves
    (benchmarks/bandit_speed.py measures it).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def resolve_device(name: str):
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without CUDA is a ConfigError.

    Returns:
        a ``torch.device``.
    """
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", f"{name}: this machine has no CUDA device; use cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError("device", f"{name!r} is unknown: use auto, cpu or cuda") from None


def environment(device) -> dict[str, Any]:
    """The versions and hardware a run used (``device``: a torch.device), for config.json."""
    import torch

    info: dict[str, Any] = {
        "gradgames": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
