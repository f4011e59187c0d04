"""Resuming a run: its saved settings, and which flags may change on ``--resume``.

A resumed run keeps the game it was started with (learning rates, model, data, seed...);
only the settings in :data:`RESUMABLE` may change, since they say how long and where it runs.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

from gradgames.config import from_dict, to_dict
from gradgames.errors import UsageError
from gradgames.runs import prepare_output_dir

if TYPE_CHECKING:
    from gradgames.gan.train import TrainConfig

RESUMABLE = ("epochs", "max_steps", "device", "progress", "log_every")


def saved_config(out: Path) -> dict:
    """The settings a run directory was started with (its config.json)."""
    try:
        return json.loads((Path(out) / "config.json").read_text())["config"]
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(f"{out}/config.json is unreadable: the run cannot be resumed") from None


def resume_config(config: TrainConfig) -> TrainConfig:
    """With --resume: the run's saved settings, except those in RESUMABLE from ``config``."""
    saved = saved_config(config.out)
    saved.update({k: getattr(config, k) for k in RESUMABLE})
    saved["out"], saved["resume"] = str(config.out), True
    return from_dict(type(config), saved)


def command_line_resume(config: TrainConfig, given: set[str]) -> TrainConfig:
    """The config of ``gradgames gan train --resume`` given the flags the user passed.

    Flags in RESUMABLE that were given apply; the others keep the run's saved values, except
    --max-steps, which is a stopping point rather than a setting: without it the resumed run
    trains to its last epoch. Any other flag must agree with the run's settings: a resumed run
    cannot change its game.
    """
    prepare_output_dir(config.out, resume=True)
    saved = saved_config(config.out)
    current = to_dict(config)
    for name in sorted(given - set(RESUMABLE) - {"out", "resume"}):
        in_model = name in current["model"]
        mine = current["model"][name] if in_model else current[name]
        theirs = saved.get("model", {}).get(name) if in_model else saved.get(name)
        if mine != theirs:
            flag = "--" + name.replace("_", "-")
            raise UsageError(
                f"{flag} {mine} differs from the run's {theirs}: a resumed run keeps its "
                f"settings; only {', '.join('--' + k.replace('_', '-') for k in RESUMABLE)} "
                "may change"
            )
    keep = {k: saved[k] for k in RESUMABLE if k not in given | {"max_steps"} and k in saved}
    return dataclasses.replace(config, **keep) if keep else config
