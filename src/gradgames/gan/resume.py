"""Resuming a run: its saved settings, and which of them may change on resume.

A resumed run keeps the game it was started with (learning rates, model, data, seed...);
only the settings in :data:`RESUMABLE` may change, since they say how long and where it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gradgames.config import from_dict, to_dict
from gradgames.errors import ConfigError, UsageError
from gradgames.files import read_json
from gradgames.gan.config import TrainConfig
from gradgames.rundir import check_output_dir, resumed_settings

RESUMABLE = ("epochs", "max_steps", "device", "progress", "log_every", "tensorboard")


def saved_config(out: Path) -> dict[str, Any]:
    """The settings a run directory was started with (its config.json, strict JSON)."""
    path = Path(out) / "config.json"
    record = read_json(path)
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        raise UsageError(f"{path} holds no run settings: the run cannot be resumed")
    return record["config"]


def settings_from(saved: dict[str, Any], out: Path) -> TrainConfig:
    """The TrainConfig of saved settings; a one-line UsageError naming config.json if one of
    them is unknown or out of its range (a file edited by hand, or of another version)."""
    try:
        return from_dict(TrainConfig, saved, str(Path(out) / "config.json"))
    except ConfigError as exc:
        raise UsageError(
            f"{Path(out) / 'config.json'} holds a setting gradgames cannot use ({exc}): "
            "the run cannot be resumed"
        ) from None
    except (TypeError, AttributeError) as exc:
        raise UsageError(
            f"{Path(out) / 'config.json'} is malformed ({exc}): the run cannot be resumed"
        ) from None


def resume_config(config: TrainConfig) -> TrainConfig:
    """With ``resume``: the run's saved settings, except those in RESUMABLE from ``config``."""
    settings = resumed_settings(saved_config(config.out), to_dict(config), RESUMABLE, RESUMABLE)
    return settings_from({**settings, "resume": True}, config.out)


def command_line_resume(config: TrainConfig, given: set[str]) -> TrainConfig:
    """The config of ``gradgames gan train --resume`` given the fields the user set.

    Fields in RESUMABLE that were given apply; the others keep the run's saved values, except
    max_steps, which is a stopping point rather than a setting: without it the resumed run
    trains to its last epoch. Any other given field must agree with the run's settings
    (:func:`~gradgames.rundir.resumed_settings`): a resumed run cannot change its game.
    """
    check_output_dir(config.out, resume=True)
    given = set(given) | {"max_steps"}
    settings = resumed_settings(saved_config(config.out), to_dict(config), given, RESUMABLE)
    return settings_from({**settings, "resume": True}, config.out)
