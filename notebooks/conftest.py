"""The notebooks run as tests (``pytest --nbmake``, in pyproject.toml's addopts) on the
interpreter that runs pytest.

nbmake starts the kernel named in the notebook (``python3``), as Jupyter finds it. Inside a
virtual environment Jupyter prefers the environment's own kernelspec, which runs
``sys.executable``; but with ``JUPYTER_PREFER_ENV_PATH=0``, or from an interpreter outside a
virtual environment, a ``python3`` kernel in the user's folders wins and would run the notebook
on another Python (one without gradgames: the test fails with "Kernel died"). This pins
``python3`` to ``sys.executable`` for the session: a kernelspec in a temporary folder put first
on ``JUPYTER_PATH``, which Jupyter searches before any other.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

_FOLDER = Path(tempfile.mkdtemp(prefix="gradgames-kernels-"))


def pytest_configure(config) -> None:
    spec = _FOLDER / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (pytest)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(_FOLDER), os.environ.get("JUPYTER_PATH", "")) if p
    )


def pytest_unconfigure(config) -> None:
    shutil.rmtree(_FOLDER, ignore_errors=True)
