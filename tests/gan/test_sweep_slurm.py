"""``gradgames gan sweep --executor slurm`` on a real Slurm cluster (scripts/slurm_cluster.sh)."""

import json
import os
import re
import signal
import subprocess
import sys

import pytest
import torch

from tests.conftest import assert_one_line_error, run_gradgames, wait_until

TINY = ["--subset", "256", "--epochs", "1", "--eval-samples", "200", "--no-tensorboard",
        "--log-every", "2"]  # fmt: skip
THREADS = max(1, (os.cpu_count() or 1) // 2)  # the local pool's threads per run at --jobs 2
SLURM = ["--executor", "slurm", "--jobs", "2", "--slurm-partition", "debug",
         "--slurm-time", "0:20:00", "--slurm-cpus-per-task", str(THREADS)]  # fmt: skip


def weights(out, run):
    return torch.load(out / run / "generator.pt", weights_only=True)["state_dict"]


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def job_of(stdout):
    return re.search(r"submitted job (\d+)", stdout).group(1)


def scontrol(*args):
    return subprocess.run(["scontrol", *args], capture_output=True, text=True, check=False)


def in_queue(job):
    done = subprocess.run(["squeue", "-h", "-r", "-j", job, "-o", "%i %T"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.stdout.split()


def submit_beside_a_reference(out, data_dir, jobs):
    """Submits an 8-epoch run of seed 1 to Slurm (--no-wait) while the same run trains locally
    and uninterrupted in ``out``'s sibling ``local``: (the local process, sbatch's answer, the
    job id)."""
    longer = ["--seeds", "1", "--data-dir", str(data_dir), *TINY[:2], "--epochs", "8", *TINY[4:]]
    reference = watch(out.parent / "local", *longer, "--jobs", "2")
    done = run_gradgames("gan", "sweep", "--out", out, *longer, *SLURM, "--no-wait")
    assert done.returncode == 0, done.stderr
    jobs.append(job_of(done.stdout))
    return reference, done, jobs[-1]


def in_second_epoch(run):
    """Whether the run's metrics.csv has reached epoch 2 (epoch 1's checkpoint is written)."""
    rows = (run / "metrics.csv").read_text().split() if (run / "metrics.csv").is_file() else []
    return len(rows) > 1 and int(rows[-1].split(",")[0]) >= 2


@pytest.fixture
def jobs():
    """Job ids a test submitted; cancelled at its end."""
    found: list[str] = []
    yield found
    for job in found:
        subprocess.run(["scancel", job], check=False)


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory, data_dir):
    """Seeds 0 and 1 of the tiny settings, trained by the local pool (--jobs 2)."""
    out = tmp_path_factory.mktemp("local") / "sweep"
    done = run_gradgames("gan", "sweep", "--out", out, "--seeds", "0,1", "--jobs", "2",
                         "--data-dir", data_dir, *TINY)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out / "default"


@pytest.mark.slurm
def test_a_job_array_trains_the_local_weights_and_reports_a_failed_task(
    slurm_cluster, local_runs, data_dir, tmp_path, jobs
):
    out = tmp_path / "grid"
    done = run_gradgames("gan", "sweep", "--out", out, "--seeds", "0,1", "--vary",
                         f"data-dir={data_dir},/nonexistent", *TINY, *SLURM)  # fmt: skip
    jobs.append(job_of(done.stdout))
    assert done.returncode == 1, done.stdout + done.stderr  # one setting failed
    good, bad = f"data-dir={data_dir}".replace(os.sep, "_"), "data-dir=_nonexistent"
    for seed in (0, 1):
        run = f"seed-{seed}"
        assert same_weights(weights(out / good, run), weights(local_runs, run))
        line = re.search(rf"{bad}/seed-{seed}: failed: (.+)", done.stdout).group(1)
        assert "/nonexistent" in line and "\n" not in line
        assert (out / bad / f"seed-{seed}.error").read_text().strip() == line
        assert f"{good}/seed-{seed}: finished (4 steps)" in done.stdout
    # one array: a task per run, its logs and the sbatch file submitit wrote in DIR/slurm
    job = jobs[0]
    assert sorted(json.loads((out / "jobs.json").read_text()).values()) == [
        f"{job}_{t}" for t in range(4)]  # fmt: skip
    sbatch = (out / "slurm" / f"{job}_submission.sh").read_text()
    for line in ("--job-name=gradgames-sweep-grid", "--partition=debug", "--time=20",
                 f"--cpus-per-task={THREADS}", "--array=0-3%2"):  # fmt: skip
        assert f"#SBATCH {line}" in sbatch, sbatch
    assert (out / "slurm" / f"{job}_0_0_log.out").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert [f["run"] for f in summary["failed"]] == [f"{bad}/seed-0", f"{bad}/seed-1"]


def watch(out, *args):
    command = [sys.executable, "-m", "gradgames", "gan", "sweep", "--out", str(out), *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip


def submitted(out):
    wait_until(lambda: (out / "jobs.json").is_file(), timeout=60)
    return json.loads((out / "jobs.json").read_text())


@pytest.mark.slurm
def test_a_cancelled_task_ends_the_wait_and_resume_finishes_it_bit_exactly(
    slurm_cluster, local_runs, data_dir, tmp_path, jobs
):
    out = tmp_path / "cancelled"
    args = ["--seeds", "0", "--data-dir", str(data_dir), *TINY, *SLURM]
    process = watch(out, *args)
    task = submitted(out)["default/seed-0"]
    jobs.append(task.split("_")[0])
    wait_until(lambda: (out / "default" / "seed-0" / "config.json").is_file(), timeout=60)
    # the task's processes killed outside Slurm and submitit (a node's failure, the OOM killer):
    # no result file, and no accounting to say the task ended. (A plain scancel sends SIGTERM
    # first, which gan train turns into a checkpoint and a clean end.)
    listed = scontrol("listpids", task).stdout.splitlines()[1:]
    pids = [int(line.split()[0]) for line in listed if line.split()[2] == "0"]
    assert pids, listed
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=60)  # the wait ends: squeue no longer has it
    assert process.returncode == 1, stdout + stderr
    assert "left Slurm's queue without a result" in stdout
    assert f"continue with gradgames gan sweep --out {out} --resume" in stdout
    done = run_gradgames("gan", "sweep", "--out", out, "--resume", "--executor", "slurm")
    jobs.append(job_of(done.stdout))
    assert done.returncode == 0, done.stdout + done.stderr
    assert same_weights(weights(out / "default", "seed-0"), weights(local_runs, "seed-0"))


@pytest.mark.slurm
def test_usr2_requeues_the_task_which_resumes_to_the_same_weights(
    slurm_cluster, data_dir, tmp_path, jobs
):
    out = tmp_path / "preempted"
    reference, done, job = submit_beside_a_reference(out, data_dir, jobs)
    assert f"status: gradgames gan sweep --out {out} --status" in done.stdout
    run = out / "default" / "seed-1"
    task = json.loads((out / "jobs.json").read_text())["default/seed-1"]
    wait_until(lambda: in_second_epoch(run), timeout=60)  # epoch 1's checkpoint is written
    signalled = subprocess.run(["scancel", "--signal=USR2", task], capture_output=True,
                               text=True)  # fmt: skip
    assert signalled.returncode == 0 and not (run / "generator.pt").exists(), signalled.stderr

    def requeued():
        scontrol("update", f"jobid={job}", "StartTime=now")  # else it waits ~2 minutes
        return (run / "summary.json").is_file() and not in_queue(job)  # written last

    wait_until(requeued, timeout=90)
    log = "".join(p.read_text() for p in (out / "slurm").glob(f"{task}_*_log.err"))
    assert "Caught signal SIGUSR2" in log, log
    assert reference.wait(timeout=90) == 0, reference.communicate()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 32 and summary["steps_this_session"] <= 28  # from an epoch end
    reference_weights = weights(tmp_path / "local" / "default", "seed-1")
    assert same_weights(weights(out / "default", "seed-1"), reference_weights)


@pytest.mark.slurm
def test_status_shows_finished_failed_running_and_held_runs_and_ctrl_c_leaves_them(
    slurm_cluster, data_dir, tmp_path, jobs, cli
):
    out = tmp_path / "states"
    args = ["--seeds", "0", "--vary", "epochs=1,1000", "--vary",
            f"data-dir={data_dir},/nonexistent", *TINY[:2], *TINY[4:], *SLURM[:2],
            "--jobs", "3", *SLURM[4:]]  # fmt: skip
    process = watch(out, *args)
    tasks = submitted(out)
    job = tasks[next(iter(tasks))].split("_")[0]
    jobs.append(job)
    scontrol("hold", f"{job}_3")  # the fourth waits for a free slot (--jobs 3): held there
    good = f"data-dir={data_dir}".replace(os.sep, "_")
    runs = {"finished": f"epochs=1,{good}/seed-0",
            "failed": "epochs=1,data-dir=_nonexistent/seed-0",
            "running": f"epochs=1000,{good}/seed-0",
            "pending": "epochs=1000,data-dir=_nonexistent/seed-0"}  # fmt: skip

    def states():
        done = run_gradgames("gan", "sweep", "--out", out, "--status", "--json")
        return {r["run"]: r for r in json.loads(done.stdout)} if done.returncode == 0 else {}

    wait_until(lambda: {s: states().get(r, {}).get("state") for s, r in runs.items()}
               == {s: s for s in runs}, timeout=90)  # fmt: skip
    rows = states()
    assert {s: rows[r]["state"] for s, r in runs.items()} == {s: s for s in runs}, rows
    assert "JobHeld" in rows[runs["pending"]]["slurm"]
    assert "/nonexistent" in rows[runs["failed"]]["error"]
    text = run_gradgames("gan", "sweep", "--out", out, "--status").stdout
    assert f"{runs['running']}: running at epoch" in text
    assert f"{runs['pending']}: pending (Slurm job {job}_3 PENDING (JobHeld" in text
    # Ctrl-C stops watching only: the jobs go on, and the message says what to do next
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    for said in (f"--out {out} --status", f"--out {out} --resume", f"scancel {job}"):
        assert said in stderr
    queue = in_queue(job)
    assert queue[queue.index(f"{job}_2") + 1] == "RUNNING", queue
    code, _, err = cli("gan", "sweep", "--out", out, "--resume")  # it would train them twice
    assert_one_line_error(code, err, f"Slurm job {job} of this sweep is still in the queue",
                          f"scancel {job}")


@pytest.mark.slurm
def test_bad_slurm_input_is_one_line_and_loses_nothing(slurm_cluster, cli, tmp_path, data_dir):
    out = tmp_path / "sweep"
    code, _, err = cli("gan", "sweep", "--out", out, "--seeds", "0", *TINY, "--executor",
                       "slurm", "--slurm-partition", "nope")  # fmt: skip
    assert_one_line_error(code, err, "sbatch refused the job array", "invalid partition")
    plan = json.loads((out / "sweep.json").read_text())
    code, _, err = cli("gan", "sweep", "--out", out, "--status")  # the sweep is still there
    assert code == 0, err
    assert json.loads((out / "sweep.json").read_text()) == plan


@pytest.mark.parametrize("time", ["1:2:3:4", "1-", "two", "0", "-5"])
def test_an_unparsable_slurm_time_is_refused_before_anything(cli, tmp_path, time):
    out = tmp_path / "sweep"
    code, _, err = cli("gan", "sweep", "--out", out, "--seeds", "0", "--executor", "slurm",
                       f"--slurm-time={time}")  # fmt: skip
    assert_one_line_error(code, err, "--slurm-time", "D-HH:MM:SS")
    assert not out.exists()


def test_status_of_a_folder_that_holds_no_sweep(cli, tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n")
    code, _, err = cli("gan", "sweep", "--out", tmp_path, "--status")
    assert_one_line_error(code, err, "holds no sweep")
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


@pytest.mark.slurm
def test_a_plain_scancel_is_continued_by_resume_to_the_same_weights(
    slurm_cluster, data_dir, tmp_path, jobs
):
    """scancel J sends SIGTERM: gan train writes its checkpoint and stops; gan sweep --resume
    continues the run from it and ends with the weights of an uninterrupted run."""
    out = tmp_path / "cancelled"
    reference, _, job = submit_beside_a_reference(out, data_dir, jobs)
    run = out / "default" / "seed-1"

    wait_until(lambda: in_second_epoch(run), timeout=60)
    assert subprocess.run(["scancel", job], check=False).returncode == 0
    wait_until(lambda: not in_queue(job), timeout=60)
    assert json.loads((run / "summary.json").read_text())["stopped_by"] == "SIGTERM"
    resumed = run_gradgames("gan", "sweep", "--out", out, "--resume", "--executor", "slurm")
    jobs.append(job_of(resumed.stdout))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert reference.wait(timeout=90) == 0, reference.communicate()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 32 and summary["steps_this_session"] < 32  # from a checkpoint
    assert same_weights(weights(out / "default", "seed-1"),
                        weights(tmp_path / "local" / "default", "seed-1"))  # fmt: skip
