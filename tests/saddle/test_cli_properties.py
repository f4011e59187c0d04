"""A property-based campaign over the ``gradgames saddle`` command line (hypothesis).

Argument lists are generated from the config dataclasses' own fields (their flags, types and
Literal choices): each field is left out or given a valid, a boundary or an invalid value.
Whatever the mix, a command ends with exit status 0, or with exit status 2 and exactly one
line on stderr, nothing on stdout and nothing written; never a traceback. With ``--json`` its
output is strict JSON. Everything runs in-process through ``gradgames.cli.main``.
"""

import contextlib
import dataclasses
import io
import tempfile
import typing
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gradgames.cli import main
from gradgames.files import parse_json
from gradgames.saddle.config import AnalyzeConfig, CompareConfig, MapConfig, RunConfig

COMMANDS = {"analyze": AnalyzeConfig, "run": RunConfig, "compare": CompareConfig, "map": MapConfig}
# Per field: (valid, boundary, invalid) argument strings; {tmp} is a fresh folder per example.
VALUES = {
    "f": (["4*x**2 - 4*y**2", "x*y", "x*y + 0.1*x**2 - 0.3*y**2", "x1*y1 + x2**2 - y1**2"],
          ["5", "x", "x**y", "0*x*y"],
          ["1/0", "x/0 - y**2", "exp(1000)*x", "", "x^2", "log(-1) + x", "1e308*x**2 - y**2",
           "__import__('os')"]),
    "lr": (["0.05", "0.1", "0.3"], ["1e-320", "1e100"], ["0", "-1", "nan", "inf", "x", ""]),
    "lr_ratio": (["1", "0.5", "4"], ["1e-300", "1e300"], ["0", "-2", "nan", "-inf", "1,2"]),
    "momentum": (["-0.5", "0", "0.3"], ["-0.999999", "0.999999"], ["-1", "1", "nan", "x"]),
    "co_gamma": (["10", "1"], ["0", "1e6"], ["-1", "1e7", "inf"]),
    "sga_lambda": (["1", "-1", "0.5"], ["0", "1e6"], ["nan", "1e7", "x"]),
    "steps": (["1", "5", "30"], ["2"], ["0", "-3", "1.5", "x", "1000001"]),
    "x0": (["1", "0.5", "-1"], ["0", "1e-300"], ["1,,2", "nan", "", "1,2,3", "x"]),
    "y0": (["1", "-0.5"], ["0", "1e100"], ["1,,2", "inf", "", "1,2,3"]),
    "tol": (["1e-8", "1e-3"], ["0", "1"], ["-1", "2", "nan"]),
    "bound": (["1e6", "10"], ["1e300", "1e-300"], ["0", "-1", "inf"]),
    "box": (["3", "0.5"], ["1e6", "1e-300"], ["0", "-1", "1e300", "nan"]),
    "resolution": (["9", "31"], ["2", "801"], ["1", "802", "x", "3.5"]),
    "point": (["1"], ["2", "9"], ["0", "-1", "x"]),
    "eta_min": (["1e-3", "0.01"], ["1e-300"], ["0", "-1", "nan"]),
    "eta_max": (["10", "1"], ["1e300"], ["0", "-1", "inf"]),
    "out": (["{tmp}/out", "{tmp}/map.png"], ["{tmp}/out.PNG"],
            ["{tmp}/missing/map.png", "{tmp}/file.txt", "", "{tmp}/out.txt"]),
    "plot": (["{tmp}/run.png"], ["{tmp}/run"], ["{tmp}/missing/run.png", "{tmp}", ""]),
}  # fmt: skip
KIND = st.sampled_from(["omit"] * 5 + ["valid"] * 3 + ["boundary", "invalid"])


def field_values(cls) -> dict[str, st.SearchStrategy]:
    """One strategy per field of ``cls``: None (flag left out), True (a flag without argument)
    or the flag's argument: a valid, a boundary or an invalid value, by the field's type."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if tp is bool:
            out[f.name] = st.sampled_from([None, True])
        elif typing.get_origin(tp) is typing.Literal:
            choices = list(typing.get_args(tp))
            out[f.name] = st.one_of(st.none(), st.sampled_from(choices + ["adam", ""]))
        elif f.name in VALUES:
            out[f.name] = KIND.flatmap(lambda kind, name=f.name: _pick(name, kind))
        else:
            raise AssertionError(f"no values for {cls.__name__}.{f.name} of type {tp}")
    return out


def _pick(name: str, kind: str) -> st.SearchStrategy:
    if kind == "omit":
        return st.none()
    valid, boundary, invalid = VALUES[name]
    return st.sampled_from({"valid": valid, "boundary": boundary, "invalid": invalid}[kind])


@st.composite
def command_lines(draw):
    """``(command, argv, wants_json)`` with argv built flag by flag from the config's fields."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    argv = [command]
    values = field_values(COMMANDS[command])
    for name, strategy in values.items():
        value = draw(strategy)
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        argv += [flag] if value is True else [f"{flag}={value}"]
    if command in ("compare", "map") and not any(a.startswith("--out") for a in argv):
        argv.append("--out={tmp}/" + ("cmp" if command == "compare" else "map.png"))
    if command in ("run", "compare") and not any(a.startswith("--steps") for a in argv):
        argv.append("--steps=5")  # the default 200 steps per dynamic would only cost time
    return command, argv, "--json" in argv


def invoke(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main(["saddle", *argv])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, stdout.getvalue(), stderr.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=command_lines())
def test_every_generated_command_line_ends_cleanly(line):
    command, template, wants_json = line
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "file.txt").write_text("a file, not a folder")
        argv = [a.replace("{tmp}", tmp) for a in template]
        code, out, err = invoke(argv)
        left = sorted(p.name for p in Path(tmp).iterdir())
    event(f"{command}: exit {code}")
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and out == "", (argv, err, out)
        assert left == ["file.txt"], (argv, left)
    elif wants_json:
        parse_json(out)  # strict: NaN and Infinity refused
    else:
        assert out.strip(), argv


def test_the_campaign_covers_every_field_of_every_config():
    for cls in COMMANDS.values():
        assert set(field_values(cls)) == {f.name for f in dataclasses.fields(cls)}
