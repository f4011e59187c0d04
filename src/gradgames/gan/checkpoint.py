"""The GAN's files of tensors: their schema, written atomically, read only weights-only.

Every file is a ``torch.save`` zip archive of dicts, lists, strings, numbers and tensors.
:func:`load_file`, the project's one loader (the classifier's weights use it too), refuses a
file over 1 GiB or an archive that would expand beyond its size before ``torch.load(path,
weights_only=True)`` reads it.

**Training checkpoint** (``checkpoints/last.pt``), written at the start of a run (step 0) and
at every epoch end, a stop and the end:

    format, version       "gradgames-gan", 1
    config                the TrainConfig as a dict (model settings under "model")
    generator, discriminator, opt_g, opt_d    state dicts
    fixed_noise           (64, noise_dim) the snapshot noise
    rng                   {"cpu": ByteTensor, "cuda": ByteTensor | None}
    step                  completed optimiser steps (of the global batch)
    world_size            processes that wrote it; see gan.distributed
    seconds               training time to ``step`` over all sessions (None: not recorded)
    generator_ema         the EMA generator's state dict (absent: the run keeps no EMA)
    ema_updates           the steps the EMA has taken in (see gan.ema; absent with it)
    ema_compared          {repr(decay): state dict} of the config's ema_compare (absent: none)

**Weights file** (``generator.pt``, ``discriminator.pt``): the final weights with the model
settings that built them (a LeakyReLU slope or a dropout rate leaves no trace in the shapes):

    format, version       "gradgames-gan-weights", 1
    network               "generator" or "discriminator"
    config                the ModelConfig as a dict: noise_dim, dense_bn, init, dropout, leak
    state_dict            the network's state dict
    ema                   generator_ema.pt only: {"decay": beta, "updates": steps averaged}

:func:`load_checkpoint`, :func:`load_generator` and :func:`load_discriminator` check every
entry before torch uses it (types, ranges, each tensor's shape and dtype against the networks
the file's settings build, finite weights) and name a damaged one in one line that never
prints a value whole.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from gradgames.config import from_dict, to_dict
from gradgames.errors import ConfigError, UsageError
from gradgames.files import atomic_torch_save
from gradgames.gan.config import MAX_EPOCHS, TRAIN_IMAGES, ModelConfig, TrainConfig, WeightsConfig
from gradgames.gan.dynamics import optimizer
from gradgames.gan.ema import EmaGenerator
from gradgames.gan.models import Discriminator, Generator
from gradgames.gan.step import GanState, unwrap

FORMAT, VERSION = "gradgames-gan", 1
WEIGHTS_FORMAT, WEIGHTS_VERSION = "gradgames-gan-weights", 1
Network = Literal["generator", "discriminator"]
NETWORKS: dict[str, type[nn.Module]] = {"generator": Generator, "discriminator": Discriminator}
INTACT = "use an intact file written by gradgames"
MAX_BYTES = 2**30  # a checkpoint of the largest model (noise_dim 4,096) is about 0.8 GiB
MAX_STEPS = MAX_EPOCHS * TRAIN_IMAGES  # batches of one image for the most epochs
ADAM_STATE = {"step", "exp_avg", "exp_avg_sq"}
ADAM_GROUP = {"eps": 1e-08, "weight_decay": 0, "amsgrad": False, "maximize": False,
              "differentiable": False, "decoupled_weight_decay": False}  # as accel.adam sets
DEVICE_FLAGS = {"foreach", "fused", "capturable"}  # set by the device that wrote the file


def load_file(path: Path | str, data: bytes | None = None) -> Any:
    """``torch.load(path, weights_only=True, map_location="cpu")`` of the file or of its bytes
    ``data`` (read by a caller that hashed them); a one-line UsageError naming ``path`` for a
    missing, huge, expanding, truncated or foreign file, or one that holds code."""
    path = Path(path)
    if data is None:
        _check_regular_file(path)
    size = path.stat().st_size if data is None else len(data)
    if size > MAX_BYTES:
        raise UsageError(f"{path} is {size / 2**30:.1f} GiB, more than any gradgames file "
                         f"(at most 1 GiB); {INTACT}")  # fmt: skip
    try:
        with path.open("rb") if data is None else io.BytesIO(data) as source:
            _check_archive(source, path, size)
            source.seek(0)
            return _torch_load(source, path)
    except OSError as exc:  # an unreadable file: /proc/self/mem, a failing disk
        raise UsageError(f"{path} could not be read ({exc.strerror or exc}); {INTACT}") from None


def _torch_load(source, path: Path) -> Any:
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UsageError(f"{path} was refused: it holds objects other than plain tensors and "
                         "numbers (possibly code), which gradgames never unpickles; use a "
                         "file gradgames wrote") from None  # fmt: skip
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of torch's reader is a bad file
        reason = _cut(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise UsageError(f"{path} is truncated or not a torch checkpoint ({reason}); "
                         f"{INTACT}") from None  # fmt: skip


def _check_archive(source, path: Path, size: int) -> None:
    """A one-line UsageError unless ``source`` is a zip archive whose entries are stored
    uncompressed (as torch.save writes them) and together no larger than the file."""
    try:
        entries = zipfile.ZipFile(source).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        source.seek(0)
        if source.read(1) == b"\x80":
            raise UsageError(f"{path} was refused: it is a raw pickle, not a torch checkpoint, "
                             "and gradgames never unpickles untrusted data") from None  # fmt: skip
        raise UsageError(f"{path} is truncated or not a torch checkpoint; {INTACT}") from None
    total = sum(entry.file_size for entry in entries)
    if total > size or any(e.compress_type != zipfile.ZIP_STORED for e in entries):
        raise UsageError(f"{path} was refused: its archive expands to {total:,} bytes from "
                         f"{size:,} (torch.save never compresses); {INTACT}")  # fmt: skip


def _check_regular_file(path: Path) -> None:
    if not path.exists():
        raise UsageError(f"{path} does not exist: give a checkpoint or weights file (.pt)")
    if path.is_dir():
        raise UsageError(f"{path} is a directory: give a file in it, such as generator.pt")
    if not path.is_file():
        raise UsageError(f"{path} is not a regular file (a device, pipe or socket): give a .pt")


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown(value: Any) -> str:
    """``value`` for an error message: the short repr of a plain scalar, else its type (a
    container is never formatted: it may be huge, deep or a web of shared lists)."""
    if type(value) is int and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    if value is None or isinstance(value, (bool, int, float)):
        return _cut(repr(value))
    if isinstance(value, str):
        return _cut(repr(value[:80]))
    if isinstance(value, torch.Tensor):
        return _cut(f"a {value.dtype} tensor of shape {tuple(value.shape)}")
    return f"a {type(value).__name__}"


def _damaged(path: Path | str, field: str, problem: str) -> UsageError:
    return UsageError(f"{path} is damaged: its {field!r} entry is missing or malformed "
                      f"({problem}); {INTACT}")  # fmt: skip


def _require(ok: bool, path: Path | str, field: str, value: Any, wanted: str) -> None:
    if not ok:
        raise _damaged(path, field, f"{shown(value)}, expected {wanted}")


def _is(value: Any, expected: Any) -> bool:  # never compares a tensor or a list
    return type(value) is type(expected) and value == expected


def _count(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _keys(record: Any, required: set[str], path, field: str, optional: Any = ()) -> None:
    """A UsageError unless ``record`` is a dict of the keys ``required`` (and ``optional``)."""
    _require(isinstance(record, dict), path, field, record, "a dict")
    missing = sorted(required - record.keys())
    if missing:
        raise _damaged(path, f"{field}.{missing[0]}".lstrip("."), "absent")
    extra = next((key for key in record if key not in required and key not in optional), None)
    if extra is not None:
        raise UsageError(f"{path} is damaged: {repr(field) if field else 'it'} has an unknown "
                         f"entry {shown(extra)}; {INTACT}")  # fmt: skip


def _scalars(data: Any, path: Path | str, field: str, nested: tuple[str, ...] = ()) -> None:
    """Settings are plain scalars or lists of epochs (checked before any is formatted)."""
    _require(isinstance(data, dict), path, field, data, "a dict of settings")
    for key, value in data.items():
        name = f"{field}.{_cut(key) if isinstance(key, str) else shown(key)}"
        if key in nested:
            _scalars(value, path, name)
        elif isinstance(value, list):
            numbers = len(value) <= MAX_EPOCHS and all(
                type(v) is float or _count(v, 0, MAX_EPOCHS) for v in value)
            _require(numbers, path, name, value, "a number or a list of numbers")
        elif isinstance(value, str):
            _require(len(value) <= 4096, path, name, value, "a path or a name")
        else:
            plain = value is None or isinstance(value, (bool, float)) or _count(value, 0, 2**64)
            _require(plain, path, name, value, "a number, true/false or null")


def _settings(cls: type, data: Any, path: Path | str, field: str) -> Any:
    """The config dataclass ``cls`` a file carries; a one-line UsageError if unusable."""
    _scalars(data, path, field, nested=("model",) if cls is TrainConfig else ())
    try:
        return from_dict(cls, data)
    except (UsageError, TypeError, AttributeError, ValueError) as exc:
        raise UsageError(f"{path} carries settings gradgames cannot use "
                         f"({_cut(str(exc), 160)}); {INTACT}") from None  # fmt: skip


def _tensors(found: Any, reference: Mapping[str, torch.Tensor], path, field: str) -> None:
    """``found`` has the names, shapes, dtypes of the state dict ``reference``; finite floats."""
    _keys(found, set(reference), path, field)
    for key, ref in reference.items():
        _tensor(found[key], ref, path, f"{field}.{key}", repr(key))


def _tensor(value: Any, ref: torch.Tensor, path, field: str, name: str = "") -> None:
    """``value`` is a dense tensor of ``ref``'s shape and dtype, finite if floating."""
    wanted = f"a {ref.dtype} tensor of shape {tuple(ref.shape)}"
    _require(isinstance(value, torch.Tensor) and value.layout == torch.strided
             and value.dtype == ref.dtype and value.shape == ref.shape, path, field, value,
             wanted)  # fmt: skip
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        name = name or repr(field)
        raise UsageError(f"{path} holds non-finite weights (NaN or infinity in {name}): the "
                         "network cannot be used; take a checkpoint from before training "
                         "diverged")  # fmt: skip


