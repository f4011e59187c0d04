"""Games: autograd derivatives, stationary points and their classification."""

import numpy as np
import pytest
import torch
from scipy.optimize import approx_fprime

from gradgames.errors import UsageError
from gradgames.saddle.game import Game, classify


def kinds(game):
    return [(p.x.tolist(), p.y.tolist(), p.kind) for p in game.stationary_points()]


def test_assignment_game():
    game = Game.from_expression("4*x**2 - 4*y**2")
    assert game.quadratic and (game.x_dim, game.y_dim) == (1, 1)
    gx, gy = game.gradients(torch.tensor([0.3], dtype=torch.float64), torch.tensor([-2.0]))
    assert gx.tolist() == [8 * 0.3] and gy.tolist() == [-8 * -2.0]
    np.testing.assert_array_equal(game.hessian([0.3], [-2.0]), [[8.0, 0.0], [0.0, -8.0]])
    assert kinds(game) == [([0.0], [0.0], "saddle")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x**2 + y**2", "min"),
        ("-x**2 - y**2", "max"),
        ("x**2 - y**2", "saddle"),
        ("-x**2 + y**2", "other-saddle"),
        ("x*y", "saddle"),
        ("x**2 + 3*x*y + y**2", "other-saddle"),
        ("x**2", "degenerate"),
    ],
)
def test_classifier_on_quadratics(text, expected):
    (point,) = Game.from_expression(text).stationary_points()
    assert point.kind == expected


def test_classifier_from_hessian_blocks():
    assert classify(np.diag([2.0, 3.0, -1.0]), 2) == "saddle"
    assert classify(np.diag([2.0, -3.0, -1.0]), 1) == "saddle"
    assert classify(np.diag([2.0, 3.0, 1.0]), 2) == "min"
    assert classify(np.diag([-2.0, -3.0, -1.0]), 2) == "max"
    assert classify(np.diag([-2.0, 3.0]), 1) == "other-saddle"
    assert classify(np.diag([2.0, -3.0, 1.0]), 2) == "other-saddle"
    assert classify(np.diag([2.0, 0.0]), 1) == "degenerate"
    bilinear = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert classify(bilinear, 1, quadratic=True) == "saddle"
    assert classify(bilinear, 1, quadratic=False) == "degenerate"


def test_non_quadratic_points_by_newton():
    game = Game.from_expression("x**3 - 3*x + y**3 - 3*y")
    assert not game.quadratic
    assert kinds(game) == [
        ([-1.0], [-1.0], "max"),
        ([-1.0], [1.0], "other-saddle"),
        ([1.0], [-1.0], "saddle"),
        ([1.0], [1.0], "min"),
    ]
    (point,) = Game.from_expression("x**4 - y**4").stationary_points()
    assert point.kind == "degenerate" and np.abs(point.z).max() < 1e-6


def test_newton_points_are_stationary_and_distinct():
    game = Game.from_expression("sin(x)*cos(y) + 0.1*x*y")
    points = game.stationary_points(box=3.0)
    assert len(points) >= 3
    for p in points:
        gx, gy = game.gradients(torch.as_tensor(p.x), torch.as_tensor(p.y))
        assert torch.cat([gx, gy]).abs().max() < 1e-8
        assert np.abs(p.z).max() <= 3.0
    zs = np.stack([p.z for p in points])
    gaps = np.linalg.norm(zs[:, None] - zs[None], axis=-1) + np.eye(len(zs))
    assert gaps.min() > 1e-6


def test_gradients_match_finite_differences():
    game = Game.from_expression("sin(x1)*y1 + exp(x2*y2/3) - log(1 + y1**2) + tanh(x1*x2)")
    z0 = np.array([0.3, -0.7, 1.1, 0.4])

    def f(z):
        t = torch.as_tensor(z, dtype=torch.float64)
        return float(game.value(t[:2], t[2:]))

    gx, gy = game.gradients(torch.as_tensor(z0[:2]), torch.as_tensor(z0[2:]))
    np.testing.assert_allclose(torch.cat([gx, gy]).numpy(), approx_fprime(z0, f, 1e-7), atol=1e-6)
    rows = [approx_fprime(z0, lambda z, i=i: _grad(game, z)[i], 1e-6) for i in range(4)]
    np.testing.assert_allclose(game.hessian(z0[:2], z0[2:]), np.array(rows), atol=1e-5)


def _grad(game, z):
    t = torch.as_tensor(z, dtype=torch.float64)
    return torch.cat(game.gradients(t[:2], t[2:])).numpy()


def test_vector_game_from_a_torch_function_matches_its_expression():
    a = torch.tensor([[1.0, 0.5], [0.0, 2.0]], dtype=torch.float64)

    def f(x, y):
        return x @ a @ y + (x - torch.tensor([1.0, -2.0])).pow(2).sum() - 0.5 * y.pow(2).sum()

    game = Game(f, 2, 2)
    text = "x1*y1 + 0.5*x1*y2 + 2*x2*y2 + (x1 - 1)**2 + (x2 + 2)**2 - 0.5*y1**2 - 0.5*y2**2"
    twin = Game.from_expression(text)
    assert game.quadratic and twin.quadratic
    z = torch.tensor([0.3, -1.2, 0.8, 2.0], dtype=torch.float64)
    np.testing.assert_allclose(game.hessian(z[:2], z[2:]), twin.hessian(z[:2], z[2:]))
    (p,) = game.stationary_points()
    (q,) = twin.stationary_points()
    hessian = p.hessian
    g0 = np.concatenate([t.numpy() for t in game.gradients(torch.zeros(2), torch.zeros(2))])
    np.testing.assert_allclose(p.z, np.linalg.solve(hessian, -g0), atol=1e-12)
    np.testing.assert_allclose(p.z, q.z, atol=1e-12)
    assert p.kind == q.kind == "saddle"


def test_quadratic_detection_of_plain_functions():
    assert Game(lambda x, y: (x * y).sum() + x.pow(2).sum(), 1, 1).quadratic
    assert not Game(lambda x, y: torch.cos(x).sum() * y.sum(), 1, 1).quadratic


def test_a_linear_f_has_no_stationary_point():
    assert Game.from_expression("x + 2*y").stationary_points() == []


def test_function_must_return_a_scalar():
    with pytest.raises(UsageError, match="scalar per point"):
        Game(lambda x, y: x * y, 2, 2)
