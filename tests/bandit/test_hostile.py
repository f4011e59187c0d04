"""Hostile input (issue 19): strict JSON, one seed range, one field per error, output files
whose folder must exist; and a command-line start-up that needs neither torch nor matplotlib."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gradgames.bandit.config import (
    MAX_TRUE_MEAN,
    BanditConfig,
    LearnerConfig,
    RunConfig,
    StudyConfig,
)
from gradgames.bandit.streams import Streams
from gradgames.errors import ConfigError
from gradgames.files import parse_json
from tests.conftest import assert_one_line_error

SRC = Path(__file__).resolve().parents[2] / "src"


def test_absurd_true_means_are_refused_and_json_is_strict(cli):
    """q* near 1e308 overflowed the means over runs: the JSON printed Infinity. The bound is
    what float64 supports over a run (config.MAX_TRUE_MEAN)."""
    code, out, err = cli("bandit", "run", "--true-mean", "1e308", "--json", "--runs", "4",
                         "--steps", "3")  # fmt: skip
    assert_one_line_error(code, err, "--true-mean", "1e+09")
    assert out == ""
    code, out, err = cli("bandit", "run", "--true-mean", str(MAX_TRUE_MEAN), "--json",
                         "--runs", "4", "--steps", "3")  # fmt: skip
    assert code == 0, err
    assert parse_json(out)["final_mean_reward"] > 0.99 * MAX_TRUE_MEAN
    code, out, err = cli(
        "bandit",
        "run",
        "--lr",
        "1e308",
        "--baseline",
        "none",
        "--true-mean",
        "1e5",
        "--json",
        "--runs",
        "3",
        "--steps",
        "5",
    )
    assert code == 0 and parse_json(out)["final_mean_reward"] is None  # diverged: null


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64 - 1])
def test_one_seed_range_in_the_configs_the_streams_and_the_command_line(seed, cli):
    """-1 and 2^64 - 1 named the same streams (uint64 wraps); every entry point now refuses
    seeds outside 0 .. 2^63 - 1."""
    for make in (lambda: RunConfig(seed=seed), lambda: StudyConfig(seed=seed),
                 lambda: Streams(seed, np.arange(3))):  # fmt: skip
        with pytest.raises(ConfigError) as info:
            make()
        assert info.value.field == "seed"
    code, _, err = cli("bandit", "run", "--seed", str(seed))
    assert_one_line_error(code, err, "--seed")
    assert Streams(2**63 - 1, np.arange(2)).keys.shape == (2,)


@pytest.mark.parametrize(
    "command,flag,value",
    [("study", "--patience", "0"), ("run", "--patience", "0"), ("run", "--decay-every", "0"),
     ("study", "--decay-factor", "0"), ("run", "--gamma", "0"), ("run", "--tau", "-1"),
     ("study", "--tau", "0"), ("study", "--lr-large", "0"), ("study", "--window", "0"),
     ("run", "--min-improvement", "-1"), ("run", "--tol", "0"), ("run", "--window", "20000000"),
     ("run", "--runs", "5000001"), ("run", "--steps", "0"), ("run", "--arms", "1")],
)  # fmt: skip
def test_each_error_names_the_one_flag_that_is_wrong(command, flag, value, cli, tmp_path):
    """`study --patience 0` named --decay-every, which study does not even have."""
    extra = ["--out", str(tmp_path / "s")] if command == "study" else []
    code, out, err = cli("bandit", command, flag, value, *extra)
    assert_one_line_error(code, err, flag)
    others = {
        "--patience",
        "--decay-every",
        "--decay-factor",
        "--gamma",
        "--tau",
        "--window",
        "--lr-large",
        "--min-improvement",
        "--tol",
        "--runs",
        "--steps",
        "--arms",
    } - {flag}
    assert not [name for name in others if name in err], err
    assert out == "" and not (tmp_path / "s").exists()


def test_library_functions_check_their_plain_arguments():
    import torch

    from gradgames.bandit.learner import Learner, ascent_direction, expected_direction
    from gradgames.bandit.policy import derivative_check
    from gradgames.bandit.sutton_barto import book_procedure

    pi = torch.full((2, 3), 1 / 3, dtype=torch.float64)
    cases = [
        (lambda: ascent_direction("both", pi, torch.tensor([0, 1]), torch.ones(2)), "rule"),
        (lambda: expected_direction("both", pi, pi), "rule"),
        (lambda: derivative_check(arms=1), "arms"),
        (lambda: derivative_check(seed=-1), "seed"),
        (lambda: Learner(LearnerConfig(), runs=0, arms=3), "runs"),
        (lambda: book_procedure(0.0, True, 0.0), "alpha"),
        (lambda: book_procedure(0.1, True, 1e308), "true_mean"),
        (lambda: book_procedure(0.1, True, 0.0, steps=0), "steps"),
    ]
    for make, field in cases:
        with pytest.raises(ConfigError) as info:
            make()
        assert info.value.field == field


def test_the_library_names_the_python_field():
    cases = [(lambda: LearnerConfig(patience=0), "patience"),
             (lambda: BanditConfig(testbed="bernoulli", true_mean=1.0), "true_mean"),
             (lambda: BanditConfig(probs=(0.5,) * 10), "probs"),
             (lambda: RunConfig(window=60_000, runs=2000), "window"),
             (lambda: StudyConfig(preset="sutton-barto", lr_small=0.5), "lr_small"),
             (lambda: StudyConfig(preset="sutton-barto", baseline="none"), "baseline"),
             (lambda: RunConfig(learner={"lr": 0.1}), "learner")]  # fmt: skip
    for make, field in cases:
        with pytest.raises(ConfigError) as info:
            make()
        assert info.value.field == field
        assert "--" not in str(info.value)


def test_an_output_file_needs_an_existing_folder_and_nothing_is_written(cli, tmp_path):
    for flag in ("--csv", "--plot"):
        code, out, err = cli("bandit", "run", "--runs", "2", "--steps", "2", flag,
                             str(tmp_path / "missing" / "x.out"))  # fmt: skip
        assert_one_line_error(code, err, "does not exist")
        assert out == "" and not (tmp_path / "missing").exists()
    same = str(tmp_path / "same")
    code, out, err = cli("bandit", "run", "--plot", same, "--csv", same)
    assert_one_line_error(code, err, "--csv")
    assert list(tmp_path.iterdir()) == []


def _fresh(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("MPLBACKEND", None)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("argv", [["bandit", "--help"], ["bandit", "run", "--help"],
                                  ["bandit", "study", "--help"]])  # fmt: skip
def test_help_imports_neither_torch_nor_matplotlib_and_is_complete(argv):
    out = _fresh(
        f"""
        import contextlib, io, sys
        from gradgames.cli import main
        text = io.StringIO()
        with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
            main({argv!r})
        print(sorted(m for m in ("torch", "matplotlib") if m in sys.modules))
        print(text.getvalue())
        """
    )
    assert out.startswith("[]\n"), out[:200]
    out = " ".join(out.split())  # argparse wraps lines at the terminal's width
    if argv[-2] == "run":
        for flag in (
            "--rule",
            "--baseline",
            "mean-inclusive",
            "--true-mean",
            "--seed",
            "--decay-every",
            "--csv",
            "--plot",
            "--json",
            "R_bar_1 = R_1",
        ):
            assert flag in out, flag
    if argv[-2] == "study":
        for flag in ("--preset", "sutton-barto", "--lr-small", "--out", "--patience"):
            assert flag in out, flag