def _blueprint(kind: str, model: ModelConfig) -> nn.Module:
    """The network of ``model`` on the meta device: its names, shapes and dtypes, no memory."""
    with torch.device("meta"):
        return NETWORKS[kind](model)


# Training checkpoints.

ENTRIES = ("format", "version", "config", "generator", "discriminator", "opt_g", "opt_d",
           "fixed_noise", "rng", "step", "seconds", "world_size")  # fmt: skip
EMA_ENTRIES = ("generator_ema", "ema_updates", "ema_compared")
COUNTS = {"step": (0, MAX_STEPS), "world_size": (1, TRAIN_IMAGES), "ema_updates": (0, MAX_STEPS)}


def save_checkpoint(path: Path, state: GanState, config: TrainConfig, world_size: int = 1,
                    ema: EmaGenerator | None = None) -> None:  # fmt: skip
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
        "rng": {"cpu": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state() if torch.cuda.is_initialized() else None},
        "step": state.step,
        "seconds": state.seconds,
        "world_size": world_size,
    }
    if ema is not None:
        saved = ema.state_dict()
        record.update(generator_ema=saved["state_dict"], ema_updates=saved["updates"])
        if "compared" in saved:
            record["ema_compared"] = saved["compared"]
    atomic_torch_save(record, Path(path))


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """A training checkpoint written by :func:`save_checkpoint`, checked entry by entry."""
    return checked(load_file(path), path)


