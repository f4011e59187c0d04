"""Typed configs and the command-line flags generated from them.

Every entry point has one ``@dataclass`` config whose fields carry their help text
(``option(default, "help")``). :func:`add_arguments` turns the fields into argparse flags
(``batch_size`` -> ``--batch-size``) and :func:`from_namespace` builds the dataclass back, so
the command line mirrors the config one to one and a run's config.json is the dataclass
serialised by :func:`to_dict`.

Supported field types: ``bool`` (a ``--flag``; ``--no-flag`` when the default is True),
``int``, ``float``, ``str``, ``pathlib.Path``, ``typing.Literal[...]`` (choices),
``tuple[int, ...]`` / ``tuple[float, ...]`` (comma lists) and ``X | None`` of any of these.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import numbers
import reprlib
import types
import typing
from pathlib import Path
from typing import Any

from gradgames.errors import ConfigError, UsageError

SEED_RANGE = (0, 2**63 - 1)  # every command's --seed: torch, NumPy and the bandit's streams


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``gradgames gan train: error: ... (see --help)``."""

    def error(self, message: str):  # noqa: D401 - argparse's API
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def subcommands(parser: argparse.ArgumentParser):
    """The required ``COMMAND`` sub-parsers of one part's parser (for ``register`` functions)."""
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    commands.required = True
    return commands


def option(default: Any, help: str, *, flag: str | None = None, metavar: str | None = None,
           low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False):  # fmt: skip
    """A config field with its help text (and optionally its own flag name), and the bounds
    :func:`check_fields` holds a number (or each number of a tuple) to: ``low`` to ``high``,
    closed unless open; an int's ``low`` is 1 unless given."""
    bounds = {"low": low, "high": high, "low_open": low_open, "high_open": high_open}
    return dataclasses.field(
        default=default, metadata={"help": help, "flag": flag, "metavar": metavar, **bounds}
    )


def check_fields(config: Any) -> None:
    """The checks every field's annotation implies, once, for a config's ``__post_init__``:
    ``bool`` true or false; ``Literal`` one of its values; ``Path`` a non-empty path (a string
    becomes one); ``int`` an integer from the option's ``low`` (1 by default) to its ``high``;
    ``float`` finite, within the option's bounds; ``tuple[X, ...]`` a tuple of such X; a
    nested config its own class; ``X | None`` also None. A field named ``seed`` is a seed.
    Rules across fields stay in the config's ``__post_init__``.

    Raises:
        ConfigError: naming the first field that fails (the command line names its flag).
    """
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        if f.init:
            value = _checked(f.name, hints[f.name], getattr(config, f.name), f.metadata)
            object.__setattr__(config, f.name, value)


def _checked(name: str, tp: Any, value: Any, meta: Any) -> Any:
    tp, optional = _unwrap_optional(tp)
    origin = typing.get_origin(tp)
    if value is None and optional:
        return None
    if tp is bool:
        check_bool(name, value)
    elif origin is typing.Literal:
        check_choice(name, value, tp)
    elif tp is Path:
        value = Path(value) if isinstance(value, str) and value else value
        check_path(name, value)
    elif tp is int and name == "seed":
        check_seed(name, value)
    elif tp is int:
        low = 1 if meta.get("low") is None else meta["low"]
        check_int(name, value, low, meta.get("high"))
    elif tp is float and meta.get("low") is None and meta.get("high") is None:
        check_finite(name, value)
    elif tp is float:
        low, high = meta.get("low"), meta.get("high")
        check_range(name, value, -math.inf if low is None else low,
                    math.inf if high is None else high, low_open=meta.get("low_open", False),
                    high_open=meta.get("high_open", False))  # fmt: skip
    elif origin is tuple:
        if not isinstance(value, tuple):
            raise ConfigError(name, f"must be a tuple; got {shown(value)}")
        return tuple(_checked(name, typing.get_args(tp)[0], v, meta) for v in value)
    elif dataclasses.is_dataclass(tp) and not isinstance(value, tp):
        raise ConfigError(name, f"must be a {tp.__name__}; got {type(value).__name__}")
    elif tp is str and not isinstance(value, str):
        raise ConfigError(name, f"must be a string; got {shown(value)}")
    return value


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return tp, False


def _list_parser(item: type, name: str):
    """``"10,30,50"`` -> ``(10, 30, 50)``; ``""`` -> ``()``; an empty item (``1,,2``) is refused."""

    def parse(text: str) -> tuple:
        if not text.strip():
            return ()
        parts = [part.strip() for part in text.split(",")]
        try:
            if "" in parts:
                raise ValueError
            return tuple(_number(item, part) for part in parts)
        except ValueError:
            kind = "integers" if item is int else "finite numbers"
            raise argparse.ArgumentTypeError(
                f"{name} takes comma-separated {kind}, e.g. 10,30,50; got {shown(text)}"
            ) from None

    return parse


def _number(kind: type, text: str):
    value = kind(text)
    if kind is float and not math.isfinite(value):
        raise ValueError(text)
    return value


