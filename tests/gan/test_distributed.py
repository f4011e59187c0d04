"""Data-parallel training (torchrun, DDP) on the CPU with gloo: real processes, real data.

The multi-process tests launch torchrun as ``python -m torch.distributed.run`` (what the
``torchrun`` script runs) with one thread per process; every child imports this worktree's
package through PYTHONPATH.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gradgames.errors import UsageError
from gradgames.gan import TrainConfig, train
from gradgames.gan.artifacts import read_metrics
from gradgames.gan.checkpoint import load_checkpoint
from gradgames.gan.data import batch_indices, epoch_permutation, steps_per_epoch
from gradgames.gan.distributed import DistConfig, World, rank_zero_reports, resumed_step
from tests.conftest import assert_one_line_error

SRC = Path(__file__).resolve().parents[2] / "src"
PROBE = Path(__file__).with_name("ddp_probe.py")
SMALL = ["--subset", "256", "--batch-size", "16", "--no-progress", "--log-every", "2"]
ARTEFACTS = {"config.json", "metrics.csv", "checkpoints/last.pt", "samples/epoch_001.png",
             "samples/epoch_001_ema.png", "samples/final.png", "samples/final_ema.png",
             "losses.png", "generator.pt", "generator_ema.pt", "discriminator.pt",
             "summary.json"}  # fmt: skip


def child_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
            **extra}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(launch: list, args: list, program=("-m", "gradgames"), **kw) -> subprocess.Popen:
    """``torchrun LAUNCH PROGRAM gan train ARGS`` in the background."""
    command = [sys.executable, "-m", "torch.distributed.run", *launch, *program, "gan", "train",
               *map(str, args)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kw)  # fmt: skip


def finish(process: subprocess.Popen, timeout: float = 240) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def probe_lines(directory: Path, rank: int, kind: str) -> list[list[str]]:
    path = directory / f"rank{rank}.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.split()[1:] for line in lines if line.startswith(kind + " ")]


def steps_of(out: Path) -> list[int]:
    """The ``step`` column of a run's metrics.csv (empty while there is none)."""
    path = out / "metrics.csv"
    return [int(r["step"]) for r in read_metrics(path)] if path.exists() else []


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    """A 2-process run of 12 steps (8 per epoch, so it stops mid-epoch 2), with the probe."""
    root = tmp_path_factory.mktemp("ddp")
    out, probe = root / "run", root / "probe"
    probe.mkdir()
    args = [*SMALL, "--epochs", "2", "--max-steps", "12", "--snapshot-epochs", "1", "--out", out]
    process = torchrun(["--standalone", "--nproc-per-node=2"], args, program=(str(PROBE),),
                       env=child_env(GRADGAMES_PROBE=str(probe)))  # fmt: skip
    return finish(process), out, probe


def test_two_processes_keep_equal_weights_and_only_rank_0_writes(two_process_run):
    (code, stdout, stderr), out, probe = two_process_run
    assert code == 0, stderr
    assert stdout.count("trained 12 steps") == 1, stdout  # rank 1 prints nothing
    assert "global batch 32 = 2 x 16" in stdout
    steps = [probe_lines(probe, rank, "step") for rank in (0, 1)]
    assert len(steps[0]) == len(steps[1]) == 12
    for step, (zero, one) in enumerate(zip(*steps, strict=True), 1):
        assert zero[0] == one[0], f"weights differ after step {step}"
        assert zero[1] != one[1], f"ranks share their noise stream at step {step}"
    assert probe_lines(probe, 1, "write") == []
    written = {str(Path(p).relative_to(out)) for (p,) in probe_lines(probe, 0, "write")}
    assert written == ARTEFACTS
    assert steps_of(out) == list(range(1, 13))  # one writer: no duplicated rows
    assert len(list(out.glob("events.out.tfevents.*"))) <= 1  # one writer (none: no tensorboard)
    record = (out / "config.json").read_text()
    assert '"world_size": 2' in record and '"global_batch": 32' in record
    assert '"steps_per_epoch": 8' in record
    assert load_checkpoint(out / "checkpoints" / "last.pt")["world_size"] == 2


