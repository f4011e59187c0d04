"""Part 2's dynamics in the GAN: the DiracGAN's measured rates against Part 2's spectral
radii, the optimisers against torch's, exact resume and the flags."""

import csv
import json
import math

import numpy as np
import pytest
import torch

from gradgames.gan import TrainConfig, train
from gradgames.gan.checkpoint import load_checkpoint
from gradgames.gan.dynamics import GameOptimizer
from gradgames.saddle.config import Hyperparameters
from gradgames.saddle.linear import spectral_radius
from tests.conftest import assert_one_line_error

DYNAMICS = ("alt-gda", "gda", "eg", "ogda", "nm-gda", "co")


def dirac_norms(out, **kw) -> np.ndarray:
    """|(theta, psi)| after each of 200 sgd steps from (1e-3, 1e-3), read from metrics.csv."""
    config = TrainConfig(out=out, network="dirac", optimizer="sgd", max_steps=200, log_every=1,
                         progress=False, dirac_init=(1e-3, 1e-3), **kw)  # fmt: skip
    train(config)
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, 201))
    return np.array([math.hypot(float(r["theta"]), float(r["psi"])) for r in rows])


def rate(norms: np.ndarray) -> float:
    """The per-step factor of |z|: a least-squares fit of log |z| from step 10 on, while
    1e-25 < |z| < 1e-2 (float32's range, the linear regime)."""
    steps = np.arange(10, np.flatnonzero((norms > 1e-25) & (norms < 1e-2))[-1] + 1)
    assert len(steps) >= 30
    return math.exp(np.polyfit(steps, np.log(norms[steps]), 1)[0])


def predicted(dynamics: str, lr: float, r1: float = 0.0) -> float:
    """Part 2's spectral radius: near (0, 0) the DiracGAN is the zero-sum game
    f(psi, theta) = psi theta / 2 + r1 psi^2 / 2, psi (D) minimising first, theta (G) second."""
    hessian = np.array([[r1, 0.5], [0.5, 0.0]])
    return spectral_radius(dynamics, hessian, 1, lr, hyper=Hyperparameters())


@pytest.mark.parametrize("lr", [0.05, 0.2, 0.5])
@pytest.mark.parametrize("dynamics", DYNAMICS)
def test_dirac_gan_contracts_at_part_2s_spectral_radius(tmp_path, dynamics, lr):
    measured = rate(dirac_norms(tmp_path / "run", dynamics=dynamics, lr=lr))
    assert measured == pytest.approx(predicted(dynamics, lr), rel=1e-3)


@pytest.mark.parametrize("lr", [0.1, 0.5])
@pytest.mark.parametrize("dynamics", ["alt-gda", "gda"])
def test_r1_makes_plain_gradient_play_converge_at_the_predicted_rate(tmp_path, dynamics, lr):
    assert predicted(dynamics, lr) >= 1.0  # without R1: circles or spirals out
    measured = rate(dirac_norms(tmp_path / "run", dynamics=dynamics, lr=lr, r1=0.3))
    assert measured == pytest.approx(predicted(dynamics, lr, r1=0.3), rel=1e-3) and measured < 1


def test_dirac_run_writes_theta_psi_and_the_trajectory(cli, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = cli("gan", "train", "--network", "dirac", "--dirac-init", "0.5,-2",
                            "--dynamics", "co", "--optimizer", "sgd", "--lr", "0.2",
                            "--max-steps", "30", "--log-every", "10", "--out", out,
                            "--no-progress")  # fmt: skip
    assert code == 0, err
    assert "trained 30 steps" in stdout
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [10, 20, 30]
    assert abs(float(rows[-1]["theta"])) + abs(float(rows[-1]["psi"])) < 0.5  # co converges
    assert (out / "trajectory.png").stat().st_size > 1000
    record = json.loads((out / "config.json").read_text())["config"]
    assert record["co_gamma"] == 10.0 and record["dirac_init"] == [0.5, -2.0]
    code, _, err = cli("gan", "train", "--out", out, "--resume")
    assert_one_line_error(code, err, "the DiracGAN keeps no checkpoint")


def test_the_adam_and_sgd_updates_are_torchs():
    torch.manual_seed(0)
    grads = [torch.randn(5) for _ in range(4)]
    for make, ours in (
        (lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.5, 0.9)), {"betas": (0.5, 0.9)}),
        (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), {"momentum": 0.9}),
    ):
        a, b = torch.zeros(5, requires_grad=True), torch.zeros(5, requires_grad=True)
        ref, opt = make([a]), GameOptimizer([b], 0.1, **ours)
        for g in grads:
            a.grad, b.grad = g.clone(), g.clone()
            ref.step(), opt.step()
        torch.testing.assert_close(a, b)


def test_optimistic_and_extragradient_updates():
    p = torch.zeros(1, requires_grad=True)
    opt = GameOptimizer([p], 0.1, mode="optimistic")
    for g, expected in ((1.0, -0.2), (3.0, -0.2 - 0.6 + 0.1)):  # 2 u_t - u_(t-1), u_0 = 0
        p.grad = torch.tensor([g])
        opt.step()
        assert p.item() == pytest.approx(expected)
    opt = GameOptimizer([p], 0.1, mode="extra")
    p.grad = torch.tensor([1.0])
    opt.extrapolate()
    assert "saved" in opt.state[p] and p.item() == pytest.approx(expected - 0.1)
    p.grad = torch.tensor([5.0])
    opt.step()  # from the saved point with the extrapolated gradient
    assert p.item() == pytest.approx(expected - 0.5) and "saved" not in opt.state[p]


