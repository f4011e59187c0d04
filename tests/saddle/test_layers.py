"""The command line of gradgames.saddle imports only core modules and the config at module
level (the layers themselves are import-linter's contracts: pyproject.toml,
tests/test_contracts.py)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "gradgames" / "saddle"
CORE = {"gradgames.errors", "gradgames.config", "gradgames.files", "gradgames.rundir",
        "gradgames.device", "gradgames.report", "gradgames.plotting", "gradgames.cli"}  # fmt: skip
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


def test_the_command_line_imports_the_library_only_inside_its_commands():
    top = imports(PACKAGE / "cli.py", top_level_only=True)
    assert top <= CORE | {"gradgames.saddle.config"}, top
    config = imports(PACKAGE / "config.py")
    assert config <= {"gradgames.config", "gradgames.errors"}, config