def test_a_two_process_checkpoint_resumes_in_one_process(two_process_run, tmp_path):
    (code, _, stderr), out, _ = two_process_run
    assert code == 0, stderr
    copy = shutil.copytree(out, tmp_path / "run")
    summary = train(TrainConfig(out=copy, resume=True, epochs=2, progress=False, log_every=2))
    # step 12 of 8 per epoch = epoch 2 after 4 x 32 images = 8 steps of 16 at 16 per epoch
    assert summary.steps == 32 and summary.steps_this_session == 8
    assert summary.global_batch == 16
    assert steps_of(copy) == [*range(2, 17, 2), *range(18, 25, 2), *range(25, 33)]
    assert load_checkpoint(copy / "checkpoints" / "last.pt")["world_size"] == 1


def test_two_machines_on_loopback_resume_a_one_process_checkpoint(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(out=out, subset=256, batch_size=16, epochs=2, max_steps=5, progress=False,
                      log_every=1))  # fmt: skip
    launch = ["--nnodes=2", "--nproc-per-node=1", "--master-addr=127.0.0.1",
              f"--master-port={free_port()}"]  # fmt: skip
    nodes = [torchrun([*launch, f"--node-rank={rank}"], ["--out", out, "--resume", "--no-progress"],
                      env=child_env()) for rank in (0, 1)]  # fmt: skip
    (code0, out0, err0), (code1, out1, err1) = (finish(p) for p in nodes)
    assert code0 == 0 and code1 == 0, err0 + err1
    # 5 steps of 16 = 80 images into epoch 1 -> 3 steps of 32 (96 images); 8 steps per epoch
    assert "trained 13 steps" in out0 and "global batch 32 = 2 x 16" in out0
    assert out1 == ""
    assert steps_of(out) == [1, 1, 2, 2, 3, *range(4, 17)]
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 16


def launch_ranks(args: list[str], size: int = 2) -> list[subprocess.Popen]:
    """The processes of one job started as torchrun would: rank and rendezvous in the env."""
    env = dict(WORLD_SIZE=str(size), LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
               MASTER_PORT=str(free_port()))  # fmt: skip
    return [subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=child_env(RANK=str(r), **env))
            for r in range(size)]  # fmt: skip


def test_a_killed_rank_ends_the_other_with_one_line(tmp_path):
    out = tmp_path / "run"
    ranks = launch_ranks(["-m", "gradgames", "gan", "train", *SMALL, "--epochs", "100",
                          "--log-every", "1", "--out", str(out)])  # fmt: skip
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(steps_of(out)) < 2:
            time.sleep(0.05)
        ranks[1].kill()
        code, _, err = finish(ranks[0], timeout=60)
    finally:
        ranks[1].kill()
        ranks[1].communicate()
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "rank 0 of 2 lost the other processes" in lines[0]


STALL = """
import time
from gradgames.gan.distributed import DistConfig, World
with World.from_env("cpu", DistConfig(dist_timeout=3)) as world:
    world.any(False)
    if world.rank == 1:
        time.sleep(300)
    world.any(False)
"""


def test_a_stalled_rank_times_out_the_others():
    ranks = launch_ranks(["-c", STALL])
    try:
        code, _, err = finish(ranks[0], timeout=60)
        alive = ranks[1].poll() is None
    finally:
        ranks[1].kill()
        ranks[1].communicate()
    assert code == 1 and alive, err
    assert "WorldError: rank 0 of 2 lost the other processes" in err
    assert "stalled for over 3 s (the distributed timeout)" in err


def test_each_epoch_is_split_across_ranks_without_overlap():
    for n, batch, size in [(256, 16, 2), (100, 8, 3), (37, 4, 4), (50, 64, 2), (33, 16, 2)]:
        order = epoch_permutation(n, seed=3, epoch=1)
        parts = [
            batch_indices(order, i, batch, rank, size).tolist()
            for i in range(steps_per_epoch(n, batch, size))
            for rank in range(size)
        ]
        seen = [i for part in parts for i in part]
        assert all(part for part in parts), (n, batch, size)  # every rank trains every step
        assert len(seen) == len(set(seen)), (n, batch, size)
        tail = n % (batch * size)
        dropped = tail if tail < size else 0  # a last global batch too small for every rank
        assert len(seen) == n - dropped and set(seen) <= set(range(n)), (n, batch, size)