SMALL = dict(subset=128, batch_size=64, progress=False, log_every=1, eval_epochs=(),
             snapshot_epochs=(), tensorboard=False)  # fmt: skip


@pytest.mark.parametrize(
    "kw", [dict(dynamics="eg"), dict(dynamics="ogda", precision="bf16"), dict(dynamics="nm-gda"),
           dict(dynamics="co", optimizer="sgd", lr=1e-3, r1=1.0)],
)  # fmt: skip
def test_resume_is_exact_for_every_dynamic(tmp_path, kw):
    train(TrainConfig(out=tmp_path / "one", max_steps=3, **SMALL, **kw))
    train(TrainConfig(out=tmp_path / "two", max_steps=2, **SMALL, **kw))  # mid-epoch
    train(TrainConfig(out=tmp_path / "two", max_steps=3, resume=True, **SMALL, **kw))
    one, two = (load_checkpoint(tmp_path / r / "checkpoints" / "last.pt") for r in ("one", "two"))
    for key in ("generator", "discriminator"):
        for name, value in one[key].items():
            assert torch.equal(value, two[key][name]), f"{key}.{name}"
    for key in ("opt_g", "opt_d"):
        for i, state in one[key]["state"].items():
            other = two[key]["state"][i]
            assert set(state) == set(other) and "saved" not in state
            for name, value in state.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(other[name])), name
    assert (kw["dynamics"] != "ogda") or "previous" in one["opt_d"]["state"][0]
    if kw["dynamics"] == "nm-gda":  # Gidel et al.'s negative momentum as Adam's beta1
        assert one["opt_d"]["param_groups"][0]["betas"] == (-0.5, 0.999)


@pytest.mark.parametrize(
    ("damage", "entry"),
    [
        (lambda c: c["opt_g"]["state"][0].update(previous=torch.zeros(3)),
         "its 'opt_g.state.0.previous' entry"),
        (lambda c: c["opt_d"]["state"][0].update(step=2**70), "its 'opt_d.state.0.step' entry"),
        (lambda c: c["opt_g"]["param_groups"][0].update(mode="extra"),
         "its 'opt_g.param_groups.0.mode' entry"),
        (lambda c: c["opt_g"]["state"][0].update(other=torch.zeros(1)),
         "'opt_g.state.0' has an unknown entry 'other'"),
    ],
)  # fmt: skip
def test_a_damaged_dynamics_optimiser_state_is_one_line_before_torch_sees_it(tmp_path, damage,
                                                                            entry):  # fmt: skip
    from gradgames.errors import UsageError

    config = TrainConfig(out=tmp_path / "run", max_steps=1, dynamics="ogda", **SMALL)
    train(config)
    path = tmp_path / "run" / "checkpoints" / "last.pt"
    checkpoint = load_checkpoint(path)
    damage(checkpoint)
    torch.save(checkpoint, path)
    with pytest.raises(UsageError) as error:
        load_checkpoint(path)
    assert entry in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--dynamics", "sga"], "--dynamics"),
        (["--network", "dirac", "--dirac-init", "1"], "--dirac-init"),
        (["--network", "dirac", "--dirac-init", "a,b"], "--dirac-init"),
        (["--network", "dirac", "--dirac-init", "1,2,3"], "--dirac-init"),
        (["--dirac-init", "1,2"], "--network dirac"),
        (["--r1", "-1"], "r1"),
        (["--momentum", "0.3"], "nm-gda"),
        (["--dynamics", "co", "--precision", "bf16"], "precision"),
    ],
)
def test_bad_flags_are_one_line_errors(cli, tmp_path, args, fragment):
    code, _, err = cli("gan", "train", "--out", tmp_path / "run", *args)
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "run").exists()


def test_extragradient_under_torchrun_keeps_the_ranks_equal_and_co_is_refused(tmp_path):
    from tests.gan.test_distributed import SMALL as DDP
    from tests.gan.test_distributed import child_env, finish, torchrun

    launch = ["--standalone", "--nproc-per-node=2"]
    args = [*DDP, "--max-steps", "3", "--dynamics", "eg", "--eval-epochs", ""]
    code, stdout, err = finish(torchrun(launch, [*args, "--out", tmp_path / "eg"],
                                        env=child_env()))  # fmt: skip
    assert code == 0, err
    assert stdout.count("trained 3 steps") == 1
    state = load_checkpoint(tmp_path / "eg" / "checkpoints" / "last.pt")["opt_g"]["state"]
    assert state[0]["step"] == 6  # ExtraAdam: the moments advance twice a step
    code, _, err = finish(torchrun(launch, [*DDP, "--dynamics", "co", "--out", tmp_path / "co"],
                                   env=child_env()))  # fmt: skip
    assert code != 0 and err.count("co and r1 need double backward") == 1, err
    assert not (tmp_path / "co").exists()
