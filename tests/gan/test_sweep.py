"""``gradgames gan sweep``: runs per setting and seed, executors, resume, status, statistics."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from scipy import stats

from gradgames.gan.sweep import run_scores
from tests.conftest import assert_one_line_error, run_gradgames, wait_until

# 4 steps per run, one small evaluation
TINY = ["--subset", "256", "--epochs", "1", "--eval-samples", "200", "--no-tensorboard",
        "--log-every", "2"]  # fmt: skip
GRID = ["--seeds", "0,1", "--vary", "lr=0.0001,0.0002", "--jobs", "2", *TINY]
RUNS = ["lr=0.0001/seed-0", "lr=0.0002/seed-0", "lr=0.0001/seed-1", "lr=0.0002/seed-1"]


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local"
    done = run_gradgames("gan", "sweep", "--out", out, *GRID)
    assert done.returncode == 0, done.stderr
    for run in RUNS:
        assert f"{run}: started" in done.stdout and f"{run}: finished (4 steps)" in done.stdout
    return out


def generator_weights(out, run):
    return torch.load(out / run / "generator.pt", weights_only=True)["state_dict"]


def test_submitit_local_trains_the_same_weights_as_the_local_pool(local_sweep, tmp_path):
    out = tmp_path / "submitit"
    done = run_gradgames("gan", "sweep", "--out", out, *GRID, "--executor", "submitit-local")
    assert done.returncode == 0, done.stderr
    assert "submitted job" in done.stdout and any((out / "slurm").iterdir())
    assert json.loads((out / "sweep.json").read_text())["executor"] == "submitit-local"
    for run in RUNS:
        mine, theirs = generator_weights(out, run), generator_weights(local_sweep, run)
        assert mine.keys() == theirs.keys()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine), run
    # settings and seeds do change the weights
    first = generator_weights(out, RUNS[0])["dense.0.weight"]
    for other in RUNS[1], RUNS[2]:  # another setting, another seed
        assert not torch.equal(first, generator_weights(out, other)["dense.0.weight"]), other


def t_interval(values):
    n, mean, sem = len(values), sum(values) / len(values), stats.sem(values)
    return (mean, mean) if sem == 0 else stats.t.interval(0.95, n - 1, loc=mean, scale=sem)


def test_summary_matches_scipy_on_the_runs_own_files(local_sweep):
    summary = json.loads((local_sweep / "summary.json").read_text())
    assert summary["failed"] == []
    rows = {(r["setting"], r["epoch"], r["generator"], r["score"]): r for r in summary["scores"]}
    evaluations = {run: json.loads((local_sweep / run / "evaluations.json").read_text())
                   for run in RUNS}  # fmt: skip
    for setting in ("lr=0.0001", "lr=0.0002"):
        for generator in ("generator", "ema"):
            for score in ("fid", "kid", "coverage"):
                values = []
                for seed in (0, 1):
                    entry = evaluations[f"{setting}/seed-{seed}"][-1]
                    values.append(entry["ema" if generator == "ema" else "generated"][score])
                row = rows[(setting, 1, generator, score)]
                assert row["n"] == 2 and row["seeds"] == [0, 1]
                assert row["mean"] == pytest.approx(sum(values) / 2)
                assert row["ci95"] == pytest.approx(list(t_interval(values)))
    assert run_scores(local_sweep / RUNS[0])[0][0] == 1
    # the second setting against the first, paired by seed
    fid = next(c for c in summary["comparisons"]
               if c["score"] == "fid" and c["generator"] == "generator")  # fmt: skip
    base = [evaluations[f"lr=0.0001/seed-{s}"][-1]["generated"]["fid"] for s in (0, 1)]
    other = [evaluations[f"lr=0.0002/seed-{s}"][-1]["generated"]["fid"] for s in (0, 1)]
    differences = [o - b for o, b in zip(other, base, strict=True)]
    assert fid["setting"] == "lr=0.0002" and fid["baseline"] == "lr=0.0001"
    assert fid["ci95"] == pytest.approx(list(t_interval(differences)))
    low, high = fid["ci95"]
    assert fid["verdict"] == ("inconclusive" if low <= 0 <= high else "higher" if low > 0
                              else "lower")  # fmt: skip
    # the EMA's FID over the generator's, paired by seed
    ratio = next(r for r in summary["fid_ratios"]
                 if r["setting"] == "lr=0.0001" and r["generator"] == "ema")  # fmt: skip
    ema = [evaluations[f"lr=0.0001/seed-{s}"][-1]["ema"]["fid"] for s in (0, 1)]
    quotients = [e / b for e, b in zip(ema, base, strict=True)]
    assert ratio["seeds"] == [0, 1] and ratio["mean"] == pytest.approx(sum(quotients) / 2)
    assert ratio["ci95"] == pytest.approx(list(t_interval(quotients)))
    markdown = (local_sweep / "summary.md").read_text()
    assert "| lr=0.0002 | 1 | ema | fid | 2 |" in markdown and fid["verdict"] in markdown
    assert f"| lr=0.0001 | 1 | ema | 2 | {ratio['mean']:.4g} |" in markdown
    assert (local_sweep / "fid.png").stat().st_size > 0
    assert (local_sweep / "final_fid.png").stat().st_size > 0


def test_status_shows_each_run_and_a_failure_is_reported(local_sweep, tmp_path, cli):
    code, out, err = cli("gan", "sweep", "--out", local_sweep, "--status", "--json")
    assert code == 0, err
    assert [(r["run"], r["state"]) for r in json.loads(out)] == [(r, "finished") for r in RUNS]
    copy = tmp_path / "copy"
    shutil.copytree(local_sweep, copy)
    (copy / "lr=0.0002" / "seed-1.error").write_text("DivergenceError: non-finite loss\n")
    shutil.rmtree(copy / "lr=0.0001" / "seed-1")
    code, out, err = cli("gan", "sweep", "--out", copy, "--status")
    assert code == 0, err
    assert "lr=0.0001/seed-1: pending" in out
    assert "lr=0.0002/seed-1: failed: DivergenceError: non-finite loss" in out
    from gradgames.gan.sweep import write_summary

    summary = write_summary(copy)
    assert [f["run"] for f in summary["failed"]] == ["lr=0.0001/seed-1", "lr=0.0002/seed-1"]
    assert all(r["n"] == 1 and r["ci95"] is None for r in summary["scores"])
    assert "lr=0.0002/seed-1: failed: DivergenceError" in (copy / "summary.md").read_text()


BAD = [
    (["--seeds", "0", "--vary", "nope=1,2"], "--vary nope: not a gan train flag"),
    (["--seeds", "0", "--vary", "lr="], "--vary lr: give one or more"),
    (["--seeds", "0", "--vary", "lr"], "--vary takes FLAG=V1,V2"),
    (["--seeds", "0", "--vary", "seed=1,2"], "the sweep sets out, seed and resume"),
    (["--seeds", "0", "--vary", "out=a,b"], "the sweep sets out, seed and resume"),
    (["--seeds", "0", "--vary", "lr=2,3"], "--lr must lie in"),
    (["--seeds", "0", "--executor", "pbs"], "--executor: invalid choice"),
    (["--vary", "lr=0.1"], "--seeds is required"),
    (["--seeds", "0,,1"], "--seeds takes distinct"),
    (["--seeds", "-1"], "--seeds takes distinct"),
    (["--seeds", "0", "--jobs", "0"], "--jobs: takes an integer >= 1"),
    (["--seeds", "0", "--executor", "slurm"], "needs Slurm's sbatch"),
    (["--seeds", "0", "--executor", "local", "--no-wait"], "--no-wait applies"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_line_and_writes_nothing(cli, tmp_path, monkeypatch, args, message):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    out = tmp_path / "sweep"
    code, _, err = cli("gan", "sweep", "--out", out, *args)
    assert_one_line_error(code, err, message)
    assert not out.exists()


def test_an_interrupted_sweep_resumes_and_keeps_finished_runs(tmp_path, cli):
    out = tmp_path / "sweep"
    args = ["--out", out, "--seeds", "0,1,2", "--jobs", "1", "--subset", "3840", "--epochs", "1",
            "--eval-epochs", "", "--no-tensorboard", "--log-every", "1"]  # fmt: skip
    command = [sys.executable, "-m", "gradgames", "gan", "sweep", *map(str, args)]
    # started with SIGINT ignored, as a script's background job is: Ctrl-C must still stop it
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    first, second = out / "default" / "seed-0", out / "default" / "seed-1"
    wait_until(lambda: (first / "generator.pt").exists() and (second / "metrics.csv").exists())
    code, status, err = cli("gan", "sweep", "--out", out, "--status")
    assert "default/seed-1: running at epoch" in status, status + err
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 130, stderr
    assert f"continue with gradgames gan sweep --out {out} --resume" in stderr
    assert "default/seed-1: stopped at step" in stdout
    assert "default/seed-2: not started" in stdout  # queued behind it, never begun
    assert not (out / "default" / "seed-2").exists()
    code, status, err = cli("gan", "sweep", "--out", out, "--status")
    assert "default/seed-0: finished" in status
    assert "default/seed-1: interrupted at epoch 1" in status
    assert "default/seed-2: pending" in status
    kept = (first / "generator.pt").stat().st_mtime_ns
    code, _, err = cli("gan", "sweep", "--out", out, "--resume", "--lr", "0.001")
    assert_one_line_error(code, err, "--resume: fixed differs from the sweep's plan")
    done = run_gradgames("gan", "sweep", *map(str, args[:2]), "--resume", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert "default/seed-0: finished, kept" in done.stdout
    assert (first / "generator.pt").stat().st_mtime_ns == kept
    summary = json.loads((second / "summary.json").read_text())
    assert summary["steps"] == 60 and 0 < summary["steps_this_session"] < 60  # resumed
    assert "default/seed-2: finished (60 steps)" in done.stdout
    assert json.loads((out / "sweep.json").read_text())["jobs"] == 2


def test_local_workers_split_the_cpus_the_sweep_may_use(monkeypatch):
    from gradgames.gan.sweep import _threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)  # taskset -c 3
    assert _threads({"executor": "local", "jobs": 1}) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert _threads({"executor": "local", "jobs": 2}) == 4
    assert _threads({"executor": "slurm", "jobs": 2, "slurm_cpus_per_task": 3}) == 3


PLAN = {"seeds": [0], "vary": [], "fixed": {"epochs": 1}, "executor": "local", "jobs": 1,
        "slurm_partition": None, "slurm_time": 240, "slurm_cpus_per_task": 4,
        "slurm_gpus_per_task": 0}  # fmt: skip


@pytest.mark.parametrize(
    "plan,jobs,message",
    [([1], None, "sweep.json: the record must be a JSON object"),
     ({**PLAN, "seeds": "x"}, None, "sweep.json: seeds must be a list"),
     ({k: v for k, v in PLAN.items() if k != "vary"}, None, "sweep.json: vary is missing"),
     ({**PLAN, "executor": "pbs"}, None, "executor must be one of local, submitit-local, slurm"),
     ({**PLAN, "fixed": {"lr": 5}}, None, "sweep.json holds settings gan train refuses: lr"),
     ({**PLAN, "fixed": {"colour": 1}}, None, "unknown key 'colour'"),
     ({**PLAN, "seeds": [-1]}, None, "seed must be an integer from 0"),
     (PLAN, [1], "jobs.json must map each run to its Slurm task")],
)  # fmt: skip
def test_a_damaged_sweep_json_or_jobs_json_is_one_line(cli, tmp_path, plan, jobs, message):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "sweep.json").write_text(json.dumps(plan))
    if jobs is not None:
        (out / "jobs.json").write_text(json.dumps(jobs))
    for extra in (["--status"], ["--resume"]):
        code, _, err = cli("gan", "sweep", "--out", out, *extra)
        assert_one_line_error(code, err, message)
    kept = ["sweep.json"] + ["jobs.json"] * (jobs is not None)
    assert sorted(p.name for p in out.iterdir()) == sorted(kept)


def test_a_damaged_run_summary_is_one_line(cli, tmp_path):
    out = tmp_path / "sweep"
    (out / "default" / "seed-0").mkdir(parents=True)
    (out / "sweep.json").write_text(json.dumps(PLAN))
    (out / "default" / "seed-0" / "summary.json").write_text('{"steps": "many"}')
    code, _, err = cli("gan", "sweep", "--out", out, "--status")
    assert_one_line_error(code, err, "seed-0/summary.json")


def test_sigterm_stops_the_sweep_and_its_workers_with_their_checkpoints(tmp_path, cli):
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "gradgames", "gan", "sweep", "--out", str(out), "--seeds",
               "0", "--subset", "3840", "--epochs", "2", "--eval-epochs", "", "--no-tensorboard",
               "--log-every", "1"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = out / "default" / "seed-0"
    wait_until(lambda: (run / "metrics.csv").exists())
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 143, stderr
    assert "default/seed-0: stopped at step" in stdout
    code, status, err = cli("gan", "sweep", "--out", out, "--status")  # no worker holds it
    assert status.startswith("default/seed-0: interrupted at epoch"), status + err
