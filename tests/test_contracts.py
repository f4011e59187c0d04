"""The import-linter contracts of pyproject.toml: kept by the package as it is, and each broken
by the kind of import it exists to refuse (so a contract that checks nothing would fail here).

CI runs the same contracts with ``lint-imports``; this test also runs them with the test suite
and shows that each one bites.
"""

from __future__ import annotations

import copy
from pathlib import Path

import grimp
import pytest
from importlinter.adapters.user_options import TomlFileUserOptionReader
from importlinter.configuration import configure
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.independence import IndependenceContract
from importlinter.contracts.layers import LayersContract
from importlinter.contracts.protected import ProtectedContract

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
TYPES = {
    "layers": LayersContract,
    "independence": IndependenceContract,
    "acyclic_siblings": AcyclicSiblingsContract,
    "forbidden": ForbiddenContract,
    "protected": ProtectedContract,
}


@pytest.fixture(scope="module")
def options():
    configure()  # import-linter's settings (its file system adapter, its timer)
    return TomlFileUserOptionReader().read_options(str(PYPROJECT))


@pytest.fixture(scope="module")
def graph(options):
    external = options.session_options.get("include_external_packages") == "True"
    return grimp.build_graph("gradgames", include_external_packages=external, cache_dir=None)


def broken(options, graph) -> list[str]:
    """The names of the contracts ``graph`` breaks."""
    names = []
    for raw in options.contracts_options:
        raw = dict(raw)
        name, kind = raw.pop("name"), raw.pop("type")
        session = {**options.session_options, "root_packages": ["gradgames"]}
        contract = TYPES[kind](name=name, session_options=session, contract_options=raw)
        if not contract.check(copy.deepcopy(graph), verbose=False).kept:
            names.append(name)
    return names


def test_every_contract_is_kept(options, graph):
    assert len(options.contracts_options) == 8
    assert broken(options, graph) == []


G = "gradgames."


@pytest.mark.parametrize(
    "importer,imported,contract",
    [
        (G + "files", G + "gan.loop", "core <- the three parts"),
        (G + "reproduce", G + "cli", "core <- the three parts"),
        (G + "bandit.learner", G + "saddle.game", "the three parts are independent"),
        (G + "bandit.policy", G + "bandit.experiment", "bandit:"),
        (G + "bandit.reference", G + "bandit.experiment", "bandit:"),
        (G + "bandit.config", G + "bandit.results", "bandit:"),
        (G + "saddle.game", G + "saddle.dynamics", "saddle:"),
        (G + "saddle.game", G + "saddle.linear", "saddle:"),
        (G + "saddle.expr", G + "saddle.game", "saddle:"),
        (G + "gan.models", G + "gan.loop", "gan:"),
        (G + "gan.config", G + "gan.results", "gan:"),
        (G + "gan.checkpoint", G + "gan.cli_eval", "gan:"),
        (G + "gan.checkpoint", G + "gan.loop", "no import cycles"),
        (G + "gan.step", G + "gan", "a part's public API"),
        (G + "saddle.game", G + "saddle", "a part's public API"),
        (G + "gan.step", G + "gan.scores", None),
        (G + "gan.results", "torch", "configs, results and core text modules"),
        (G + "config", "matplotlib", "configs, results and core text modules"),
    ],
)
def test_each_contract_refuses_what_it_is_for(options, graph, importer, imported, contract):
    changed = copy.deepcopy(graph)
    changed.add_import(importer=importer, imported=imported, line_number=1, line_contents="")
    names = broken(options, changed)
    if contract is None:  # siblings of one `:` layer may import each other
        assert names == []
    else:
        assert any(name.startswith(contract) for name in names), names


@pytest.mark.parametrize("part", ["bandit", "saddle", "gan"])
def test_a_module_no_layer_names_breaks_its_part_contract(options, graph, part):
    changed = copy.deepcopy(graph)
    changed.add_module(f"gradgames.{part}.unplaced")
    assert [name for name in broken(options, changed) if name.startswith(part)]
