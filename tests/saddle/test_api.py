"""The library's surface: a curated public API whose docstring example runs, torch-free
configs, a command line whose --help imports neither torch nor matplotlib and lists every
config field, and no dead names."""

import dataclasses
import doctest
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import gradgames.saddle
from gradgames.saddle import config

SRC = Path(__file__).resolve().parents[2] / "src"


def fresh_python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_package_docstring_example_runs():
    results = doctest.testmod(gradgames.saddle, verbose=False)
    assert results.attempted >= 3 and results.failed == 0


def test_the_public_api_is_curated():
    names = gradgames.saddle.__all__
    assert len(names) == len(set(names)) == len(gradgames.saddle._SOURCES)
    for name in names:
        assert getattr(gradgames.saddle, name) is not None, name
    assert "STATUSES" not in dir(gradgames.saddle.dynamics)  # dead code, deleted


@pytest.mark.parametrize("command", ["", "analyze", "run", "compare", "map"])
def test_help_imports_neither_torch_nor_matplotlib(command):
    out = fresh_python(
        f"""
        import contextlib, io, sys
        from gradgames.cli import main
        text = io.StringIO()
        with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
            main([a for a in ["saddle", "{command}", "--help"] if a])
        loaded = [m for m in ("torch", "matplotlib") if m in sys.modules]
        print(loaded, len(text.getvalue()) > 200)
        """
    )
    assert out == "[] True"


def test_the_configs_are_a_torch_free_leaf():
    out = fresh_python(
        """
        import sys
        import gradgames.saddle.config
        print([m for m in sys.modules if m.startswith(("torch", "matplotlib", "numpy"))])
        """
    )
    assert out == "[]"


@pytest.mark.parametrize(
    "command, cls",
    [("analyze", config.AnalyzeConfig), ("run", config.RunConfig),
     ("compare", config.CompareConfig), ("map", config.MapConfig)],
)  # fmt: skip
def test_every_help_lists_every_field(cli, command, cls):
    code, out, _ = cli("saddle", command, "--help")
    assert code == 0
    for f in dataclasses.fields(cls):
        assert "--" + f.name.replace("_", "-") in out, f.name
    if hasattr(cls, "method"):
        assert ", ".join(config.METHODS) in out.replace("\n", " ").replace("  ", " ") or all(
            m in out for m in config.METHODS
        )


def test_choice_lists_come_from_the_literal_types():
    import typing

    assert typing.get_args(config.Method) == config.METHODS
    assert typing.get_args(config.Kind) == config.KINDS
    from gradgames.saddle import game, stability

    assert game.KINDS is config.KINDS and stability.METHODS is config.METHODS
    assert "stability" not in gradgames.saddle.__all__  # the module's name, not a function
