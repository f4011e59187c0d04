"""Hostile and degenerate input: points that are not there, second derivatives that disagree
with finite differences, undefined or overflowing f, unbounded boxes, NaN trajectories in
figures, and every JSON strict."""

import numpy as np
import pytest
import torch

from gradgames.errors import ConfigError
from gradgames.files import parse_json
from gradgames.saddle.game import Game
from gradgames.saddle.stability import stability
from tests.conftest import assert_one_line_error


def kinds(text, box=3.0):
    points = Game.from_expression(text).stationary_points(box=box)
    return [(p.x.tolist(), p.y.tolist(), p.kind) for p in points]


@pytest.mark.parametrize(
    "text, box",
    [
        ("exp(50*x) - y**2", 3.0),  # the gradient underflows to the left; no zero anywhere
        ("exp(x) + y**2", 100.0),  # exp(x) > 0: Newton walks left by 1 a step forever
        ("tanh(x) - y**2", 30.0),  # 1 - tanh(x)^2 rounds to 0 beyond |x| = 19
        ("exp(-x) - exp(-y)", 50.0),
    ],
)
def test_functions_without_stationary_points_report_none(text, box):
    assert kinds(text, box) == []


@pytest.mark.parametrize(
    "text",
    [
        "x**4 - y**4",
        "x**6 - y**6",
        "x**2 + y**3",
        "x**10 - y**2",
        "x**12 - y**2",
        "x**100 - y**100",
    ],
)
def test_genuine_degenerate_points_are_kept(text):
    """Zeros of high order too (Newton crawls to them by (k - 1) / k a step; Hessian and
    gradient underflow to exactly zero there)."""
    assert kinds(text) == [([0.0], [0.0], "degenerate")]


def test_types_are_decided_at_the_scale_of_f():
    """A uniformly small f keeps its types (they were all "degenerate" below curvature 1e-9)."""
    unscaled = kinds("x**3 - 3*x + y**3 - 3*y")
    assert [k for *_, k in unscaled] == ["max", "other-saddle", "saddle", "min"]
    assert kinds("1e-10*(x**3 - 3*x + y**3 - 3*y)") == unscaled
    assert not Game(lambda x, y: 1e-13 * (x**4 - y**2).sum(), 1, 1).quadratic


@pytest.mark.parametrize("c", [1e-13, 4e-10, 1e-9, 1e10])
def test_a_tiny_or_huge_quadratic_is_analysed_at_its_own_scale(c):
    """gd never converges on c x^2 - c y^2; every other dynamic does below a step ~ 1/c."""
    from gradgames.saddle import analyze, run

    game = Game.from_expression(f"{c!r}*x**2 - {c!r}*y**2")
    (point,) = analyze(game).points
    assert point.kind == "saddle" and point.stability["gd"].intervals == []
    for method, hi in (("gda", 1.0), ("alt-gda", 1.0), ("ogda", 1 / 3), ("nm-gda", 0.5)):
        assert point.stability[method].intervals == [(0.0, pytest.approx(hi / c, rel=1e-6))]
    assert run(game, "gd", 0.5 / c, 200, [1.0], [1.0]).status == "diverged"
    assert run(game, "alt-gda", 0.1 / c, 400, [1.0], [1.0]).status == "converged"


