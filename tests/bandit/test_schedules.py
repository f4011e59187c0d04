"""Each schedule gives the rates it promises: closed forms, torch schedulers, per-run plateau."""

import math

import pytest
import torch

from gradgames.bandit import schedules
from gradgames.bandit.experiment import RunConfig, simulate
from gradgames.bandit.learner import Learner, LearnerConfig, schedule_fn

STEPS = 400


@pytest.mark.parametrize(
    ("name", "closed_form"),
    [
        ("constant", lambda t: 0.3),
        ("inverse-time", lambda t: 0.3 / (1 + t / 40.0)),
        ("exponential", lambda t: 0.3 * 0.99**t),
        ("step", lambda t: 0.3 * 0.5 ** (t // 75)),
    ],
)
def test_time_schedules_follow_their_closed_forms(name, closed_form):
    config = LearnerConfig(lr=0.3, schedule=name, tau=40.0, gamma=0.99, decay_every=75,
                           decay_factor=0.5)
    pure = schedule_fn(config)
    learner = Learner(config, runs=3, arms=4)
    pi, _ = learner.policy()
    for t in range(STEPS):
        want = closed_form(t)
        assert pure(t) == pytest.approx(want, rel=1e-12)
        rates = learner.rates()
        assert rates.tolist() == pytest.approx([want] * 3, rel=1e-9)
        learner.update(pi, torch.zeros(3, dtype=torch.int64), torch.zeros(3, dtype=torch.float64))


def test_inverse_time_halves_at_tau_and_step_drops_on_schedule():
    assert schedules.inverse_time(1.0, 50.0)(50) == 0.5
    step = schedules.step(1.0, every=10, factor=0.1)
    assert [step(t) for t in (0, 9, 10, 19, 20)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])


def test_plateau_on_a_flat_metric_decays_every_patience_plus_one_steps():
    patience, factor = 4, 0.5
    plateau = schedules.PerRunPlateau(runs=1, window=3, patience=patience, factor=factor,
                                      threshold=0.0)
    scales = []
    for _ in range(30):
        plateau.observe(torch.zeros(1, dtype=torch.float64))
        scales.append(plateau.scale.item())
    # observation 0 sets the best; every (patience + 1)-th later one decays.
    want = [factor ** (t // (patience + 1)) for t in range(30)]
    assert scales == pytest.approx(want)


def test_plateau_is_reduce_lr_on_plateau_run_by_run():
    runs, steps, eta = 5, 200, 0.8
    gen = torch.Generator().manual_seed(0)
    trend = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None] * torch.tensor(
        [0.0, 0.5, 1.0, 2.0, 4.0], dtype=torch.float64)
    metrics = trend + 0.3 * torch.randn(steps, runs, generator=gen, dtype=torch.float64)
    plateau = schedules.PerRunPlateau(runs, window=1, patience=7, factor=0.7, threshold=0.05)
    torch_lrs = []
    for r in range(runs):
        opt = torch.optim.SGD([torch.zeros(1)], lr=eta)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="max", factor=0.7, patience=7, threshold=0.05, threshold_mode="abs")
        lrs = []
        for t in range(steps):
            sched.step(metrics[t, r].item())
            lrs.append(opt.param_groups[0]["lr"])
        torch_lrs.append(lrs)
    for t in range(steps):
        plateau.observe(metrics[t])
        got = (eta * plateau.scale[:, 0]).tolist()
        assert got == pytest.approx([torch_lrs[r][t] for r in range(runs)], rel=1e-12)
    assert len({lrs[-1] for lrs in torch_lrs}) > 1  # the runs did decay differently


def test_plateau_rates_are_per_run_in_a_simulation(monkeypatch):
    captured = {}
    original = Learner.update

    def spy(self, pi, action, reward):
        original(self, pi, action, reward)
        captured["rates"] = self.rates()

    monkeypatch.setattr(Learner, "update", spy)
    simulate(RunConfig(runs=64, steps=300,
                       learner=LearnerConfig(schedule="plateau", lr=0.5, patience=20)))
    rates = captured["rates"]
    assert rates.min() < 0.5 * rates.max()
    assert (rates <= 0.5 + 1e-12).all()
    decays = torch.log(rates / 0.5) / math.log(0.5)
    assert torch.allclose(decays, decays.round(), atol=1e-9)  # eta * factor^n, n per run
