"""The core layer: config checks, strict JSON, run directories and their lock, import hygiene."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest

from gradgames import config, device, files, rundir
from gradgames.config import option
from gradgames.errors import ConfigError, UsageError


def test_config_error_names_the_field_for_python_and_the_flag_for_the_command_line():
    with pytest.raises(ValueError) as caught:
        config.check_positive("batch_size", -3)
    exc = caught.value
    assert isinstance(exc, ConfigError) and isinstance(exc, UsageError)
    assert str(exc) == "batch_size must be a positive finite number; got -3"
    assert exc.for_command_line() == "--batch-size must be a positive finite number; got -3"



def test_a_config_error_spells_the_fields_it_mentions_as_python_or_as_flags():
    exc = ConfigError("out", "x holds a run: pass {resume} or set {lr_y}", mentions=("resume",))
    assert str(exc) == "out x holds a run: pass resume or set {lr_y}"
    assert exc.for_command_line() == "--out x holds a run: pass --resume or set {lr_y}"


@pytest.mark.parametrize(
    ("setup", "resume", "field", "python", "flags"),
    [
        ("file", False, "out", "is a file", "--out "),
        ("run", False, "out", "already holds a run: pass resume ", "pass --resume "),
        ("empty", True, "resume", "resume was given, but", "--resume was given, but"),
        ("foreign", False, "out", "holds no gradgames run", "--out "),
    ],
)
def test_output_folders_are_refused_naming_the_field_not_a_flag(
    tmp_path, setup, resume, field, python, flags
):
    out = tmp_path / "out"
    if setup == "file":
        out.write_text("")
    elif setup == "run":
        out.mkdir()
        (out / "config.json").write_text("{}")
    elif setup == "foreign":
        out.mkdir()
        (out / "notes.txt").write_text("")
    with pytest.raises(ConfigError) as caught:
        rundir.check_output_dir(out, resume=resume)
    assert caught.value.field == field and python in str(caught.value)
    assert "--" not in str(caught.value).replace(str(tmp_path), "")
    assert flags in caught.value.for_command_line()


def test_an_unknown_device_is_a_config_error_naming_the_field():
    with pytest.raises(ConfigError) as caught:
        device.resolve_device("tpu")
    assert str(caught.value) == "device 'tpu' is unknown: use auto, cpu or cuda"

@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (lambda v: config.check_finite("x", v), [0, -1.5, 1e300], [math.nan, math.inf, "1", None]),
        (lambda v: config.check_positive("x", v), [1e-9, 3], [0, -1, math.inf, math.nan, True]),
        (lambda v: config.check_range("x", v, 0, 1, high_open=True), [0, 0.5], [1, -0.1, math.nan]),
        (lambda v: config.check_int("x", v, 1, 10), [1, 10], [0, 11, 2.0, True]),
        (lambda v: config.check_seed("x", v), [0, 2**63 - 1], [-1, 2**63, 2**64 - 1, 1.0]),
        (lambda v: config.check_choice("x", v, ("a", "b")), ["a", "b"], ["c", None]),
        (lambda v: config.check_bool("x", v), [True, False], [1, 0, "yes", None]),
        (lambda v: config.check_path("x", v), [Path("a"), Path("/")], [Path(""), "a", None]),
        (lambda v: config.check_path("x", v, optional=True), [None, Path("a")], [Path("."), 1]),
    ],
)
def test_checks_accept_their_domain_and_refuse_the_rest(check, good, bad):
    for value in good:
        check(value)
    for value in bad:
        with pytest.raises(ConfigError):
            check(value)


@dataclass
class _Flags:
    seed: int = option(0, "seed")
    lr: float = option(0.1, "rate")
    epochs: tuple[int, ...] = option((), "epochs")
    out: Path = option(Path("x"), "folder")


def _parse(*argv: str):
    parser = argparse.ArgumentParser(exit_on_error=False)
    config.add_arguments(parser, _Flags)
    return config.from_namespace(_Flags, parser.parse_args(list(argv)))


@pytest.mark.parametrize(
    "argv",
    [
        ("--seed", "-1"),
        ("--seed", "18446744073709551615"),
        ("--seed", "99999999999999999999999"),
        ("--lr", "nan"),
        ("--lr", "inf"),
        ("--epochs", "1,,2"),
        ("--epochs", "1,nan"),
        ("--out", ""),
    ],
)
def test_generated_flags_refuse_bad_values_up_front(argv):
    with pytest.raises(argparse.ArgumentError):
        _parse(*argv)


def test_generated_flags_parse_good_values():
    flags = _parse("--seed", str(2**63 - 1), "--lr", "1e-3", "--epochs", "10, 30,50", "--out", "d")
    assert (flags.seed, flags.lr, flags.epochs, flags.out) == (2**63 - 1, 1e-3, (10, 30, 50),
                                                               Path("d"))  # fmt: skip
    assert _parse("--epochs", "").epochs == ()


@dataclass
class _Switches:
    fused: bool | None = option(None, "fused kernels (default: on CUDA only)")
    quiet: bool = option(False, "say less")
    bars: bool = option(True, "progress bars")


def test_bool_flags_show_their_own_help_and_both_forms_where_none_or_true():
    parser = argparse.ArgumentParser(exit_on_error=False)
    config.add_arguments(parser, _Switches)
    helps = {a.dest: a.help for a in parser._actions if a.dest in ("fused", "quiet", "bars")}
    assert helps == {"fused": "fused kernels (default: on CUDA only)", "quiet": "say less",
                     "bars": "progress bars"}  # fmt: skip
    parse = lambda *argv: config.from_namespace(_Switches, parser.parse_args(list(argv)))  # noqa: E731
    assert (parse().fused, parse("--fused").fused, parse("--no-fused").fused) == (None, True, False)
    assert (parse("--quiet").quiet, parse("--no-bars").bars) == (True, False)
    with pytest.raises(SystemExit):  # a False default has no --no- form
        parse("--no-quiet")

def test_finite_or_none_keeps_finite_numbers_as_floats_and_nulls_the_rest():
    import numpy as np

    assert [files.finite_or_none(v) for v in (3, 0.5, np.float32(2.0), np.int64(7))] == [
        3.0, 0.5, 2.0, 7.0
    ]  # fmt: skip
    assert type(files.finite_or_none(np.float64(1.5))) is float
    assert [files.finite_or_none(v) for v in (None, math.nan, -math.inf, np.float64("nan"))] == [
        None
    ] * 4


def test_json_is_strict_with_non_finite_numbers_as_null(tmp_path):
    text = files.to_json({"a": math.nan, "b": [math.inf, 1.5], "c": (-math.inf,)})
    assert json.loads(text, parse_constant=pytest.fail) == {
        "a": None,
        "b": [None, 1.5],
        "c": [None],
    }
    files.write_json(tmp_path / "x.json", {"v": math.nan})
    assert files.read_json(tmp_path / "x.json") == {"v": None}
    (tmp_path / "bad.json").write_text('{"leak": NaN}')
    with pytest.raises(UsageError, match="not strict JSON"):
        files.read_json(tmp_path / "bad.json")


def test_a_foreign_non_empty_folder_is_refused_and_left_alone(tmp_path):
    (tmp_path / "generator.pt").write_bytes(b"mine")
    with pytest.raises(UsageError, match="not empty .*generator.pt.* holds no gradgames run"):
        rundir.claimed_output_dir(tmp_path).__enter__()
    assert [p.name for p in tmp_path.iterdir()] == ["generator.pt"]
    for _ in range(2):  # a new folder is fine, and an empty one (but for its lock)
        with rundir.claimed_output_dir(tmp_path / "new") as out:
            assert out == tmp_path / "new" and out.is_dir()
    (tmp_path / "new" / "config.json").write_text("{}")
    with pytest.raises(UsageError, match="already holds a run"):
        rundir.claimed_output_dir(tmp_path / "new").__enter__()
    with rundir.claimed_output_dir(tmp_path / "new", resume=True) as out:
        assert out == tmp_path / "new"


def test_refused_resume_creates_nothing(tmp_path):
    with pytest.raises(UsageError, match="holds no run"):
        rundir.claimed_output_dir(tmp_path / "missing", resume=True).__enter__()
    assert not (tmp_path / "missing").exists()


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from gradgames.rundir import RunLock
    with RunLock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
    """
)


