"""Run directories and outputs under hostile paths: the lock's file, every output flag's rule,
stops, and what the command line makes of odd input and output streams."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest

from gradgames.errors import Stopped
from gradgames.rundir import LOCK_NAME, RunLock, check_output_file, resumed_settings
from tests.conftest import assert_one_line_error, run_gradgames

STUDY = ["--runs", "2", "--steps", "10"]


def _symlink(lock, victim):
    lock.symlink_to(victim)


def _hardlink(lock, victim):
    os.link(victim, lock)


def _dangling(lock, victim):
    lock.symlink_to(victim.parent / "nowhere.txt")


@pytest.mark.parametrize(
    "make",
    [_symlink, _hardlink, _dangling, lambda lock, _: lock.mkdir(),
     lambda lock, _: lock.symlink_to(lock), lambda lock, _: os.mkfifo(lock)],
    ids=["symlink", "hardlink", "dangling", "directory", "loop", "fifo"],
)  # fmt: skip
def test_a_lock_that_is_no_plain_file_of_its_own_is_refused(cli, tmp_path, make):
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    out = tmp_path / "out"
    out.mkdir()
    make(out / LOCK_NAME, victim)
    code, _, err = cli("bandit", "study", "--out", out, *STUDY)
    assert_one_line_error(code, err, "is not a plain file of its own", "remove it")
    assert victim.read_text() == "mine\n" and not (tmp_path / "nowhere.txt").exists()
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]


@pytest.fixture
def run_dir(tmp_path):
    """A folder that looks like a finished run: its lock, config.json and a checkpoint."""
    run = tmp_path / "R"
    (run / "checkpoints").mkdir(parents=True)
    for name in (LOCK_NAME, "config.json", "generator.pt", "checkpoints/last.pt"):
        (run / name).write_text(name)
    (run / "old.png").write_text("a figure of the run")
    return run


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["gan", "sample", "--checkpoint", "R/generator.pt", "--out", "R/generator.pt"],
         "also an input"),
        (["gan", "sample", "--checkpoint", "R/generator.pt", "--out", "R/checkpoints/last.pt"],
         "is not a .png file"),
        (["gan", "sample", "--checkpoint", "R/generator.pt", "--out", "R/old.png"],
         "belongs to the gradgames run in"),
        (["bandit", "run", *STUDY, "--csv", "R/config.json"], "is not a .csv file"),
        (["bandit", "run", *STUDY, "--csv", "/dev/null"], "is not a regular file"),
        (["bandit", "run", *STUDY, "--csv", "link.csv"], "is not a regular file"),
        (["saddle", "map", "--out", "m.png"], "m.csv exists"),
        (["gan", "train-classifier", "--out", "c.json"], "also an input"),
        (["gan", "train-classifier", "--out", "c.sha256"], "also an input"),
    ],
)  # fmt: skip
def test_no_output_overwrites_an_input_a_run_or_another_kind_of_file(
    cli, run_dir, monkeypatch, args, fragment
):
    root = run_dir.parent
    monkeypatch.chdir(root)
    (root / "target.csv").write_text("theirs")
    (root / "link.csv").symlink_to(root / "target.csv")
    (root / "m.csv").write_text("the user's own table")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}
    code, _, err = cli(*args)
    assert_one_line_error(code, err, fragment)
    assert {p: p.read_bytes() for p in before} == before
    assert not (root / "m.png").exists() and not (root / "c.pt").exists()


def test_an_output_of_its_kind_outside_a_run_is_replaced(tmp_path):
    (tmp_path / "a.csv").write_text("old")
    assert check_output_file(tmp_path / "a.csv", ".csv") == tmp_path / "a.csv"


def test_one_resume_rule_keeps_the_saved_settings(tmp_path):
    saved = {"out": "a", "seed": 0, "epochs": 2, "model": {"leak": 0.2}}
    new = {"out": "b", "seed": 0, "epochs": 5, "model": {"leak": 0.2}}
    assert resumed_settings(saved, new, {"seed", "epochs", "leak"}, ("epochs",)) == {
        **saved, "out": "b", "epochs": 5}  # fmt: skip
    assert resumed_settings(saved, new, (), ("epochs",))["epochs"] == 2
    for name, value in (("seed", 1), ("leak", 0.3)):
        changed = {**new, name: value} if name == "seed" else {**new, "model": {name: value}}
        with pytest.raises(ValueError, match=f"^{name} {value} differs from the run's"):
            resumed_settings(saved, changed, {name}, ("epochs",))


def test_a_comparison_waits_for_the_process_that_holds_its_folder(cli, tmp_path):
    out = tmp_path / "cmp"
    out.mkdir()
    with RunLock(out):
        code, _, err = cli("saddle", "compare", "--out", out, "--steps", "5")
    assert_one_line_error(code, err, "in use by another gradgames process")
    assert [p.name for p in out.iterdir()] == [LOCK_NAME]


def test_an_expression_may_start_with_a_minus(cli):
    code, out, err = cli("saddle", "analyze", "--f", "-x*y", "--json")
    assert code == 0 and '"f": "-x*y"' in out.replace(" ", "").replace('":"', '": "'), err


def test_a_stop_is_its_signals_exit_status(cli, monkeypatch):
    assert Stopped("SIGINT", "x").exit_code == 130 and Stopped("SIGTERM", "x").exit_code == 143

    def stopped(config):
        raise Stopped("SIGTERM", "training stopped by SIGTERM: continue with --resume")

    monkeypatch.setattr("gradgames.reproduce.reproduce", stopped)
    code, _, err = cli("reproduce", "--out", "anywhere")
    assert code == 143 and err.strip() == "gradgames: error: training stopped by SIGTERM: " \
        "continue with --resume"  # fmt: skip


def test_a_part_stopped_before_its_study_json_is_redone_on_resume(tmp_path, monkeypatch):
    from gradgames.reproduce import ReproduceConfig, part_bandit

    monkeypatch.setattr(ReproduceConfig, "sizes", lambda self: dict(bandit_runs=2, bandit_steps=10))
    folder = tmp_path / "part1-bandit"
    folder.mkdir()
    (folder / "reward.png").write_text("a figure of the stopped session")
    config = ReproduceConfig(out=tmp_path, resume=True, progress=False)
    result, _, ran = part_bandit(config, folder, None)
    assert ran and (folder / "study.json").is_file() and result["sutton_barto"]["table"]
    assert (folder / "reward.png").read_bytes()[:4] == b"\x89PNG"


def test_paths_with_newlines_and_unreadable_inputs_are_one_line(cli, tmp_path):
    odd = tmp_path / "a\nb"
    odd.write_text("a file")
    code, _, err = cli("bandit", "study", "--out", odd, *STUDY)
    assert_one_line_error(code, err, "a\\nb")
    if os.access("/proc/self/mem", os.R_OK):
        code, _, err = cli("gan", "sample", "--checkpoint", "/proc/self/mem",
                           "--out", tmp_path / "s.png")  # fmt: skip
        assert_one_line_error(code, err, "Input/output error")


def test_an_ascii_terminal_and_a_full_stdout_are_no_traceback(monkeypatch):
    monkeypatch.setenv("PYTHONIOENCODING", "ascii")
    done = run_gradgames("bandit", "run", *STUDY, timeout=120)
    assert done.returncode == 0 and "\\xb1" in done.stdout, done.stderr
    with open("/dev/full", "w") as full:
        command = [sys.executable, "-m", "gradgames", "saddle", "analyze"]
        done = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode in (2, 120) and done.stderr.count("\n") == 1, done.stderr
    assert "No space left on device" in done.stderr


def test_a_one_run_textbook_study_warns_nothing_and_agrees_with_equal_values():
    from gradgames.bandit.config import StudyConfig
    from gradgames.bandit.experiment import simulate, summary
    from gradgames.bandit.results import BookPoint, StudyRow
    from gradgames.bandit.study import settings
    from gradgames.bandit.sutton_barto import book_points

    config = StudyConfig(preset="sutton-barto", runs=1, steps=10)
    results, rows = {}, []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for panel, rule, label, lr, run in settings(config):
            results.setdefault(panel, {})[label] = result = simulate(run)
            rows.append(StudyRow.of(panel, rule, label, lr, summary(result)))
        book_points(config, rows, results)
    assert BookPoint("2.6", "s", "m", measured=1.0, noise=None, book=1.0, book_noise=None).agrees