def checked(state: Any, path: Path | str) -> dict[str, Any]:
    """``state`` if every entry of it is what :func:`save_checkpoint` writes for the networks
    its own settings build, else a one-line UsageError naming the file and the entry."""
    if not isinstance(state, dict) or not _is(state.get("format"), FORMAT):
        raise UsageError(
            f"{path} is not a gradgames training checkpoint: give a run's checkpoints/last.pt"
        )
    _require(_is(state.get("version"), VERSION), path, "version", state.get("version"), "1")
    ema = any(key in state for key in EMA_ENTRIES[:2])
    _keys(state, {*ENTRIES, *(EMA_ENTRIES[:2] if ema else ())}, path, "",
          optional=EMA_ENTRIES[2:] if ema else ())  # fmt: skip
    config = _settings(TrainConfig, state["config"], path, "config")
    nets = {kind: _blueprint(kind, config.model) for kind in NETWORKS}
    for name in ("generator", "discriminator", *(["generator_ema"] if ema else [])):
        _tensors(state[name], nets[name.removesuffix("_ema")].state_dict(), path, name)
    compared = {repr(decay) for decay in config.ema_compare}  # the further averages' entries
    if ema and (compared or "ema_compared" in state):
        _keys(state.get("ema_compared"), compared, path, "ema_compared")
        for decay in sorted(compared):
            weights = state["ema_compared"][decay]
            _tensors(weights, nets["generator"].state_dict(), path, f"ema_compared.{decay}")
    for name, net in zip(("opt_g", "opt_d"), nets.values(), strict=True):
        check = _adam if config.legacy_step() else _game
        check(state[name], list(net.parameters()), config, path, name)
    noise = torch.empty(64, config.model.noise_dim, device="meta")
    _tensor(state["fixed_noise"], noise, path, "fixed_noise", "'fixed_noise'")
    _keys(state["rng"], {"cpu", "cuda"}, path, "rng")
    _tensor(state["rng"]["cpu"], torch.get_rng_state(), path, "rng.cpu")
    cuda = state["rng"]["cuda"]
    if cuda is not None:  # a CUDA generator's state: its seed and offset, 8 bytes each
        _tensor(cuda, torch.empty(16, dtype=torch.uint8), path, "rng.cuda")
    for key, (low, high) in COUNTS.items():
        value = state.get(key, low)
        _require(_count(value, low, high), path, key, value, f"an integer from {low} to {high:,}")
    seconds = state["seconds"]  # None: not recorded
    ok = seconds is None or (type(seconds) in (int, float) and 0 <= seconds <= 1e12)
    _require(ok, path, "seconds", seconds, "a number of seconds or null")
    return state