def test_the_run_lock_refuses_a_second_holder_by_pid_and_dies_with_its_process(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(
            UsageError, match=f"in use by another gradgames process .pid {holder.pid}"
        ):
            rundir.RunLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with rundir.RunLock(tmp_path) as lock:  # the kernel released it with the killed process
        assert lock.path.read_text().strip() == str(os.getpid())


def test_a_lock_taken_after_a_run_started_sees_the_run(tmp_path):
    with rundir.claimed_output_dir(tmp_path / "run"):
        (tmp_path / "run" / "config.json").write_text("{}")
    with (
        pytest.raises(UsageError, match="already holds a run"),
        rundir.claimed_output_dir(tmp_path / "run"),
    ):
        pass


def test_output_files_need_an_existing_writable_folder(tmp_path):
    assert rundir.check_output_file(tmp_path / "a.csv", ".csv") == tmp_path / "a.csv"
    with pytest.raises(UsageError, match="does not exist"):
        rundir.check_output_file(tmp_path / "no" / "a.csv", ".csv")
    assert not (tmp_path / "no").exists()
    with pytest.raises(UsageError, match="is a directory"):
        rundir.check_output_file(tmp_path, ".csv")


def _fresh_python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_the_library_changes_no_matplotlib_setting():
    out = _fresh_python(
        """
        import matplotlib
        matplotlib.use("svg")
        import matplotlib.pyplot as plt
        before = dict(plt.rcParams)
        import gradgames.bandit, gradgames.saddle, gradgames.gan, gradgames.plotting
        from gradgames.bandit import plots
        changed = [k for k, v in plt.rcParams.items() if before[k] != v]
        print(matplotlib.get_backend(), changed)
        """
    )
    assert out == "svg []"


def test_the_house_style_is_applied_inside_the_plotting_functions_only():
    out = _fresh_python(
        """
        import matplotlib.pyplot as plt
        from gradgames import plotting
        seen = {}
        @plotting.styled
        def draw():
            seen["grid"] = plt.rcParams["axes.grid"]
        draw()
        print(seen["grid"], plt.rcParams["axes.grid"])
        """
    )
    assert out == "True False"


def test_help_and_version_of_every_command_import_neither_torch_nor_matplotlib():
    """``--help`` and ``--version``, and ``--help`` of every part and every subcommand (read
    from the parser, so a new command is covered), all in one fresh process."""
    out = _fresh_python(
        """
        import argparse, contextlib, io, sys
        from gradgames.cli import build_parser, main

        def commands(parser, path):
            yield path
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    for name, sub in action.choices.items():
                        yield from commands(sub, [*path, name])

        argvs = [["--version"]] + [[*path, "--help"] for path in commands(build_parser(), [])]
        for argv in argvs:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
                main(argv)
        print(sorted(m for m in ("torch", "matplotlib") if m in sys.modules))
        print("|".join(" ".join(argv) for argv in argvs))
        """
    )
    heavy, argvs = out.splitlines()[-2:]
    assert heavy == "[]", out
    for argv in ("--version", "--help", "reproduce --help", "bandit study --help",
                 "saddle map --help", "gan train-classifier --help"):  # fmt: skip
        assert argv in argvs.split("|"), argvs


def test_the_one_number_formatter():
    from gradgames.report import number

    assert number(None) == "n/a" and number(7) == "7"
    assert number(0.125) == "0.125" and number(2 / 3, 1) == "0.7"
    assert number(0.00154321, 6, style="significant") == "0.00154321"
    assert number(3.1e-8, 1, style="scientific") == "3.1e-08"


def test_checks_take_any_real_number_type_and_refuse_huge_complex_or_bool_values():
    import numpy as np

    for value in (np.float32(0.5), np.float64(0.5), np.int64(1), 1, 0.5):
        config.check_positive("x", value)
        config.check_range("x", value, 0, 1)
    config.check_int("x", np.int64(3), 1, 10)
    config.check_seed("x", np.uint64(2**63 - 1))
    for bad in (10**400, -(10**400), complex("nan"), 1j, np.bool_(True), True, [1.0]):
        with pytest.raises(ConfigError):
            config.check_finite("x", bad)
    with pytest.raises(ConfigError):
        config.check_int("x", 10**400, 1, 10)


def test_no_message_formats_a_huge_value_whole():
    for huge in (10**400, 10**5000, "9" * 10**5, [1.5] * 10**5, (10**5000,)):
        for check in (config.check_finite, config.check_seed):
            with pytest.raises(ConfigError) as caught:
                check("x", huge)
            assert len(caught.value.problem) < 160, caught.value.problem
    assert config.shown(10**400) == "<an integer of about 400 digits>"
    with pytest.raises(argparse.ArgumentError, match=r"got '9999.*\.\.\.") as caught:
        _parse("--lr", "9" * 5000)
    assert len(str(caught.value)) < 160


def test_every_part_refuses_huge_and_odd_numbers_with_a_config_error():
    import numpy as np

    from gradgames.bandit.config import BanditConfig, LearnerConfig
    from gradgames.gan.config import TrainConfig

    for build in (
        lambda: LearnerConfig(lr=10**400),
        lambda: TrainConfig(lr=10**400),
        lambda: LearnerConfig(lr=complex("nan")),
        lambda: BanditConfig(testbed="bernoulli", probs=5),
        lambda: BanditConfig(testbed="bernoulli", arms=2, probs=(10**5000, 0.5)),
    ):
        with pytest.raises(ConfigError):
            build()
    assert LearnerConfig(lr=np.float32(0.25)).lr == np.float32(0.25)
    assert config.to_dict(LearnerConfig(lr=np.float32(0.25)))["lr"] == 0.25
    json.dumps(config.to_dict(LearnerConfig(lr=np.float32(0.25))))


@dataclass
class _Checked:
    """Every annotation config.check_fields derives a check from."""

    flag: bool = option(False, "")
    kind: typing.Literal["a", "b"] = option("a", "")
    out: Path = option(Path("x"), "")
    seed: int = option(0, "")
    count: int = option(3, "", high=10)
    rate: float = option(0.5, "", low=0.0, high=1.0, low_open=True)
    scale: float = option(1.0, "")
    epochs: tuple[int, ...] = option((1,), "", high=5)
    where: Path | None = option(None, "")
    inner: _Inner | None = None

    def __post_init__(self):
        config.check_fields(self)


@dataclass
class _Inner:
    size: int = option(1, "")

    def __post_init__(self):
        config.check_fields(self)


@pytest.mark.parametrize(
    "field,value,message",
    [("flag", 1, "must be true or false"), ("kind", "c", "must be one of a, b"),
     ("out", "", "must name a file or folder"), ("seed", -1, "must be an integer from 0"),
     ("count", 0, "must be an integer from 1 to 10"), ("count", 11, "from 1 to 10"),
     ("count", True, "must be an integer"), ("rate", 0.0, "must lie in (0, 1]"),
     ("rate", float("nan"), "must lie in (0, 1]"), ("scale", math.inf, "must be a finite number"),
     ("epochs", [1], "must be a tuple"), ("epochs", (1, 6), "from 1 to 5"),
     ("where", 5, "must name a file or folder"), ("inner", {"size": 1}, "must be a _Inner")],
)  # fmt: skip
def test_check_fields_derives_each_check_from_the_annotation(field, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        _Checked(**{field: value})
    assert caught.value.field == field


def test_check_fields_accepts_good_values_and_makes_paths():
    made = _Checked(out="runs/x", where="data", rate=1, epochs=(1, 5), inner=_Inner(4))
    assert made.out == Path("runs/x") and made.where == Path("data") and made.epochs == (1, 5)
    assert _Checked(where=None).where is None
