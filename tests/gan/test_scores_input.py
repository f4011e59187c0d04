"""Every score refuses NaN or infinite input, before any LAPACK call, and bad arguments."""

from __future__ import annotations

import pytest
import torch

from gradgames.errors import ConfigError, UsageError
from gradgames.gan.checkpoint import save_weights
from gradgames.gan.models import Generator
from gradgames.gan.scores import (
    NonFiniteError,
    class_histogram,
    fid,
    inception_score,
    kid,
    knn_radii,
    manifold_scores,
    tv_to_uniform,
)
from tests.conftest import assert_one_line_error

NON_FINITE = [float("nan"), float("inf"), float("-inf")]


def features(rows: int = 50, seed: int = 0) -> torch.Tensor:
    return torch.randn(rows, 8, generator=torch.Generator().manual_seed(seed)).double()


def spoiled(value: float, rows=(3,)) -> torch.Tensor:
    x = features()
    x[list(rows), 2] = value
    return x


PAIR_SCORES = {
    "fid": fid,
    "kid": lambda fake, real: kid(fake, real, seed=0, subsets=2),
    "manifold_scores": manifold_scores,
}


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize("side", ["fake", "real"])
@pytest.mark.parametrize("score", PAIR_SCORES.values(), ids=PAIR_SCORES.keys())
def test_pair_scores_refuse_non_finite_features(score, side, value):
    bad, good = spoiled(value, rows=(3, 7)), features(seed=1)
    args = (bad, good) if side == "fake" else (good, bad)
    with pytest.raises(NonFiniteError, match=f"^{side} features are not finite: NaN or "
                       "infinity in 2 of 50 rows"):  # fmt: skip
        score(*args)


@pytest.mark.parametrize("value", NON_FINITE)
def test_single_input_scores_refuse_non_finite_values(value):
    x = spoiled(value)
    checks = [
        (lambda: inception_score(x, seed=0), "logits"),
        (lambda: class_histogram(x), "logits"),
        (lambda: tv_to_uniform(x[:, 2]), "histogram entries"),
        (lambda: knn_radii(x, 3), "features"),
    ]
    for call, name in checks:
        with pytest.raises(NonFiniteError, match=f"^{name} are not finite"):
            call()


def test_the_error_is_a_value_error_and_a_one_line_usage_error():
    with pytest.raises(NonFiniteError) as info:
        fid(spoiled(float("nan")), features())
    assert isinstance(info.value, ValueError) and isinstance(info.value, UsageError)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


@pytest.fixture
def lapack_forbidden(monkeypatch):
    """Makes torch's eigen-solvers (the calls that crashed on NaN) fail loudly if reached."""

    def forbidden(*args, **kwargs):
        raise AssertionError("LAPACK reached")

    for name in ("eigh", "eigvalsh", "eigvals"):
        monkeypatch.setattr(torch.linalg, name, forbidden)


def test_non_finite_input_is_refused_before_lapack(lapack_forbidden):
    with pytest.raises(AssertionError, match="LAPACK reached"):  # the patch is effective
        fid(features(), features(seed=1))
    with pytest.raises(NonFiniteError):
        fid(spoiled(float("nan")), features())


def test_fid_refuses_features_whose_covariance_would_overflow(lapack_forbidden):
    with pytest.raises(NonFiniteError, match="real features are too large"):
        fid(features(), 1e200 * features(seed=1))


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: manifold_scores(features(), features(seed=1), k=0), "k"),
        (lambda: manifold_scores(features(), features(seed=1), batch_size=0), "batch_size"),
        (lambda: knn_radii(features(), k=50), "k"),
        (lambda: kid(features(), features(seed=1), seed=0, subsets=0), "subsets"),
        (lambda: kid(features(), features(seed=1), seed=-1), "seed"),
        (lambda: inception_score(features(), seed=0, splits=0), "splits"),
    ],
)
def test_out_of_range_arguments_are_config_errors_naming_the_argument(call, field):
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.field == field


def test_feature_sets_must_be_matrices_of_one_width_with_two_rows():
    with pytest.raises(ValueError, match="at least 2 rows"):
        manifold_scores(features(rows=1), features())
    with pytest.raises(ValueError, match="differ in width: 8 and 7"):
        fid(features(), features()[:, :7])


def test_cli_evaluate_of_a_generator_with_nan_weights_is_a_one_line_error(tmp_path, cli):
    generator = Generator()
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.fill_(float("nan"))
    path = tmp_path / "generator.pt"
    save_weights(path, generator, "generator")
    code, out, err = cli("gan", "evaluate", "--checkpoint", path, "--num", 20)
    assert_one_line_error(code, err, "generator.pt holds non-finite weights")
    assert not out
