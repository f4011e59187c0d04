"""The GAN's files of tensors: their schema, written atomically, read only weights-only.

Every file is a ``torch.save`` archive that ``torch.load(path, weights_only=True)`` reads:
dicts, lists, strings, numbers and tensors, never pickled code. :func:`load_file` is the one
loader of the project (the reference classifier's weights go through it too).

**Training checkpoint** (``checkpoints/last.pt``), written at the start of a run (step 0) and
at every epoch end, a stop and the end:

    format, version       "gradgames-gan", 1
    config                the TrainConfig as a dict (model settings under "model")
    generator, discriminator, opt_g, opt_d    state dicts
    fixed_noise           (64, noise_dim) the snapshot noise
    rng                   {"cpu": ByteTensor, "cuda": ByteTensor | None}
    step                  completed optimiser steps (of the global batch)
    world_size            processes that wrote it (1 if absent); see gan.distributed
    seconds               training time to ``step`` over all sessions (None: not recorded)
    generator_ema         the EMA generator's state dict (absent: the run keeps no EMA)
    ema_updates           the steps the EMA has taken in (see gan.ema)

**Weights file** (``generator.pt``, ``discriminator.pt``): the final weights with the model
settings that built them, so that a loader never has to guess them from tensor shapes (a
LeakyReLU slope or a dropout rate leaves no trace in the shapes):

    format, version       "gradgames-gan-weights", 1
    network               "generator" or "discriminator"
    config                the ModelConfig as a dict: noise_dim, dense_bn, init, dropout, leak
    state_dict            the network's state dict
    ema                   generator_ema.pt only: {"decay": beta, "updates": steps averaged}

Loaded by hand, in three lines::

    saved = torch.load("runs/gan/generator.pt", weights_only=True)
    generator = Generator(ModelConfig(**saved["config"])).eval()
    generator.load_state_dict(saved["state_dict"])

:func:`load_generator` and :func:`load_discriminator` do the same with every check: the file
holds the network asked for, finite weights, settings that agree with those the caller states
(:class:`~gradgames.gan.config.WeightsConfig`). A plain state dict written by an earlier
version still loads: its noise size and dense batch norm are read from the shapes, the other
settings are the stated or default ones, and a one-line warning says they were inferred.
"""

from __future__ import annotations

import io
import math
import pickle
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from gradgames.config import from_dict, to_dict
from gradgames.errors import ConfigError, UsageError
from gradgames.files import atomic_torch_save
from gradgames.gan.config import ModelConfig, TrainConfig, WeightsConfig
from gradgames.gan.ema import EmaGenerator
from gradgames.gan.models import Discriminator, Generator
from gradgames.gan.step import GanState, unwrap

FORMAT, VERSION = "gradgames-gan", 1
WEIGHTS_FORMAT, WEIGHTS_VERSION = "gradgames-gan-weights", 1
Network = Literal["generator", "discriminator"]
NETWORKS: dict[str, type[nn.Module]] = {"generator": Generator, "discriminator": Discriminator}
INTACT = "use an intact file written by gradgames"


class InferredSettingsWarning(UserWarning):
    """A plain state dict was loaded: its model settings were inferred, not read."""