def finite_difference_hessian(game: Game, z: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central second differences of f's values (no autograd): error O(h^2)."""
    n = len(z)
    out = np.zeros((n, n))

    def f(point):
        p = torch.as_tensor(point, dtype=torch.float64)
        return float(game.value(*game.split(p)))

    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            out[i, j] = (f(z + ei + ej) - f(z + ei - ej) - f(z - ei + ej) + f(z - ei - ej)) / (
                4 * h * h
            )
    return out


@pytest.mark.parametrize(
    "text, point",
    [
        ("x**y", (1.0, 0.0)),  # torch's pow rule zeroes d/dx at exponent 0
        ("x**y", (2.0, 0.5)),
        ("(1 + x**2)**(y/2)", (0.3, 0.0)),
        ("y**x - x*y", (0.0, 1.5)),
        ("exp(x*y) - log(1 + x**2) * y", (0.4, -0.7)),
        ("x/(1 + y**2) + y/(2 + x**2)", (-0.5, 0.25)),
        ("sqrt(x**2 + y**2 + 1) - tanh(x*y)", (0.2, 0.9)),
    ],
)
def test_second_derivatives_agree_with_finite_differences(text, point):
    game = Game.from_expression(text)
    z = np.array(point)
    exact = game.hessian(z[:1], z[1:])
    np.testing.assert_allclose(exact, exact.T, rtol=0, atol=0)
    np.testing.assert_allclose(exact, finite_difference_hessian(game, z), rtol=1e-5, atol=1e-6)


def test_x_to_the_y_has_its_saddle_and_extragradient_converges_there(cli):
    ((x, y, kind),) = kinds("x**y")
    assert (x, y) == ([1.0], [0.0])
    hessian = Game.from_expression("x**y").hessian([1.0], [0.0])
    np.testing.assert_allclose(hessian, [[0.0, 1.0], [1.0, 0.0]], atol=1e-12)
    eg = stability("eg", hessian, 1)
    assert eg.intervals == [(0.0, pytest.approx(1.0, rel=1e-9))]  # as for x*y
    code, out, _ = cli("saddle", "analyze", "--f", "x**y", "--json")
    entry = parse_json(out)["stationary_points"][0]["stability"]
    assert code == 0 and entry["eg"]["intervals"] == [[0.0, pytest.approx(1.0, rel=1e-9)]]
    code, out, _ = cli(
        "saddle",
        "run",
        "--f",
        "x**y",
        "--method",
        "eg",
        "--lr",
        "0.5",
        "--x0",
        "1.2",
        "--y0",
        "0.2",
        "--steps",
        "500",
        "--json",
    )
    assert code == 0 and parse_json(out)["status"] == "converged"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["analyze", "--f", "x/0 - y**2", "--json"], "divides by zero"),
        (["analyze", "--f", "1/0"], "divides by zero"),
        (["run", "--f", "1/0"], "divides by zero"),
        (["analyze", "--f", "exp(1000)*x**2 - y**2"], "exp(1000) is inf"),
        (["analyze", "--f", "1e308*x**2 - 1e308*y**2"], "not finite in float64"),
        (["run", "--f", "1e308*x**2 - 1e308*y**2"], "not finite in float64"),
        (["analyze", "--f", "log(-x**2 - 1) + y"], "not finite at any"),
        (["analyze", "--f", "x**(y**(x**(y**2)))"], "at (1, 0) where its second derivatives"),
        (["analyze", "--box", "1e300"], "--box must lie in (0, 1e+06]"),
        (["map", "--box", "1e300", "--out", "{tmp}/m.png"], "--box must lie"),
        (["run", "--x0", "1,,2"], "--x0 takes comma-separated"),
        (["run", "--y0", "1,,2"], "--y0 takes comma-separated"),
        (["run", "--f", "log(x) + y", "--x0", "-1"], "--x0 and y0 give a start where f = nan"),
        (["compare", "--f", "1/0", "--out", "{tmp}/cmp"], "divides by zero"),
        (["compare", "--f", "log(x) + y", "--x0=-1", "--out", "{tmp}/cmp"], "--x0"),
    ],
)
def test_undefined_input_is_one_line_and_nothing_is_written(cli, tmp_path, argv, fragment):
    argv = [a.format(tmp=tmp_path) for a in argv]
    code, out, err = cli("saddle", *argv)
    assert_one_line_error(code, err, fragment)
    assert out == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("f", ["5", "x", "0*x*y"])