def _adam(saved: Any, params: list[torch.Tensor], config: TrainConfig, path, field: str) -> None:
    """``saved`` is the state dict of the Adam that :func:`~gradgames.gan.step.build_state`
    makes for ``params`` (the device it ran on may differ), with moments of their shapes."""
    _keys(saved, {"state", "param_groups"}, path, field)
    expected = {**ADAM_GROUP, "lr": config.lr, "betas": (config.beta1, config.beta2),
                "params": list(range(len(params)))}  # fmt: skip
    groups = _one_group(saved, path, field)
    _keys(groups[0], {"lr", "betas", "params", "eps", "weight_decay"}, path,
          f"{field}.param_groups.0", {*ADAM_GROUP, *DEVICE_FLAGS})  # torch fills in the flags
    for key, value in groups[0].items():
        ref, name = expected.get(key), f"{field}.param_groups.0.{key}"
        if key in DEVICE_FLAGS:
            _require(value is None or isinstance(value, bool), path, name, value, "a flag")
        else:
            _require(_same(value, ref), path, name, value, _cut(repr(ref)))
    for where, param, entry in _entries(saved, params, path, field):
        _keys(entry, ADAM_STATE, path, where)
        _tensor(entry["step"], torch.empty(()), path, f"{where}.step")
        _require(0 <= float(entry["step"]) <= MAX_STEPS, path, f"{where}.step",
                 float(entry["step"]), f"a count of steps up to {MAX_STEPS:,}")  # fmt: skip
        for key in ("exp_avg", "exp_avg_sq"):
            _tensor(entry[key], param, path, f"{where}.{key}")


