"""Checkpoints of the DCGAN: saved atomically, loaded only with ``weights_only=True``.

A training checkpoint (``checkpoints/last.pt``) is a dict of plain tensors and numbers:

    format, version       "gradgames-gan", 1
    config                the TrainConfig as a dict (model settings under "model")
    generator, discriminator, opt_g, opt_d    state dicts
    fixed_noise           (64, noise_dim) the snapshot noise
    rng                   {"cpu": ByteTensor, "cuda": ByteTensor | None}
    step                  completed optimiser steps (of the global batch)
    world_size            processes that wrote it (1 if absent); see gan.distributed
    seconds               training time to ``step`` over all sessions (None: not recorded)

The final weights (``generator.pt``, ``discriminator.pt``) are plain state dicts, loadable with
``Generator().load_state_dict(torch.load(path, weights_only=True))``.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from gradgames.config import from_dict
from gradgames.errors import UsageError
from gradgames.gan.models import Generator, ModelConfig
from gradgames.runs import atomic_torch_save

FORMAT, VERSION = "gradgames-gan", 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Writes a training checkpoint atomically (the previous one survives any crash)."""
    atomic_torch_save({"format": FORMAT, "version": VERSION, **state}, Path(path))


def load_file(path: Path | str) -> Any:
    """``torch.load(path, weights_only=True, map_location="cpu")`` with one-line errors.

    Raises:
        UsageError: the file is missing, truncated, not a torch file, or holds objects
            (code) that weights-only loading refuses to unpickle.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path} does not exist: give a checkpoint or weights file (.pt)")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive
        with path.open("rb") as handle:
            pickled = handle.read(1) == b"\x80"
        if pickled:
            raise UsageError(f"{path} was refused: it is a raw pickle, not a torch checkpoint, "
                             "and gradgames never unpickles untrusted data")  # fmt: skip
        raise UsageError(
            f"{path} is truncated or not a torch checkpoint; use an intact file written by "
            "gradgames"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UsageError(
            f"{path} was refused: it holds objects other than plain tensors and numbers "
            "(possibly code), which gradgames never unpickles; use a file gradgames wrote"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(
            f"{path} is truncated or not a torch checkpoint ({reason}); "
            "use an intact file written by gradgames"
        ) from None


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """Loads and checks a training checkpoint written by :func:`save_checkpoint`."""
    return checked(load_file(path), path)


def checked(state: Any, path: Path | str) -> dict[str, Any]:
    """``state`` if it is a whole training checkpoint, else a one-line UsageError."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UsageError(
            f"{path} is not a gradgames training checkpoint: "
            "give a run's checkpoints/last.pt"
        )
    if state.get("version") != VERSION:
        raise UsageError(f"{path} has checkpoint version {state.get('version')}, expected 1")
    broken = next((key for key, fits in LAYOUT.items() if not fits(state.get(key))), None)
    if broken is not None:
        raise UsageError(
            f"{path} is damaged: its {broken!r} entry is missing or malformed; "
            "use an intact checkpoint written by gradgames"
        )
    return state


def _tensors(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, torch.Tensor) for v in value.values())


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# What every entry of a training checkpoint must be (the optimiser states are checked by
# torch when they are loaded; "seconds" may be None and is absent from older checkpoints).
LAYOUT = {
    "config": lambda v: isinstance(v, dict) and isinstance(v.get("model"), dict),
    "generator": _tensors,
    "discriminator": _tensors,
    "opt_g": lambda v: isinstance(v, dict),
    "opt_d": lambda v: isinstance(v, dict),
    "fixed_noise": lambda v: isinstance(v, torch.Tensor) and v.ndim == 2,
    "rng": lambda v: isinstance(v, dict) and isinstance(v.get("cpu"), torch.Tensor),
    "step": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "world_size": lambda v: v is None or (isinstance(v, int) and v >= 1),
    "seconds": lambda v: v is None or (_number(v) and v >= 0),
}


def model_config_of(state_dict: dict[str, torch.Tensor]) -> ModelConfig:
    """Infers a generator's ModelConfig from its state dict (noise size, dense batch norm)."""
    weight = state_dict.get("dense.0.weight")
    if weight is None or weight.ndim != 2:
        raise UsageError("weights file has no generator dense layer 'dense.0.weight'")
    return ModelConfig(noise_dim=weight.shape[1], dense_bn="dense.1.weight" in state_dict)


def load_generator(path: Path | str, device: torch.device | str = "cpu") -> Generator:
    """A generator in eval mode from a run's ``generator.pt`` or a training checkpoint.

    Raises:
        UsageError: unreadable file, or weights of another architecture.
    """
    state = load_file(path)
    if isinstance(state, dict) and state.get("format") == FORMAT:
        state = checked(state, path)
        config = from_dict(ModelConfig, state["config"]["model"])
        weights = state["generator"]
    elif isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values()):
        config, weights = model_config_of(state), state
    else:
        raise UsageError(f"{path} holds neither generator weights nor a training checkpoint")
    try:
        generator = Generator(config)
        generator.load_state_dict(weights)
    except (RuntimeError, TypeError, ValueError):
        raise UsageError(
            f"{path} holds weights of a different architecture than the assignment's "
            "generator: give a generator.pt or checkpoints/last.pt written by gradgames"
        ) from None
    return generator.to(device).eval()
