"""The shape of gradgames.gan beyond what import-linter's contracts check (pyproject.toml,
tests/test_contracts.py): torch-free configs, a lazy command line, a curated public API whose
docstring example runs."""

from __future__ import annotations

import ast
import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import gradgames.gan as gan
from gradgames.errors import ConfigError
from gradgames.gan import config as gan_config

SRC = Path(__file__).resolve().parents[2] / "src" / "gradgames"

def module_name(path: Path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts)


def all_imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (under TYPE_CHECKING, in functions);
    ``from package import submodule`` counts as the submodule."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            folder = SRC.parent.joinpath(*node.module.split("."))
            found |= {f"{node.module}.{a.name}" if (folder / f"{a.name}.py").exists()
                      else node.module for a in node.names}  # fmt: skip
    return found


def imports_of(path: Path) -> set[str]:
    """The gradgames modules ``path`` imports, named as in :data:`LAYERS`."""
    names = {n.removeprefix("gradgames.") for n in all_imports(path) if n.startswith("gradgames.")}
    return {"gan.__init__" if n == "gan" else n for n in names}


@pytest.mark.parametrize("leaf", ["gan/config.py", "gan/results.py"])
def test_configs_and_results_are_torch_free_leaves(leaf):
    assert imports_of(SRC / leaf) <= {"config", "errors"}
    third_party = {n.split(".")[0] for n in all_imports(SRC / leaf)} - {"gradgames"}
    assert third_party <= {"__future__", "dataclasses", "pathlib", "typing"}, third_party


def fresh_python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(SRC.parent)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "argv",
    [["gan", "--help"], ["gan", "train", "--help"], ["gan", "sample", "--help"],
     ["gan", "evaluate", "--help"], ["gan", "train-classifier", "--help"],
     ["gan", "summary", "--help"]],
)  # fmt: skip
def test_gan_help_imports_neither_torch_nor_matplotlib(argv):
    out = fresh_python(
        f"""
        import sys
        from gradgames.cli import main
        try:
            main({argv!r})
        except SystemExit:
            pass
        print(sorted(m for m in ("torch", "matplotlib") if m in sys.modules))
        """
    )
    assert out == "[]"


def test_gan_train_help_is_complete(cli):
    code, out, _ = cli("gan", "train", "--help")
    assert code == 0
    for cls in (gan_config.TrainConfig, gan_config.ModelConfig, gan_config.DistConfig):
        for f in dataclasses.fields(cls):
            if f.name != "model":
                assert "--" + f.name.replace("_", "-") in out, f.name


def test_the_public_api_is_curated_and_loads_lazily():
    assert gan.__all__ == sorted(gan._SOURCES)
    out = fresh_python(
        """
        import sys
        import gradgames.gan as gan
        before = "torch" in sys.modules
        gan.TrainConfig, gan.TrainResult
        print(before, "torch" in sys.modules)
        """
    )
    assert out == "False False"
    for name in gan.__all__:
        assert getattr(gan, name) is not None, name


def test_the_docstring_example_runs(tmp_path, monkeypatch):
    example = gan.__doc__.split("\n\n", 1)[1].split("\nThe layers")[0]
    monkeypatch.chdir(tmp_path)
    exec(textwrap.dedent(example), {})  # noqa: S102 - the package's own documented example
    assert (tmp_path / "runs" / "tiny" / "generator.pt").is_file()


@pytest.mark.parametrize(
    "cls,values,field",
    [
        (gan_config.ModelConfig, {"leak": float("nan")}, "leak"),
        (gan_config.ModelConfig, {"leak": -5.0}, "leak"),
        (gan_config.ModelConfig, {"leak": 1.0}, "leak"),
        (gan_config.ModelConfig, {"noise_dim": 10**9}, "noise_dim"),
        (gan_config.ModelConfig, {"dense_bn": "yes"}, "dense_bn"),
        (gan_config.TrainConfig, {"lr": 1e30}, "lr"),
        (gan_config.TrainConfig, {"beta2": 1.0}, "beta2"),
        (gan_config.TrainConfig, {"seed": 2**63}, "seed"),
        (gan_config.TrainConfig, {"subset": 256, "batch_size": 257}, "batch_size"),
        (gan_config.TrainConfig, {"epochs": 2, "eval_epochs": (3,)}, "eval_epochs"),
        (gan_config.DistConfig, {"dist_timeout": 1e300}, "dist_timeout"),
        (gan_config.SampleConfig, {}, "checkpoint"),
        (gan_config.EvaluateConfig, {"checkpoint": Path("g.pt"), "num": 1}, "num"),
        (gan_config.ClassifierConfig, {"weight_decay": -1.0}, "weight_decay"),
        (gan_config.WeightsConfig, {"leak": float("inf")}, "leak"),
    ],
)
def test_every_config_checks_itself_naming_the_field(cls, values, field):
    with pytest.raises(ConfigError) as caught:
        cls(**values)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{field} ")
