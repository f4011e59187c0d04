"""``gradgames`` with a record of what this rank did, for tests/gan/test_distributed.py.

Launched by torchrun in place of ``-m gradgames``; appends to ``$GRADGAMES_PROBE/rank<RANK>.txt``

    step <sha256 of every parameter of G and D> <sha256 of torch's CPU RNG state>

after each training step, and ``write <path>`` for every file the rank writes (every artefact
is written atomically, through ``os.replace``). Test-only: the package has no hook for it.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import torch

from gradgames.cli import main
from gradgames.gan import run as run_module
from gradgames.gan.step import unwrap

LOG = Path(os.environ["GRADGAMES_PROBE"]) / f"rank{os.environ.get('RANK', '0')}.txt"
REAL_STEP, REAL_REPLACE = run_module.train_step, os.replace


def record(line: str) -> None:
    with LOG.open("a") as handle:
        handle.write(line + "\n")


def probed_step(generator, discriminator, *args, **kw):
    stats = REAL_STEP(generator, discriminator, *args, **kw)
    weights = hashlib.sha256()
    for net in (generator, discriminator):
        for p in unwrap(net).parameters():
            weights.update(p.detach().cpu().numpy().tobytes())
    rng = hashlib.sha256(torch.get_rng_state().numpy().tobytes())
    record(f"step {weights.hexdigest()} {rng.hexdigest()}")
    return stats


def probed_replace(src, dst, *args, **kw):
    REAL_REPLACE(src, dst, *args, **kw)
    record(f"write {dst}")


if __name__ == "__main__":
    run_module.train_step = probed_step
    os.replace = probed_replace
    main(sys.argv[1:])
