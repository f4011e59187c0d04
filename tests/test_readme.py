"""The README as a front page: short, every relative link of it and of docs/*.md leads to a file,
every `gradgames ...` command it shows parses with the real parser, and its test command is the
one CI runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from gradgames.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)


def shown_commands(text: str) -> list[str]:
    """Each `gradgames ...` line of the bash blocks, continuation lines joined, comments cut."""
    commands = []
    for block in code_blocks(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if "gradgames " in line:
                commands.append(line[line.index("gradgames ") :])
    return commands


def test_the_readme_is_a_front_page():
    assert len(README.splitlines()) <= 130


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file(page):
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name} links {target}, which does not exist"


@pytest.mark.parametrize("command", shown_commands(README))
def test_every_command_the_readme_shows_parses(command):
    argv = shlex.split(command)[1:]
    args = build_parser(argv[0]).parse_args(argv)  # exits 2 on a flag the parser refuses
    assert args.part == argv[0]


def test_the_readme_shows_the_commands_it_promises():
    commands = shown_commands(README)
    assert commands[0].startswith("gradgames reproduce --quick")
    assert any(c.startswith("gradgames gan sweep") and "--executor slurm" in c for c in commands)


def test_the_readme_s_test_command_is_the_one_ci_runs():
    test_command = "scripts/setup.sh && .venv/bin/python -m pytest"
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines
    assert test_command in [
        line.strip() for block in code_blocks(README) for line in block.splitlines()
    ]