def test_a_constant_or_linear_f_is_analysed_and_run(cli, tmp_path, f):
    code, out, _ = cli("saddle", "analyze", "--f", f, "--json")
    assert code == 0
    parse_json(out)
    code, out, _ = cli(
        "saddle", "run", "--f", f, "--steps", "5", "--json", "--plot", tmp_path / "run.png"
    )
    assert code == 0 and parse_json(out)["steps"] == 5
    code, _, err = cli("saddle", "compare", "--f", f, "--steps", "5", "--out", tmp_path / "c")
    assert code == 0 and err == ""


def test_figures_of_non_finite_trajectories(cli, tmp_path):
    """sqrt(x) jumps below 0 at step 1 (its gradient is then NaN), x*y at lr 1e100 overflows."""
    for f, lr in (("sqrt(x) - y**2", "4"), ("x*y", "1e100")):
        code, out, err = cli(
            "saddle",
            "run",
            "--f",
            f,
            "--lr",
            lr,
            "--bound",
            "1e300",
            "--steps",
            "20",
            "--plot",
            tmp_path / "run.png",
            "--json",
        )
        assert code == 0 and err == "", err
        assert parse_json(out)["status"] == "diverged"
        out_dir = tmp_path / f"cmp-{lr}"
        code, _, err = cli(
            "saddle",
            "compare",
            "--f",
            f,
            "--lr",
            lr,
            "--steps",
            "20",
            "--bound",
            "1e300",
            "--out",
            out_dir,
        )
        assert code == 0 and err == "", err
        parse_json((out_dir / "compare.json").read_text())


def test_library_entry_points_check_their_arguments():
    game = Game.from_expression("x*y")
    from gradgames.saddle import analyze, run, stability_map

    with pytest.raises(ConfigError, match="^lr must be") as info:
        run(game, "gda", -1, 10, [1.0], [1.0])
    assert info.value.field == "lr"
    for kwargs, field in (
        ({"method": "adam"}, "method"),
        ({"steps": 0}, "steps"),
        ({"x0": [float("nan")]}, "x0"),
        ({"x0": [1.0, 2.0]}, "x0"),
        ({"lr_ratio": 0.0}, "lr_ratio"),
        ({"tol": -1.0}, "tol"),
        ({"bound": float("inf")}, "bound"),
        ({"lr": 10**400}, "lr"),
        ({"x0": [10**400]}, "x0"),
        ({"steps": 10**400}, "steps"),
    ):
        args = {"method": "gda", "lr": 0.1, "steps": 10, "x0": [1.0], "y0": [1.0]} | kwargs
        with pytest.raises(ConfigError) as info:
            run(
                game,
                args.pop("method"),
                args.pop("lr"),
                args.pop("steps"),
                args.pop("x0"),
                args.pop("y0"),
                **args,
            )
        assert info.value.field == field
    with pytest.raises(ConfigError, match="^x_dim"):
        Game(lambda x, y: (x * y).sum(), 0, 1)
    for box in (1e300, 10**400):
        with pytest.raises(ConfigError, match="^box"):
            game.stationary_points(box=box)
    with pytest.raises(ConfigError, match="^lr_ratio"):
        analyze(game, lr_ratio=-1.0)
    with pytest.raises(ConfigError, match="^resolution"):
        stability_map("gda", np.eye(2), 1, resolution=1)
    with pytest.raises(ConfigError, match="^resolution must be an integer from 2 to 801"):
        stability_map("gda", np.eye(2), 1, resolution=10**9)
    numpy_run = run(game, "eg", np.float32(0.5), np.int64(400), [np.float32(1.0)], [1.0])
    assert numpy_run.status == "converged"
    with pytest.raises(ConfigError, match="^method"):
        stability("adam", np.eye(2), 1)
    from gradgames.saddle.config import Hyperparameters

    for bad in ({"momentum": 1.0}, {"co_gamma": -1.0}, {"sga_lambda": float("nan")}):
        with pytest.raises(ConfigError, match=f"^{next(iter(bad))}"):
            Hyperparameters(**bad)
