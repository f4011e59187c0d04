"""Dynamics: each step against its formula, the assignment's rates by running, statuses."""

import json
import math

import numpy as np
import pytest
import torch

from gradgames.errors import UsageError
from gradgames.saddle.config import METHODS
from gradgames.saddle.dynamics import STEPS, observed_rate, run, run_many
from gradgames.saddle.game import Game
from gradgames.saddle.stability import update_matrix

ASSIGNMENT = Game.from_expression("4*x**2 - 4*y**2")


def t(*values):
    return torch.tensor(values, dtype=torch.float64)


def test_each_step_follows_its_formula():
    game = Game.from_expression("x*y + 0.5*x**2")  # gx = y + x, gy = x
    x, y, lr = t(1.0), t(2.0), 0.1
    steps = {name: fn(game, x, y, lr, lr, None) for name, fn in STEPS.items()}
    expected = {
        "gda": (1 - 0.1 * 3, 2 + 0.1 * 1),
        "alt-gda": (0.7, 2 + 0.1 * 0.7),
        "gd": (0.7, 2 - 0.1 * 1),
        "eg": (1 - 0.1 * (2.1 + 0.7), 2 + 0.1 * 0.7),  # gradients at (0.7, 2.1)
        "ogda": (0.7, 2.1),  # the first step is a gda step
    }
    for name, (ex, ey) in expected.items():
        assert steps[name][0].item() == pytest.approx(ex, rel=1e-14)
        assert steps[name][1].item() == pytest.approx(ey, rel=1e-14)
    x1, y1, memory = steps["ogda"]
    x2, y2, _ = STEPS["ogda"](game, x1, y1, lr, lr, memory)  # z - lr (2 F(z) - F(z_prev))
    assert (x2.item(), y2.item()) == pytest.approx(
        (0.7 - 0.1 * (2 * 2.8 - 3), 2.1 + 0.1 * (1.4 - 1))
    )


@pytest.mark.parametrize("method", ["gda", "alt-gda", "gd", "eg", "ogda"])
def test_one_step_on_a_quadratic_is_the_linearised_update(method):
    game = Game.from_expression("x1*y1 + 0.3*x1**2 + 0.7*x2**2 - 0.2*y1**2 + x2*y1 + 0.4*x1*x2")
    h = game.hessian(np.zeros(2), np.zeros(1))
    r = run(game, method, 0.2, 2, [1.0, -0.5], [0.8], tol=0.0)
    e0, e1, e2 = r.trajectory
    if method == "ogda":
        companion = update_matrix("ogda", h, 2, 0.2)
        np.testing.assert_allclose(companion @ np.concatenate([e1, e0]), np.concatenate([e2, e1]))
    else:
        np.testing.assert_allclose(update_matrix(method, h, 2, 0.2) @ e0, e1, rtol=1e-13)


@pytest.mark.parametrize("eta", [0.01, 0.05, 0.1, 0.2, 0.24, 0.26, 0.3])
def test_gda_distance_after_n_steps_is_the_closed_form(eta):
    r = run(ASSIGNMENT, "gda", eta, 30, [1.0], [-2.0], tol=0.0, bound=1e12)
    n = np.arange(len(r.distances))
    np.testing.assert_allclose(r.distances, math.sqrt(5) * abs(1 - 8 * eta) ** n, rtol=1e-12)
    assert r.status == "max-steps" and r.steps == 30
    assert observed_rate(r) == pytest.approx(abs(1 - 8 * eta), rel=1e-12)


def test_gda_at_the_best_step_size_lands_on_the_saddle_in_one_step():
    r = run(ASSIGNMENT, "gda", 0.125, 50, [3.0], [-1.5], tol=0.0)
    assert r.status == "converged" and r.steps == 1
    assert r.x.tolist() == [0.0] and r.y.tolist() == [0.0]


