"""``gradgames bandit run`` and ``study``: outputs, and one-line errors with exit status 2."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import gradgames.bandit.experiment as bandit_experiment
import gradgames.bandit.study as bandit_study
from gradgames.cli import main
from gradgames.files import parse_json

SRC = Path(__file__).resolve().parents[2] / "src"
RUN_KEYS = {"steps", "runs", "final_mean_reward", "final_optimal_action", "converged_fraction",
            "mean_convergence_step", "locked_suboptimal_fraction", "status"}


def _main(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_run_json_plot_and_csv(tmp_path, capsys):
    plot, table = tmp_path / "run.png", tmp_path / "run.csv"
    code, out, err = _main(["bandit", "run", "--runs", "30", "--steps", "60", "--json",
                            "--plot", str(plot), "--csv", str(table)], capsys)
    assert code == 0, err
    report = parse_json(out)
    assert set(report) >= RUN_KEYS
    assert report["steps"] == 60 and report["runs"] == 30 and report["status"] == "ok"
    assert 0.0 <= report["final_optimal_action"] <= 1.0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader(table.read_text().splitlines()))
    assert len(rows) == 60 and rows[-1]["step"] == "60"
    last_reward = float(rows[-1]["reward_mean"])
    assert last_reward == pytest.approx(report["final_mean_reward"], rel=1e-12)


def test_run_text_output_on_bernoulli_with_given_probabilities(capsys):
    code, out, _ = _main(["bandit", "run", "--testbed", "bernoulli", "--arms", "3",
                          "--probs", "0.1,0.5,0.9", "--runs", "20", "--steps", "40",
                          "--rule", "chosen-arm", "--optimizer", "adam",
                          "--schedule", "plateau"], capsys)
    assert code == 0
    assert "3-armed bernoulli" in out and "status ok" in out


def test_study_writes_figures_and_tables(tmp_path, capsys):
    out_dir = tmp_path / "study"
    code, out, err = _main(["bandit", "study", "--out", str(out_dir), "--runs", "16",
                            "--steps", "40", "--json"], capsys)
    assert code == 0, err
    report = parse_json(out)
    assert len(report["table"]) == 12
    assert {row["rule"] for row in report["table"]} == {"chosen-arm", "full"}
    for name in ("reward", "optimal_action", "entropy", "reward_variance", "markdown", "json"):
        assert Path(report["paths"][name]).is_file()
    assert json.loads((out_dir / "study.json").read_text())["table"] == report["table"]
    assert report["derivative_check"]["jacobian_max_abs_error"] < 1e-12
    assert (out_dir / "study.md").read_text().count("\n| ") >= 12
    code, _, err = _main(["bandit", "study", "--out", str(out_dir), "--runs", "4",
                          "--steps", "5"], capsys)
    assert code == 2 and "already holds a study" in err


@pytest.mark.parametrize(
    "flags,missing",
    [(["--runs", "1"], "± n/a"),  # one run: no confidence interval
     (["--runs", "6", "--true-mean", "1e5", "--lr", "1e308", "--baseline", "none"],
      "final reward n/a")],  # every run diverges: no final reward
    ids=["one-run", "all-diverged"],
)  # fmt: skip
def test_text_output_says_n_a_for_a_figure_the_runs_cannot_give(flags, missing, capsys):
    code, out, err = _main(["bandit", "run", "--steps", "20", *flags], capsys)
    assert code == 0, err
    assert missing in out and "status" in out


@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if a simulation or a study starts."""

    def refuse(*args, **kwargs):
        raise AssertionError("work started before the input was validated")

    monkeypatch.setattr(bandit_experiment, "simulate", refuse)
    monkeypatch.setattr(bandit_study, "run_study", refuse)


BAD_RUNS = [
    ["--arms", "1"], ["--arms", "ten"], ["--runs", "0"], ["--steps", "0"], ["--lr", "0"],
    ["--lr", "-0.1"], ["--lr", "nan"], ["--lr", "inf"], ["--optimizer", "lion"],
    ["--rule", "both"], ["--baseline", "median"], ["--schedule", "cosine"],
    ["--testbed", "cauchy"], ["--testbed", "bernoulli", "--arms", "2", "--probs", "0.5,1.2"],
    ["--testbed", "bernoulli", "--arms", "2", "--probs", "-0.5,0.2"],
    ["--testbed", "bernoulli", "--arms", "3", "--probs", "0.5,0.2"],
    ["--probs", "0.5,0.2", "--arms", "2"], ["--window", "0"], ["--tol", "0"],
    ["--steps", "10000001"], ["--runs", "5000001", "--arms", "10"],
]


@pytest.mark.parametrize("flags", BAD_RUNS, ids=[" ".join(f) for f in BAD_RUNS])
def test_bad_run_input_is_one_line_and_exit_2(flags, capsys, no_work):
    code, out, err = _main(["bandit", "run", *flags], capsys)
    assert code == 2
    assert out == "" and err.count("\n") == 1 and err.startswith("gradgames")


def test_unwritable_outputs_are_refused_before_work(tmp_path, capsys, no_work):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for flag in ("--plot", "--csv"):
        code, _, err = _main(["bandit", "run", flag, str(blocker / "out")], capsys)
        assert code == 2 and err.count("\n") == 1
    code, _, err = _main(["bandit", "study", "--out", str(blocker)], capsys)
    assert code == 2 and err.count("\n") == 1
    code, _, err = _main(["bandit", "study", "--out", str(tmp_path / "s"), "--lr-large", "0"],
                         capsys)
    assert code == 2 and err.count("\n") == 1


def test_command_line_error_has_no_traceback():
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run(
        [sys.executable, "-m", "gradgames", "bandit", "run", "--testbed", "bernoulli",
         "--arms", "2", "--probs", "0.5,1.5"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "--probs" in proc.stderr