def test_a_resumed_world_sees_no_image_twice_and_skips_less_than_a_global_batch():
    for n, batch in [(37, 3), (64, 8), (100, 8)]:
        order = epoch_permutation(n, seed=0, epoch=0).tolist()
        for old, new in [(1, 2), (2, 1), (2, 3), (3, 2), (1, 4), (4, 1), (2, 2)]:
            old_spe, new_spe = steps_per_epoch(n, batch, old), steps_per_epoch(n, batch, new)
            for step in range(2 * old_spe):
                resumed = resumed_step(step, n, batch, old, new)
                epoch, i = divmod(step, old_spe)
                assert epoch <= resumed // new_spe <= epoch + 1
                seen = set(order[: i * batch * old])
                rest = range(resumed % new_spe, new_spe) if resumed // new_spe == epoch else ()
                after = {x for j in rest for r in range(new)
                         for x in batch_indices(torch.tensor(order), j, batch, r, new).tolist()}
                assert not seen & after, (n, batch, old, new, step)
                never = set(order[new_spe * batch * new :])  # no epoch of the new world has them
                missing = set(order) - seen - after - never
                assert len(missing) < batch * new, (n, batch, old, new, step)
                if i == 0:
                    assert not missing and resumed == epoch * new_spe


def test_ranks_draw_different_noise_and_one_process_keeps_its_stream():
    def draws(world: World) -> torch.Tensor:
        torch.manual_seed(0)
        world.reseed(0, step=5)
        return torch.randn(4)

    zero, one = (draws(World(rank, 2, torch.device("cpu"))) for rank in (0, 1))
    assert not torch.equal(zero, one)
    assert torch.equal(one, draws(World(1, 2, torch.device("cpu"))))
    torch.manual_seed(0)
    alone = torch.randn(4)
    assert torch.equal(draws(World()), alone)


@pytest.mark.parametrize(
    "env,args,fragment",
    [
        ({"WORLD_SIZE": "2", "RANK": "0"}, ["--dist-backend", "nccl", "--device", "cpu"],
         "--dist-backend nccl needs CUDA"),
        ({"WORLD_SIZE": "two"}, [], "WORLD_SIZE='two' is not an integer"),
        ({}, ["--dist-timeout", "0"], "--dist-timeout must lie in (0, 86400]"),
    ],
)  # fmt: skip
def test_bad_launch_settings_are_one_line_exit_2(cli, tmp_path, monkeypatch, env, args, fragment):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = cli("gan", "train", "--out", tmp_path / "run", "--no-progress", *args)
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "run").exists()


def test_sync_bn_needs_cuda_under_ddp_and_is_harmless_alone(cli, tmp_path):
    config = TrainConfig(out=tmp_path / "ddp", sync_bn=True, device="cpu", eval_epochs=())
    with pytest.raises(UsageError, match="^sync_bn needs CUDA"):
        train(config, World(0, 2, torch.device("cpu")))
    assert not (tmp_path / "ddp").exists()
    args = ["--subset", "64", "--batch-size", "32", "--epochs", "1", "--no-progress",
            "--eval-epochs", ""]
    code, stdout, err = cli("gan", "train", "--sync-bn", *args, "--out", tmp_path / "one")
    assert code == 0 and "trained 2 steps" in stdout, err


def test_only_rank_0_reports_usage_errors():
    for rank, expected in (("1", SystemExit), ("0", UsageError)):
        with pytest.raises(expected), rank_zero_reports({"RANK": rank}):
            raise UsageError("bad flag")
    with pytest.raises(ValueError), rank_zero_reports({"RANK": "1"}):
        raise ValueError("other errors are every rank's to report")
    assert DistConfig().dist_timeout > 0


def test_ranks_agree_on_stopping_before_every_epoch_end(tmp_path):
    """A signal that reaches one rank late in an epoch must not let the ranks part ways."""
    steps: list[int] = []

    class Recording(World):
        def any(self, flag: bool) -> bool:
            steps.append(len(read_metrics(tmp_path / "run" / "metrics.csv")))
            return flag

    config = TrainConfig(out=tmp_path / "run", subset=64, batch_size=16, epochs=2,
                         log_every=100, progress=False, eval_epochs=())  # fmt: skip
    train(config, Recording())
    assert steps == [4, 8]  # 4 steps per epoch; --log-every alone would never ask