def _one_group(saved: dict, path, field: str) -> list:
    """An optimiser state dict's ``param_groups``, checked to be a list of one group."""
    groups = saved["param_groups"]
    _require(isinstance(groups, list) and len(groups) == 1, path, f"{field}.param_groups",
             groups, "a list of one group")  # fmt: skip
    return groups


def _entries(saved: dict, params: list[torch.Tensor], path, field: str):
    """``(where, parameter, entry)`` for each per-parameter entry of an optimiser state dict,
    its index checked against ``params``."""
    states = saved["state"]
    _require(isinstance(states, dict), path, f"{field}.state", states, "a dict")
    for index, entry in states.items():
        _require(_count(index, 0, len(params) - 1), path, f"{field}.state", index,
                 f"parameter indices 0 to {len(params) - 1}")  # fmt: skip
        yield f"{field}.state.{index}", params[index], entry


GAME_STATE = {"step", "exp_avg", "exp_avg_sq", "momentum_buffer", "previous"}


def _game(saved: Any, params: list[torch.Tensor], config: TrainConfig, path, field: str) -> None:
    """``saved`` is the state dict of the :class:`~gradgames.gan.dynamics.GameOptimizer` that
    ``config``'s dynamics make for ``params``: its one group's settings, and per parameter a
    step count and buffers of the parameter's shape."""
    _keys(saved, {"state", "param_groups"}, path, field)
    probe = torch.empty(0, device="meta", requires_grad=True)
    expected = {**optimizer(config, [probe]).state_dict()["param_groups"][0],
                "params": list(range(len(params)))}  # fmt: skip
    groups = _one_group(saved, path, field)
    _keys(groups[0], set(expected), path, f"{field}.param_groups.0")
    for key, ref in expected.items():
        name = f"{field}.param_groups.0.{key}"
        _require(_same(groups[0][key], ref), path, name, groups[0][key], _cut(repr(ref)))
    for where, param, entry in _entries(saved, params, path, field):
        _keys(entry, set(), path, where, GAME_STATE)
        if "step" in entry:
            _require(_count(entry["step"], 0, MAX_STEPS), path, f"{where}.step", entry["step"],
                     f"a count of steps up to {MAX_STEPS:,}")  # fmt: skip
        for key in GAME_STATE - {"step"} & entry.keys():
            _tensor(entry[key], param, path, f"{where}.{key}")


def _same(value: Any, ref: Any) -> bool:
    if isinstance(ref, (tuple, list)):
        return (isinstance(value, (tuple, list)) and len(value) == len(ref)
                and all(map(_same, value, ref)))  # fmt: skip
    if type(ref) in (int, float):
        return type(value) in (int, float) and value == ref
    return _is(value, ref)