def _number_parser(kind: type, name: str):
    def parse(text: str):
        try:
            return _number(kind, text)
        except ValueError:
            noun = "an integer" if kind is int else "a finite number"
            raise argparse.ArgumentTypeError(f"{name} takes {noun}; got {shown(text)}") from None

    return parse


def parse_path(text: str) -> Path:
    """argparse type of every path flag: an empty path (``--out ''``) is refused, not read as
    the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path was given; name a file or folder")
    return Path(text)


def parse_seed(text: str) -> int:
    """argparse type of every ``--seed``: an integer within :data:`SEED_RANGE`."""
    low, high = SEED_RANGE
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"--seed takes an integer from {low} to 2^63 - 1; got {shown(text)}"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = ()):
    """Adds one flag per field of the dataclass ``cls`` to ``parser``."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        tp, optional = _unwrap_optional(hints[f.name])
        flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        # Unset flags stay out of the namespace, so a command can tell what the user gave.
        kwargs: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS}
        if tp is bool:
            if f.default or optional:  # True, or None: the field's help says who decides
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                kwargs["action"] = "store_true"
        else:
            origin = typing.get_origin(tp)
            if origin is typing.Literal:
                kwargs["choices"] = list(typing.get_args(tp))
                kwargs["type"] = type(kwargs["choices"][0])
            elif origin is tuple:
                kwargs["type"] = _list_parser(typing.get_args(tp)[0], flag)
                kwargs["metavar"] = "A,B,..."
            elif f.name == "seed" and tp is int:
                kwargs["type"] = parse_seed
            elif tp in (int, float):
                kwargs["type"] = _number_parser(tp, flag)
            elif tp is Path:
                kwargs["type"] = parse_path
            else:
                kwargs["type"] = tp
            if f.metadata.get("metavar"):
                kwargs["metavar"] = f.metadata["metavar"]
            if f.default is not None and f.default != ():
                shown = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
                help_text += f" (default: {shown})"
            elif optional and "default" not in help_text:
                help_text += " (default: none)"
        parser.add_argument(flag, help=help_text, **kwargs)


def from_namespace(cls: type, ns: argparse.Namespace, **overrides: Any):
    """Builds the dataclass ``cls`` from parsed arguments; flags not given keep their defaults."""
    values = {f.name: getattr(ns, f.name) for f in dataclasses.fields(cls) if hasattr(ns, f.name)}
    values.update(overrides)
    return cls(**values)


def given_fields(cls: type, ns: argparse.Namespace) -> set[str]:
    """The fields of ``cls`` whose flags were given on the command line."""
    return {f.name for f in dataclasses.fields(cls) if hasattr(ns, f.name)}


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (paths as strings, tuples as lists)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, int, float)):
            return value.item() if hasattr(value, "item") else float(value)  # NumPy scalars
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if dataclasses.is_dataclass(value):
            return to_dict(value)
        return value

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def from_dict(cls: type, data: Any, where: str | None = None):
    """Reads a dataclass back from JSON (:func:`to_dict`'s output, or a record's), checking every
    value against its field's annotation before it is used.

    The one schema-checked reader of the files a run writes: ``bool``, ``int``, ``float``
    (finite), ``str``, ``Path``, ``Literal[...]``, ``tuple[X, ...]``, ``dict[str, X]``, nested
    dataclasses and ``X | None`` are checked; ``Any`` is taken as it is. Unknown and missing
    keys are refused, and the dataclass's own ``__post_init__`` checks the ranges.

    Args:
        cls: the dataclass.
        data: the parsed JSON.
        where: what the data is, for the message (a file's path). Without it (settings built
            in memory, as the sweep builds each run's), a value out of its range is the
            config's own ConfigError, which the command line reports under the flag's name.

    Raises:
        UsageError: one line naming ``where`` and the field (``ema.fid``) and what is wrong.
    """
    try:
        return _record(cls, data, "")
    except _Mismatch as e:
        raise UsageError(f"{where or cls.__name__}: {e} (was it edited, or written by another "
                         "tool?)") from None  # fmt: skip
    except ConfigError as e:
        if where is None:
            raise
        raise UsageError(f"{where}: {e}") from None


class _Mismatch(Exception):
    """A value that does not fit its field's annotation (the message names the field)."""


_KINDS = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}


def _record(cls: type, data: Any, prefix: str):
    if not isinstance(data, dict):
        raise _Mismatch(f"{prefix.rstrip('.') or 'the record'} must be a JSON object; got "
                        f"{shown(data)}")  # fmt: skip
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [str(k) for k in data if k not in fields]
    if unknown:
        raise _Mismatch(f"unknown key {prefix}{shown(unknown[0])}")
    missing = [n for n, f in fields.items() if n not in data and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]  # fmt: skip
    if missing:
        raise _Mismatch(f"{prefix}{missing[0]} is missing")
    values = {k: _value(hints[k], v, prefix + k) for k, v in data.items()}
    return cls(**values)


