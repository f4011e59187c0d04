"""The single-node Slurm cluster of scripts/slurm_cluster.sh: submitit runs a job array on it,
a second run of the script is silent, and the ``slurm_cluster`` fixture skips where no cluster
answers but fails where CI=true."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import submitit

from tests.conftest import require_slurm, slurm_answer, wait_until

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "slurm_cluster.sh"


def square(x: int) -> int:
    """The job: importable by name (tests.test_slurm_cluster.square), so the job can unpickle it."""
    return x * x


@pytest.mark.slurm
def test_job_array_of_two_tasks_returns_both_results(slurm_cluster, tmp_path):
    executor = submitit.AutoExecutor(folder=tmp_path / "%j", cluster="slurm")
    executor.update_parameters(slurm_partition="debug", timeout_min=2, cpus_per_task=1)
    jobs = executor.map_array(square, [3, 4])
    wait_until(lambda: all(job.done() for job in jobs), timeout=120)
    assert [job.result() for job in jobs] == [9, 16]


@pytest.mark.slurm
def test_second_run_of_the_script_changes_nothing_and_prints_nothing(slurm_cluster):
    conf = Path("/etc/slurm/slurm.conf").read_bytes()
    run = subprocess.run([SCRIPT], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    assert Path("/etc/slurm/slurm.conf").read_bytes() == conf


def test_script_rejects_an_unknown_argument_in_one_line():
    run = subprocess.run([SCRIPT, "restart"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stdout == "" and len(run.stderr.splitlines()) == 1, run.stderr


@pytest.mark.parametrize("no_cluster", ["missing_conf", "no_sinfo"])
def test_fixture_skips_without_a_cluster_but_fails_under_ci(no_cluster, monkeypatch, tmp_path):
    if no_cluster == "missing_conf":
        monkeypatch.setenv("SLURM_CONF", str(tmp_path / "missing.conf"))
    else:
        monkeypatch.setenv("PATH", str(tmp_path))
    reason = slurm_answer(timeout=0.5)  # a missing SLURM_CONF makes sinfo retry for 60 s
    assert reason is not None and "scripts/slurm_cluster.sh" in reason
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no .*Slurm"):
        require_slurm(timeout=0.5)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_slurm(timeout=0.5)