def restore(state: GanState, checkpoint: Mapping[str, Any]) -> None:
    """Loads a :func:`checked` checkpoint into ``state`` (networks, optimisers, RNG, step,
    training time); a UsageError if its networks are not those of ``state``'s settings."""
    try:
        unwrap(state.generator).load_state_dict(checkpoint["generator"])
        unwrap(state.discriminator).load_state_dict(checkpoint["discriminator"])
        state.fixed_noise.copy_(checkpoint["fixed_noise"])
    except RuntimeError as exc:
        reason = _cut(str(exc).splitlines()[0])
        raise UsageError(f"the checkpoint does not fit this model ({reason}): resume with the "
                         "settings it was written with") from None  # fmt: skip
    state.opt_g.load_state_dict(checkpoint["opt_g"])  # checked against the same networks
    state.opt_d.load_state_dict(checkpoint["opt_d"])
    state.step = checkpoint["step"]
    state.seconds = None if checkpoint["seconds"] is None else float(checkpoint["seconds"])
    torch.set_rng_state(checkpoint["rng"]["cpu"])
    if checkpoint["rng"]["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(checkpoint["rng"]["cuda"])


def restore_ema(ema: EmaGenerator, checkpoint: Mapping[str, Any]) -> bool:
    """Loads the checkpoint's EMA generator into ``ema``; False when it has none (the run
    kept none: ``ema`` then starts from the restored generator)."""
    if "generator_ema" not in checkpoint:
        return False
    ema.load_state_dict({"state_dict": checkpoint["generator_ema"],
                         "updates": checkpoint["ema_updates"],
                         "compared": checkpoint.get("ema_compared", {})})  # fmt: skip
    return True


# Weights files.

WEIGHTS_ENTRIES = {"format", "version", "network", "config", "state_dict"}


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
    path: Path | str, device: torch.device | str = "cpu", *, stated: WeightsConfig | None = None
) -> Generator:
    """A generator in eval mode on ``device`` from ``generator.pt`` or ``checkpoints/last.pt``.

    Raises:
        UsageError: the file is unreadable, damaged, holds another network or non-finite
            weights. ConfigError: a setting in ``stated`` differs from the file's.
    """
    return _load_network(path, "generator", device, stated)


def load_discriminator(
    path: Path | str, device: torch.device | str = "cpu", *, stated: WeightsConfig | None = None
) -> Discriminator:
    """A discriminator in eval mode, as :func:`load_generator` loads a generator."""
    return _load_network(path, "discriminator", device, stated)


def _load_network(path, kind: Network, device, stated) -> nn.Module:
    path = Path(path)
    config, weights = _weights_and_settings(load_file(path), path, kind)
    _agree(config, stated, path)
    network = NETWORKS[kind](config)
    network.load_state_dict(weights)  # checked against the same network's blueprint
    return network.to(device).eval()


def _weights_and_settings(record: Any, path: Path, kind: Network):
    """(ModelConfig, checked state dict of ``kind``) from a checkpoint or a weights file."""
    if isinstance(record, dict) and _is(record.get("format"), FORMAT):
        record = checked(record, path)
        return _settings(ModelConfig, record["config"]["model"], path, "config.model"), record[kind]
    if not isinstance(record, dict) or not _is(record.get("format"), WEIGHTS_FORMAT):
        raise UsageError(f"{path} is neither a gradgames weights file nor a training checkpoint "
                         f"(a bare state dict carries no model settings): give a run's {kind}.pt "
                         "or checkpoints/last.pt")  # fmt: skip
    version, found = record.get("version"), record.get("network")
    _require(_is(version, WEIGHTS_VERSION), path, "version", version, "1")
    if isinstance(found, str) and found in NETWORKS and found != kind:
        raise UsageError(f"{path} holds {found} weights, not a {kind}'s: give {kind}.pt "
                         "or checkpoints/last.pt")  # fmt: skip
    _require(_is(found, kind), path, "network", found, repr(kind))
    _keys(record, WEIGHTS_ENTRIES, path, "", optional={"ema"})  # ema: what the EMA averaged
    config = _settings(ModelConfig, record["config"], path, "config")
    _tensors(record["state_dict"], _blueprint(kind, config).state_dict(), path, "state_dict")
    return config, record["state_dict"]


def _agree(config: ModelConfig, stated: WeightsConfig | None, path: Path) -> None:
    """A ConfigError for a stated setting that differs from the one the file holds."""
    for name, value in (stated.given() if stated else {}).items():
        theirs = getattr(config, name)
        if value != theirs:
            raise ConfigError(
                name, f"{value:g} differs from the {theirs:g} that {path} was trained with: "
                "leave it out to use the file's setting"
            )  # fmt: skip
