"""The layers of gradgames.saddle: every import (module level, inside functions, under
TYPE_CHECKING) points down, and the command line imports only core modules and the config at
module level."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "gradgames" / "saddle"
CORE = {"gradgames.errors", "gradgames.config", "gradgames.runs", "gradgames.report",
        "gradgames.plotting", "gradgames.cli"}  # fmt: skip
RANK = {  # a module may import only modules of a lower rank
    "config": 0,
    "expr": 1,
    "game": 2,
    "linear": 2,
    "dynamics": 3,
    "stability": 3,
    "stabmap": 4,
    "plots": 5,
    "analysis": 6,
    "report": 7,
    "assignment": 8,
    "cli": 9,
}


def imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("gradgames")}


def test_every_module_has_a_rank():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set(RANK)


@pytest.mark.parametrize("module", sorted(RANK))
def test_imports_point_down(module):
    for name in imports(PACKAGE / f"{module}.py"):
        if name.startswith("gradgames.saddle."):
            target = name.removeprefix("gradgames.saddle.")
            assert RANK[target] < RANK[module], f"{module} imports {target}"
        else:
            assert name in CORE, f"{module} imports {name}"


def test_the_command_line_imports_the_library_only_inside_its_commands():
    top = imports(PACKAGE / "cli.py", top_level_only=True)
    assert top <= CORE | {"gradgames.saddle.config"}, top
    config = imports(PACKAGE / "config.py")
    assert config <= {"gradgames.config", "gradgames.errors"}, config