def _value(tp: Any, value: Any, name: str) -> Any:
    """``value`` as the annotation ``tp`` wants it, or _Mismatch naming ``name``."""
    tp, optional = _unwrap_optional(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if value is None:
        if optional:
            return None
    elif dataclasses.is_dataclass(tp):
        return _record(tp, value, name + ".")
    elif origin is typing.Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        choices = ", ".join(map(str, args))
        raise _Mismatch(f"{name} must be one of {choices}; got {shown(value)}")
    elif origin is tuple and isinstance(value, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], v, f"{name}[{i}]") for i, v in enumerate(value))
        if len(value) == len(args):
            pairs = enumerate(zip(args, value, strict=True))
            return tuple(_value(t, v, f"{name}[{i}]") for i, (t, v) in pairs)
    elif origin is dict and isinstance(value, dict):
        return {k: _value(args[1], v, f"{name}.{k[:40]}") for k, v in value.items()}
    elif tp is Path and isinstance(value, str) and value:
        return Path(value)
    elif tp is float and _real(value) is not None:
        return float(value)
    elif tp is Any or _plain(tp, value):
        return value
    other = "a list" if origin is tuple else "an object" if origin is dict else "a path"
    kind = _KINDS.get(tp, other)
    raise _Mismatch(f"{name} must be {kind}; got {shown(value)}")


def _plain(tp: Any, value: Any) -> bool:
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return tp in (bool, str) and isinstance(value, tp)


# Checks for configs' __post_init__ and library arguments. Each raises ConfigError naming the
# field (a ValueError); the command line names the flag instead.


class _Short(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 200:  # past 4300 digits repr() itself fails
            return f"<an integer of about {int(x.bit_length() * math.log10(2))} digits>"
        return super().repr_int(x, level)


_SHORT = _Short()
_SHORT.maxstring = _SHORT.maxother = 60


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` for a message, cut to at most ``limit`` characters (huge ints,
    strings and containers never formatted whole)."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _real(value: Any) -> float | None:
    """``value`` as a float if it is a finite real number (numbers.Real, not bool), else None."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond float64
        return None
    return number if math.isfinite(number) else None


def check_finite(field: str, value: Any) -> None:
    """``value`` is a finite real number."""
    if _real(value) is None:
        raise ConfigError(field, f"must be a finite number; got {shown(value)}")


def check_positive(field: str, value: Any) -> None:
    """``value`` is a finite number > 0."""
    number = _real(value)
    if number is None or number <= 0:
        raise ConfigError(field, f"must be a positive finite number; got {shown(value)}")


def check_range(
    field: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """``value`` is finite and in the interval from ``low`` to ``high`` (closed unless open)."""
    v = _real(value)
    above = v is not None and (v > low if low_open else v >= low)
    if not (above and (v < high if high_open else v <= high)):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ConfigError(field, f"must lie in {interval}; got {shown(value)}")


def check_numbers(field: str, values: Any) -> None:
    """``values`` is a non-empty tuple or list of finite numbers."""
    if not isinstance(values, (tuple, list)) or not values or any(_real(v) is None for v in values):
        raise ConfigError(field, f"must be one or more finite numbers; got {shown(values)}")


def _integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(
    field: str, value: Any, low: int = 1, high: int | None = None, *, optional: bool = False
) -> None:
    """``value`` is an integer from ``low`` to ``high`` (no upper bound when None); None is
    accepted when ``optional``."""
    if value is None and optional:
        return
    if not (_integer(value) and value >= low and (high is None or value <= high)):
        bound = f">= {low:,}" if high is None else f"from {low:,} to {high:,}"
        raise ConfigError(field, f"must be an integer {bound}; got {shown(value)}")


def check_seed(field: str, value: Any) -> None:
    """``value`` is a seed within :data:`SEED_RANGE` (the same for every command)."""
    low, high = SEED_RANGE
    if not (_integer(value) and low <= value <= high):
        raise ConfigError(field, f"must be an integer from {low} to 2^63 - 1; got {shown(value)}")


def check_choice(field: str, value: Any, choices: Any) -> None:
    """``value`` is one of ``choices`` (a ``Literal[...]`` type or a tuple)."""
    allowed = typing.get_args(choices) if typing.get_origin(choices) is typing.Literal else choices
    if value not in allowed:
        raise ConfigError(
            field, f"must be one of {', '.join(map(str, allowed))}; got {shown(value)}"
        )


def check_bool(field: str, value: Any) -> None:
    """``value`` is True or False (JSON's true/false; not 1, 0 or "yes")."""
    if not isinstance(value, bool):
        raise ConfigError(field, f"must be true or false; got {shown(value)}")


def check_path(field: str, value: Any, *, optional: bool = False) -> None:
    """``value`` is a non-empty ``Path`` (``Path("")`` would silently mean the current folder);
    None is accepted when ``optional``."""
    if value is None and optional:
        return
    if not isinstance(value, Path) or str(value) in ("", "."):
        raise ConfigError(field, f"must name a file or folder; got {shown(value)}")
