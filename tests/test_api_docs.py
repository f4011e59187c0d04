"""docs/api.md and notebooks/assignment.ipynb: every ```python block of the docs runs, each
part's whole public API is documented, and both use nothing but the public API.

The notebook itself is executed by nbmake (pyproject.toml's addopts); here only its source and
its committed outputs are read.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "api.md"
NOTEBOOK = ROOT / "notebooks" / "assignment.ipynb"
PARTS = ("bandit", "saddle", "gan")
BLOCK_OR_HEADING = re.compile(r"^## ([^\n]+)$|^```python\n(.*?)^```$", re.M | re.S)
PUBLIC = {"gradgames", "gradgames.errors", *(f"gradgames.{part}" for part in PARTS)}


def python_blocks() -> list[tuple[str, str]]:
    """``(section heading, code)`` of every ```python block of docs/api.md, in order."""
    blocks, heading = [], ""
    for match in BLOCK_OR_HEADING.finditer(DOCS.read_text()):
        if match.group(1):
            heading = match.group(1)
        else:
            blocks.append((heading, match.group(2)))
    return blocks


def section(title_start: str) -> str:
    text = DOCS.read_text()
    start = text.index(f"\n## {title_start}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def private_uses(code: str) -> list[str]:
    """The imports of gradgames in ``code`` that reach past the public API: a module other
    than a part's package, ``gradgames.errors`` and ``gradgames`` itself, or a name outside a
    part's ``__all__``."""
    found, python = [], re.sub(r"^(\s*)[!%].*", r"\1pass", code, flags=re.M)  # no magics
    for node in ast.walk(ast.parse(python)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("gradgames")
                      and a.name not in PUBLIC]  # fmt: skip
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gradgames"):
            if node.module not in PUBLIC:
                found.append(node.module)
            elif node.module != "gradgames":
                exported = getattr(importlib.import_module(node.module), "__all__", None)
                found += [f"{node.module}.{a.name}" for a in node.names
                          if exported is not None and a.name not in exported]  # fmt: skip
    return found


def notebook_code() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def test_the_docs_have_an_example_per_part():
    headings = [heading for heading, _ in python_blocks()]
    for part in PARTS:
        assert any(f"`gradgames.{part}`" in heading for heading in headings), part


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_every_python_block_of_the_docs_runs(index, tmp_path, monkeypatch):
    heading, code = python_blocks()[index]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"docs/api.md ({heading}, block {index + 1})", "exec"), {})  # noqa: S102


@pytest.mark.parametrize("part", PARTS)
def test_each_part_documents_its_whole_public_api(part):
    text = section(f"Part {PARTS.index(part) + 1}: `gradgames.{part}`")
    documented = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)", text))
    missing = set(importlib.import_module(f"gradgames.{part}").__all__) - documented
    assert not missing, f"docs/api.md does not mention gradgames.{part}'s {sorted(missing)}"


def test_the_docs_and_the_notebook_use_only_the_public_api():
    sources = [code for _, code in python_blocks()] + notebook_code()
    assert [use for code in sources for use in private_uses(code)] == []


def test_the_private_use_check_sees_private_modules_and_unexported_names():
    code = "from gradgames.gan.loop import train\nfrom gradgames.saddle import stability\n"
    assert private_uses(code) == ["gradgames.gan.loop", "gradgames.saddle.stability"]
    assert private_uses("import gradgames.rundir\nfrom gradgames.bandit import simulate") == [
        "gradgames.rundir"
    ]


def test_the_notebook_runs_no_command_line_and_is_committed_with_its_outputs():
    install, *code = notebook_code()  # the first cell installs gradgames where it is missing
    magics = [line.split()[:2] for line in re.findall(r"^\s*[!%].*", install, re.M)]
    assert install.startswith("try:") and "except ImportError:" in install
    assert magics == [["%pip", "install"]]  # only where gradgames cannot be imported
    assert not [c for c in code if "subprocess" in c or re.search(r"^\s*[!%]", c, re.M)]
    assert not [c for c in code if "gradgames.cli" in c or "gradgames.reproduce" in c]
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    assert all(cell["execution_count"] for cell in cells), "a code cell was never executed"
    outputs = [output for cell in cells for output in cell["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 4  # the figures inline
    kernel = json.loads(NOTEBOOK.read_text())["metadata"]["kernelspec"]["name"]
    assert kernel == "python3"  # the kernel notebooks/conftest.py pins to pytest's interpreter


def test_the_notebook_opens_in_colab_and_picks_its_device():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    assert "colab.research.google.com/assets/colab-badge.svg" in "".join(cells[0]["source"])
    assert 'torch.device("cuda" if torch.cuda.is_available() else "cpu")' in notebook_code()[1]