def load_file(path: Path | str, data: bytes | None = None) -> Any:
    """``torch.load(path, weights_only=True, map_location="cpu")`` with one-line errors.

    Args:
        path: the file (named in every error).
        data: its bytes, when the caller has already read them (to check a hash of exactly
            the bytes that are then loaded).

    Raises:
        UsageError: the path is missing, a directory or not a regular file; the file is
            truncated or not a torch file; or it holds objects (code) that weights-only
            loading refuses to unpickle.
    """
    path = Path(path)
    if data is None:
        _check_regular_file(path)
    source = path if data is None else io.BytesIO(data)
    if not zipfile.is_zipfile(source):  # torch.save writes a zip archive
        if data is None:
            with path.open("rb") as handle:
                data = handle.read(1)
        if data[:1] == b"\x80":
            raise UsageError(f"{path} was refused: it is a raw pickle, not a torch checkpoint, "
                             "and gradgames never unpickles untrusted data")  # fmt: skip
        raise UsageError(f"{path} is truncated or not a torch checkpoint; {INTACT}")
    try:
        return torch.load(
            path if data is None else io.BytesIO(data), map_location="cpu", weights_only=True
        )
    except pickle.UnpicklingError:
        raise UsageError(
            f"{path} was refused: it holds objects other than plain tensors and numbers "
            "(possibly code), which gradgames never unpickles; use a file gradgames wrote"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(
            f"{path} is truncated or not a torch checkpoint ({reason}); {INTACT}"
        ) from None


def _check_regular_file(path: Path) -> None:
    if not path.exists():
        raise UsageError(f"{path} does not exist: give a checkpoint or weights file (.pt)")
    if path.is_dir():
        raise UsageError(f"{path} is a directory: give a file in it, such as generator.pt")
    if not path.is_file():
        raise UsageError(f"{path} is not a regular file (a device, pipe or socket): give a .pt")


# Training checkpoints.


def save_checkpoint(
    path: Path,
    state: GanState,
    config: TrainConfig,
    world_size: int = 1,
    ema: EmaGenerator | None = None,
) -> None:
    """Writes the training checkpoint of ``state`` (and of the EMA generator ``ema``)
    atomically (the previous one survives)."""
    record = {
        "format": FORMAT,
        "version": VERSION,
        "config": to_dict(config),
        "generator": unwrap(state.generator).state_dict(),
        "discriminator": unwrap(state.discriminator).state_dict(),
        "opt_g": state.opt_g.state_dict(),
        "opt_d": state.opt_d.state_dict(),
        "fixed_noise": state.fixed_noise.cpu(),
        "rng": {
            "cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state() if torch.cuda.is_initialized() else None,
        },
        "step": state.step,
        "seconds": state.seconds,
        "world_size": world_size,
    }
    if ema is not None:
        saved = ema.state_dict()
        record.update(generator_ema=saved["state_dict"], ema_updates=saved["updates"])
    atomic_torch_save(record, Path(path))


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """A training checkpoint written by :func:`save_checkpoint`, checked entry by entry."""
    return checked(load_file(path), path)


def checked(state: Any, path: Path | str) -> dict[str, Any]:
    """``state`` if it is a whole training checkpoint with finite weights, else a one-line
    UsageError naming the file."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UsageError(
            f"{path} is not a gradgames training checkpoint: give a run's checkpoints/last.pt"
        )
    if state.get("version") != VERSION:
        raise UsageError(f"{path} has checkpoint version {state.get('version')!r}, expected 1")
    broken = next((key for key, fits in LAYOUT.items() if not fits(state.get(key))), None)
    if broken is not None:
        raise UsageError(
            f"{path} is damaged: its {broken!r} entry is missing or malformed; {INTACT}"
        )
    for key in ("generator", "discriminator", "generator_ema"):
        if key in state:
            require_finite(state[key], path)
    require_finite({"fixed_noise": state["fixed_noise"]}, path)
    return state


def _tensors(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, torch.Tensor) for v in value.values())


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# What every entry of a training checkpoint must be (the optimiser states are checked by
# torch when they are loaded; "seconds" may be None and is absent from older checkpoints).
LAYOUT: dict[str, Callable[[Any], bool]] = {
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
    "generator_ema": lambda v: v is None or _tensors(v),
    "ema_updates": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)
                                           and v >= 0),
}


def restore(state: GanState, checkpoint: Mapping[str, Any]) -> None:
    """Loads a :func:`checked` checkpoint into ``state`` (networks, optimisers, RNG, step,
    training time).

    Raises:
        UsageError: the checkpoint's tensors do not fit the networks of ``state``.
    """
    try:
        unwrap(state.generator).load_state_dict(checkpoint["generator"])
        unwrap(state.discriminator).load_state_dict(checkpoint["discriminator"])
        state.opt_g.load_state_dict(checkpoint["opt_g"])
        state.opt_d.load_state_dict(checkpoint["opt_d"])
        state.fixed_noise.copy_(checkpoint["fixed_noise"])
    except (RuntimeError, KeyError, ValueError) as exc:
        raise UsageError(
            f"the checkpoint does not fit this model ({str(exc).splitlines()[0]}): "
            "resume with the settings it was written with"
        ) from None
    state.step = int(checkpoint["step"])
    seconds = checkpoint.get("seconds")  # absent from checkpoints of earlier versions
    state.seconds = float(seconds) if isinstance(seconds, (int, float)) else None
    torch.set_rng_state(checkpoint["rng"]["cpu"])
    if checkpoint["rng"].get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(checkpoint["rng"]["cuda"])


def restore_ema(ema: EmaGenerator, checkpoint: Mapping[str, Any]) -> bool:
    """Loads the checkpoint's EMA generator into ``ema``; False when it has none (a run
    started without one, or by an earlier version: ``ema`` then starts from the restored
    generator).

    Raises:
        UsageError: the checkpoint's EMA does not fit the generator.
    """
    if checkpoint.get("generator_ema") is None:
        return False
    try:
        ema.load_state_dict(
            {"state_dict": checkpoint["generator_ema"], "updates": checkpoint.get("ema_updates")
             or 0}
        )  # fmt: skip
    except (RuntimeError, KeyError, ValueError) as exc:
        raise UsageError(
            f"the checkpoint's EMA generator does not fit this model "
            f"({str(exc).splitlines()[0]}): resume with the settings it was written with"
        ) from None
    return True


def require_finite(tensors: Mapping[str, torch.Tensor], path: Path | str) -> None:
    """A one-line UsageError naming ``path`` if a floating tensor holds NaN or infinity."""
    for key, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise UsageError(
                f"{path} holds non-finite weights (NaN or infinity in {key!r}): the network "
                "cannot be used; take a checkpoint from before training diverged"
            )


# Weights files.


def save_weights(
    path: Path, network: nn.Module, kind: Network, extra: Mapping[str, Any] | None = None
) -> None:
    """Writes ``network``'s weights with the settings that built it (see the module doc),
    and the entries of ``extra``."""
    module = unwrap(network)
    record = {
        "format": WEIGHTS_FORMAT,
        "version": WEIGHTS_VERSION,
        "network": kind,
        "config": to_dict(module.config),
        "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        **(extra or {}),
    }
    atomic_torch_save(record, Path(path))


def save_ema_weights(path: Path, ema: EmaGenerator) -> None:
    """Writes the EMA generator as a generator weights file (``generator_ema.pt``) that also
    says its decay and how many steps it averaged."""
    save_weights(path, ema.module, "generator", {"ema": {"decay": ema.decay,
                                                         "updates": ema.updates}})  # fmt: skip


def load_generator(
    path: Path | str,
    device: torch.device | str = "cpu",
    *,
    stated: WeightsConfig | None = None,
    on_inferred: Callable[[str], None] | None = None,
) -> Generator:
    """A generator in eval mode from a weights file, a training checkpoint or (with a warning)
    a plain state dict of an earlier version.

    Args:
        path: ``generator.pt`` or ``checkpoints/last.pt``.
        device: where the generator goes.
        stated: settings the caller states; each must agree with the file's.
        on_inferred: called with a one-line message when the settings had to be inferred
            (default: an :class:`InferredSettingsWarning`).

    Raises:
        UsageError: the file is unreadable, holds another network or non-finite weights,
            or does not fit the settings. ConfigError: a stated setting disagrees.
    """
    return _load_network(path, "generator", device, stated, on_inferred)


def load_discriminator(
    path: Path | str,
    device: torch.device | str = "cpu",
    *,
    stated: WeightsConfig | None = None,
    on_inferred: Callable[[str], None] | None = None,
) -> Discriminator:
    """A discriminator in eval mode, as :func:`load_generator` loads a generator."""
    return _load_network(path, "discriminator", device, stated, on_inferred)


def _load_network(path, kind: Network, device, stated, on_inferred) -> nn.Module:
    path = Path(path)
    config, weights, inferred = _weights_and_settings(load_file(path), path, kind, stated)
    _agree(config, stated, path)
    require_finite(weights, path)
    network = NETWORKS[kind](config)
    try:
        network.load_state_dict(weights)
    except (RuntimeError, TypeError, ValueError):
        raise UsageError(
            f"{path} holds weights of a different architecture than the assignment's {kind}: "
            "give a generator.pt, discriminator.pt or checkpoints/last.pt written by gradgames"
        ) from None
    if inferred:
        how = "as stated" if stated and stated.leak is not None else "the default"
        message = (
            f"{path} is a plain state dict of an earlier gradgames version: its model "
            f"settings were inferred (leak {config.leak:g}, {how}); state the leak it was "
            "trained with if it was another"
        )
        if on_inferred is None:
            warnings.warn(message, InferredSettingsWarning, stacklevel=3)
        else:
            on_inferred(message)
    return network.to(device).eval()


def _weights_and_settings(record: Any, path: Path, kind: Network, stated):
    """(ModelConfig, state dict of ``kind``, whether the settings were inferred) from whatever
    kind of file ``record`` is."""
    if isinstance(record, dict) and record.get("format") == FORMAT:
        record = checked(record, path)
        return model_settings(record["config"]["model"], path), record[kind], False
    if isinstance(record, dict) and record.get("format") == WEIGHTS_FORMAT:
        if record.get("version") != WEIGHTS_VERSION:
            raise UsageError(f"{path} has weights version {record.get('version')!r}, expected 1")
        found = record.get("network")
        if found != kind and found in NETWORKS:
            raise UsageError(f"{path} holds {found} weights, not a {kind}'s: give {kind}.pt "
                             "or checkpoints/last.pt")  # fmt: skip
        if found != kind or not isinstance(record.get("config"), dict) or not _tensors(
            record.get("state_dict")
        ):
            raise UsageError(f"{path} is damaged: its network, config or state_dict entry is "
                             f"missing or malformed; {INTACT}")  # fmt: skip
        return model_settings(record["config"], path), record["state_dict"], False
    if _tensors(record) and record:
        return _inferred(record, path, kind, stated), record, True
    raise UsageError(f"{path} holds neither {kind} weights nor a training checkpoint")


def model_settings(data: Any, path: Path | str) -> ModelConfig:
    """The ModelConfig a file carries; a one-line UsageError naming the file if unusable."""
    try:
        return from_dict(ModelConfig, data)
    except (UsageError, TypeError, AttributeError) as exc:
        raise UsageError(f"{path} carries model settings gradgames cannot use ({exc}); "
                         f"{INTACT}") from None  # fmt: skip


def _plain_kind(state_dict: Mapping[str, torch.Tensor]) -> str | None:
    if "dense.0.weight" in state_dict:
        return "generator"
    if "net.7.weight" in state_dict:
        return "discriminator"
    return None


def _inferred(state_dict, path: Path, kind: Network, stated) -> ModelConfig:
    """Settings of a plain state dict: shapes, then what is stated, then the defaults."""
    found = _plain_kind(state_dict)
    if found is not None and found != kind:
        raise UsageError(f"{path} holds {found} weights, not a {kind}'s: give {kind}.pt or "
                         "checkpoints/last.pt")  # fmt: skip
    settings: dict[str, Any] = {"leak": stated.leak} if stated and stated.leak is not None else {}
    dense = state_dict.get("dense.0.weight")
    if kind == "generator":
        if dense is None or dense.ndim != 2:
            raise UsageError(f"{path} has no generator dense layer 'dense.0.weight': it holds "
                             "no generator weights")  # fmt: skip
        settings.update(noise_dim=dense.shape[1], dense_bn="dense.1.weight" in state_dict)
    try:
        return ModelConfig(**settings)
    except ConfigError as exc:
        raise UsageError(f"{path} holds weights gradgames cannot use ({exc})") from None


def _agree(config: ModelConfig, stated: WeightsConfig | None, path: Path) -> None:
    """A ConfigError for a stated setting that differs from the one the file holds."""
    for name, value in (stated.given() if stated else {}).items():
        theirs = getattr(config, name)
        if value != theirs:
            raise ConfigError(
                name, f"{value:g} differs from the {theirs:g} that {path} was trained with: "
                "leave it out to use the file's setting"
            )  # fmt: skip