@pytest.mark.parametrize("eta", [0.01, 0.1, 0.2])
def test_gd_on_both_variables_blows_up_y_by_one_plus_8_eta(eta):
    r = run(ASSIGNMENT, "gd", eta, 500, [1.0], [1e-3], tol=1e-8)
    y = r.trajectory[:, 1]
    np.testing.assert_allclose(y[1:] / y[:-1], 1 + 8 * eta, rtol=1e-12)
    assert r.status == "diverged"
    first_out = next(
        k
        for k in range(1, 10_000)
        if np.hypot(abs(1 - 8 * eta) ** k, 1e-3 * (1 + 8 * eta) ** k) > 1e6
    )
    assert r.diverged_at == first_out
    again = run(ASSIGNMENT, "gd", eta, 500, [1.0], [0.0], tol=1e-8)  # y0 = 0 exactly
    assert again.status == "converged"


def test_statuses_and_steps():
    r = run(ASSIGNMENT, "gda", 0.1, 200, [1.0], [1.0])  # |1 - 0.8| = 0.2 per step
    expected = next(k for k in range(100) if math.sqrt(2) * 0.2**k <= 1e-8)
    assert (r.status, r.steps, r.diverged_at) == ("converged", expected, None)
    r = run(ASSIGNMENT, "gda", 0.01, 5, [1.0], [1.0])
    assert (r.status, r.steps, len(r.trajectory)) == ("max-steps", 5, 6)


def test_non_finite_iterates_are_a_status_not_a_crash():
    game = Game.from_expression("sqrt(x) - y**2")  # x jumps below 0, then sqrt's gradient is nan
    r = run(game, "gda", 4.0, 50, [1.0], [1.0], target=[0.0, 0.0])
    assert r.status == "diverged" and r.diverged_at == 2
    assert np.all(np.isfinite(r.trajectory)) and len(r.trajectory) == 2
    json.dumps(r.to_dict(trajectory=True), allow_nan=False)
    huge = run(ASSIGNMENT, "eg", 1e150, 10, [1.0], [1.0])
    assert huge.status == "diverged" and huge.diverged_at == 1
    json.dumps(huge.to_dict(trajectory=True), allow_nan=False)


def test_run_many_equals_separate_runs():
    game = Game.from_expression("x*y + 0.2*x**2 - 0.1*y**2")
    etas = [0.05, 0.9, 3.0]
    for method in METHODS:
        batch = run_many(game, method, etas, 60, [0.5], [-1.0], bound=1e4)
        for eta, got in zip(etas, batch, strict=True):
            want = run(game, method, eta, 60, [0.5], [-1.0], bound=1e4)
            assert (got.status, got.steps, got.diverged_at) == (
                want.status,
                want.steps,
                want.diverged_at,
            )
            np.testing.assert_allclose(got.trajectory, want.trajectory, rtol=1e-13)


def test_bilinear_game_gda_spirals_out_and_eg_converges():
    game = Game.from_expression("x*y")
    gda = run(game, "gda", 0.5, 1000, [1.0], [1.0])
    assert gda.status == "diverged"
    assert observed_rate(gda) == pytest.approx(math.sqrt(1 + 0.5**2), rel=1e-9)
    eg = run(game, "eg", 0.5, 1000, [1.0], [1.0])
    assert eg.status == "converged"
    assert observed_rate(eg) == pytest.approx(math.sqrt(1 - 0.25 + 0.0625), rel=1e-6)


def test_vector_game_converges_to_its_saddle():
    game = Game.from_expression("x1*y1 + x2*y2 + (x1 - 1)**2 + 0.5*x2**2 - y1**2 - 0.5*(y2 - 2)**2")
    (point,) = game.stationary_points()
    assert point.kind == "saddle"
    for method in ("gda", "eg", "ogda", "alt-gda"):
        r = run(game, method, 0.2, 2000, [0.0, 0.0], [0.0, 0.0])
        assert r.status == "converged", method
        np.testing.assert_allclose(np.concatenate([r.x, r.y]), point.z, atol=1e-7)


def test_unknown_method_is_a_usage_error():
    with pytest.raises(UsageError, match="method must be one of"):
        run(ASSIGNMENT, "adam", 0.1, 10, [1.0], [1.0])
