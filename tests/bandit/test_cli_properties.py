"""Property-based campaign over the bandit command line (hypothesis), in process.

Argument lists are generated from the configs' own fields (``dataclasses.fields`` and their
types: ints, floats, Literals, seeds, comma lists, paths, flags), each value drawn as valid,
boundary or invalid, at small sizes. Whatever the arguments:

- the exit status is 0, or 2 with exactly one line on stderr and nothing on stdout; never a
  traceback (an exception escaping ``main`` fails the test);
- an argument list holding a value invalid on its own exits with 2;
- with ``--json`` the output parses under a strict parser (no NaN or Infinity);
- on exit 2 nothing is written: the example's folder stays empty.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import tempfile
import typing
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gradgames.bandit.config import (
    MAX_TRUE_MEAN,
    BanditConfig,
    LearnerConfig,
    RunConfig,
    RunOutputs,
    StudyConfig,
)
from gradgames.cli import main
from gradgames.config import SEED_RANGE
from gradgames.files import parse_json

# (valid values, invalid values) per field where the type alone does not say enough: sizes are
# kept small so that every example runs in a fraction of a second.
SMALL = {
    "runs": ([1, 2, 5], [0, -3, 10**12]),
    "steps": ([1, 3, 20], [0, -1, 10_000_001]),
    "arms": ([2, 3, 6], [1, 0, -2]),
    "window": ([1, 4, 30], [0, -5, 10_000_001]),
    "decay_every": ([1, 7, 10_000_000], [0, -1, 10**30]),
    "patience": ([1, 9, 10_000_000], [0, -4, 10**30]),
    "lr": ([1e-3, 0.4, 5.0, 1e308], [0.0, -0.1]),
    "lr_small": ([1e-3, 0.05], [0.0, -1.0]),
    "lr_large": ([0.5, 3.0], [0.0, -2.0]),
    "lr_adaptive": ([0.1, 1e-4], [0.0, -0.5]),
    "tau": ([1e-3, 100.0, 1e300], [0.0, -1.0]),
    "tol": ([1e-9, 0.01, 1.0], [0.0, -0.01]),
    "gamma": ([1e-6, 0.9, 1.0], [0.0, 1.5, -0.2]),
    "decay_factor": ([1e-6, 0.5, 1.0], [0.0, 1.01]),
    "min_improvement": ([0.0, 0.01, 3.0], [-0.01, -1e9]),
    "true_mean": ([0.0, -4.0, MAX_TRUE_MEAN, -MAX_TRUE_MEAN], [1e308, -1e10, 1.5e9]),
}
BAD_TEXT = ["nan", "inf", "-inf", "", "x", "1e999", "1,2"]
FIELDS = {
    "run": [BanditConfig, LearnerConfig, RunConfig, RunOutputs],
    "study": [BanditConfig, StudyConfig],
}
SIZE = {"run": ["--runs", "3", "--steps", "8"], "study": ["--runs", "2", "--steps", "4"]}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _number_text(value) -> st.SearchStrategy[str]:
    return (
        st.sampled_from([repr(value), str(value)])
        if isinstance(value, float)
        else st.just(str(value))
    )


@st.composite
def field_argument(draw, cls: type, f: dataclasses.Field, folder: Path):
    """``(argv fragment, invalid)`` for one field of ``cls``."""
    tp = typing.get_type_hints(cls)[f.name]
    args = typing.get_args(tp)
    flag = _flag(f.name)
    if tp is bool:
        return [flag], False
    if f.name in ("plot", "csv"):
        kind = draw(st.sampled_from(["ok", "ok", "missing-folder", "empty", "folder"]))
        path = {"ok": folder / f"{f.name}.out", "missing-folder": folder / "no" / "x",
                "empty": "", "folder": folder}[kind]  # fmt: skip
        return [flag, str(path)], kind != "ok"
    if f.name == "seed":
        low, high = SEED_RANGE
        value = draw(st.sampled_from([low, 7, high, -1, high + 1, 2**64 - 1, "x"]))
        return [flag, str(value)], value in (-1, high + 1, 2**64 - 1, "x")
    if typing.get_origin(tp) is typing.Literal:
        value = draw(st.sampled_from([*args, "bogus", ""]))
        return [flag, value], value not in args
    if f.name == "probs":
        arms = draw(st.integers(2, 4))
        probs = draw(st.lists(st.floats(0, 1), min_size=arms, max_size=arms))
        bad = draw(st.sampled_from([None, None, "1.5", "-0.1", "nan", ""]))
        text = ",".join(map(repr, probs)) if bad is None else ",".join([bad] * arms)
        return [flag, text, "--testbed", "bernoulli", "--arms", str(arms)], bad is not None
    valid, invalid = SMALL[f.name]
    if draw(st.booleans()):
        return [flag, draw(st.sampled_from(valid).flatmap(_number_text))], False
    if draw(st.booleans()):
        return [flag, draw(st.sampled_from(invalid).flatmap(_number_text))], True
    return [flag, draw(st.sampled_from(BAD_TEXT))], True


@st.composite
def command_line(draw, folder: Path):
    """``(argv, invalid, wants_json)``: a bandit command with 0 to 4 generated fields."""
    command = draw(st.sampled_from(["run", "run", "run", "study"]))
    fields = [(cls, f) for cls in FIELDS[command] for f in dataclasses.fields(cls)
              if f.init and f.name not in ("bandit", "learner")]  # fmt: skip
    chosen = draw(st.lists(st.sampled_from(fields), max_size=4, unique_by=lambda cf: cf[1].name))
    chosen.sort(key=lambda cf: cf[1].name != "probs")  # its --testbed and --arms come first
    argv, invalid = ["bandit", command, *SIZE[command]], False
    for cls, f in chosen:
        fragment, bad = draw(field_argument(cls, f, folder))
        argv += fragment
        invalid |= bad
    if command == "study" and not invalid and draw(st.integers(0, 3)):
        argv += ["--window", "0"]  # most studies refused: a valid one draws four figures
        invalid = True
    if command == "study":
        argv += ["--out", str(folder / "study")]
    wants_json = draw(st.booleans())
    return argv + (["--json"] if wants_json else []), invalid, wants_json


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_bandit_command_line_exits_0_or_2_with_one_line(data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        argv, invalid, wants_json = data.draw(command_line(folder))
        code, out, err = _run(argv)
        event(f"{argv[1]} exit {code}{' invalid' if invalid else ''}")
        lines = [line for line in err.splitlines() if line.strip()]
        assert code in (0, 2), (argv, code, err)
        assert "Traceback" not in err
        if code == 2:
            assert len(lines) == 1 and lines[0].startswith("gradgames"), (argv, err)
            assert out == "", argv
            assert list(folder.iterdir()) == [], (argv, list(folder.iterdir()))
            return
        assert not invalid, (argv, out)
        assert len(lines) <= 1 and all("warning" in line for line in lines), (argv, err)
        if wants_json:
            report = parse_json(out)
            assert isinstance(report, dict) and report
            assert all(
                not isinstance(v, float) or math.isfinite(v)
                for v in report.values()
                if not isinstance(v, (dict, list))
            )
        else:
            assert out.strip(), argv
