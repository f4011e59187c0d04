"""Sample-quality scores in the classifier's feature space, and the evaluate command."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import scipy.linalg
import torch
from torchmetrics.image.fid import FrechetInceptionDistance

from gradgames.cli import ArgumentParser, subcommands
from gradgames.errors import ConfigError
from gradgames.gan.checkpoint import save_weights
from gradgames.gan.cli_eval import register_commands
from gradgames.gan.data import load_fashion_mnist
from gradgames.gan.metrics import (
    embed,
    evaluate_checkpoint,
    evaluate_generator,
    evaluate_images,
    real_reference,
)
from gradgames.gan.models import Generator
from gradgames.gan.results import SCORES, Evaluation
from gradgames.gan.scores import (
    class_histogram,
    fid,
    inception_score,
    kid,
    manifold_scores,
    tv_to_uniform,
)
from tests.gan.fid_reference import ClassifierFeatures, frechet_distance, gaussian_fit, sqrtm_psd

N = 2000  # generated images in the slower tests


@pytest.fixture(scope="module")
def reference():
    return real_reference("cpu")


@pytest.fixture(scope="module")
def untrained(reference):
    torch.manual_seed(0)
    return evaluate_generator(Generator(), num_samples=N, real=reference)


def random_psd(d: int, rank: int, seed: int) -> torch.Tensor:
    a = torch.randn(d, rank, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return a @ a.T


@pytest.mark.parametrize("rank", [64, 20])
def test_matrix_square_root_matches_scipy(rank):
    s = random_psd(64, rank, seed=rank)
    ours = sqrtm_psd(s)
    theirs = torch.from_numpy(scipy.linalg.sqrtm(s.numpy()).real)
    assert torch.allclose(ours @ ours, s, atol=1e-8 * s.abs().max())
    assert torch.allclose(ours, theirs, atol=1e-5 * theirs.abs().max())


def test_frechet_distance_matches_the_closed_form_and_torchmetrics():
    mu1, mu2 = torch.zeros(4, dtype=torch.float64), torch.tensor([1.0, 0, 2, 0]).double()
    var1, var2 = torch.tensor([1.0, 4, 9, 1]).double(), torch.tensor([4.0, 1, 1, 1]).double()
    closed = float((mu1 - mu2).square().sum() + (var1 + var2 - 2 * (var1 * var2).sqrt()).sum())
    assert frechet_distance(mu1, var1.diag(), mu2, var2.diag()) == pytest.approx(closed)
    stream = torch.Generator().manual_seed(0)
    x = torch.randn(3000, 16, generator=stream, dtype=torch.float64)
    y = 1.5 * torch.randn(2000, 16, generator=stream, dtype=torch.float64) + 0.3
    assert fid(x, y) == pytest.approx(frechet_distance(*gaussian_fit(x), *gaussian_fit(y)))


def test_fid_of_a_set_with_itself_is_zero_and_fid_is_symmetric(reference):
    test = reference.test.features
    assert abs(fid(test, test)) < 1e-6
    a, b = test[:5000], test[5000:]
    assert fid(a, b) == pytest.approx(fid(b, a), rel=1e-6)
    assert fid(a, b) > 1e-3


def test_fid_through_the_classifier_as_a_torchmetrics_feature_module(reference):
    test = load_fashion_mnist("test").images
    metric = FrechetInceptionDistance(feature=ClassifierFeatures(reference.classifier))
    for images, real in ((test[:1000], True), (test[1000:2000], False)):
        metric.update(images.float() / 127.5 - 1, real=real)
    expected = fid(reference.test.features[1000:2000], reference.test.features[:1000])
    assert float(metric.compute()) == pytest.approx(expected, rel=1e-4)


def test_the_real_floor_is_far_below_noise_and_an_untrained_generator(reference, untrained):
    noise = torch.rand(N, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    noisy = evaluate_images(noise, real=reference)
    floor, fake, noise = untrained.floor, untrained.generated, noisy.generated
    assert floor == noisy.floor  # same size, same seed: the cached floor
    assert 0 < floor.fid < noise.fid / 100
    assert floor.fid < fake.fid / 10
    assert floor.kid < fake.kid / 10
    assert noise.precision < 0.1 and noise.coverage < 0.05
    assert fake.recall < 0.05 and fake.coverage < 0.05
    assert floor.precision > 0.6 and floor.recall > 0.6 and floor.coverage > 0.6


def test_evaluation_reports_every_documented_key(untrained):
    record = untrained.to_dict()
    assert {"generated", "floor", "num_samples", "classifier_test_accuracy",
            "feature_space"} <= record.keys()  # fmt: skip
    for scores in (record["generated"], record["floor"]):
        assert {s.name for s in SCORES} | {"class_histogram"} <= scores.keys()
        assert len(scores["class_histogram"]) == 10
        assert sum(scores["class_histogram"]) == pytest.approx(1.0)
        assert all(math.isfinite(v) for v in scores.values() if isinstance(v, float))
    assert untrained.num_samples == N
    assert "not comparable with Inception" in untrained.feature_space
    assert untrained.classifier_test_accuracy >= 0.92
    assert Evaluation.from_dict(json.loads(json.dumps(record))) == untrained


def test_class_histogram_of_the_real_test_set_is_near_uniform(reference):
    histogram = class_histogram(reference.test.logits)
    assert tv_to_uniform(histogram) < 0.03
    assert histogram.min() > 0.07


def test_class_histogram_and_tv_distance_closed_forms():
    one_class = torch.zeros(7, 10).index_fill_(1, torch.tensor([3]), 5.0)
    assert class_histogram(one_class).tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert tv_to_uniform(class_histogram(one_class)) == pytest.approx(0.9)
    assert tv_to_uniform(torch.full((10,), 0.1, dtype=torch.float64)) == pytest.approx(0.0)


def test_inception_score_spans_one_to_ten():
    confident = 50.0 * torch.eye(10, dtype=torch.float64).repeat(100, 1)  # (1000, 10)
    assert inception_score(confident, seed=0, splits=1)[0] == pytest.approx(10.0, rel=1e-6)
    assert 9 < inception_score(confident, seed=0)[0] < 10  # 10 splits: uneven class counts
    collapsed = torch.zeros(1000, 10, dtype=torch.float64).index_fill_(1, torch.tensor([0]), 50.0)
    assert inception_score(collapsed, seed=0)[0] == pytest.approx(1.0, abs=1e-9)
    p = torch.softmax(torch.randn(500, 10, generator=torch.Generator().manual_seed(0)), 1)
    entropy = -(p * p.log()).sum(1)
    mean = p.mean(0)
    closed = math.exp(float(-(mean * mean.log()).sum() - entropy.mean()))
    assert inception_score(p.log().double(), seed=0, splits=1)[0] == pytest.approx(closed)


def test_kid_is_near_zero_between_real_halves_and_large_for_a_shifted_set(reference):
    a, b = reference.test.features[::2], reference.test.features[1::2]
    same, _ = kid(a, b, seed=0, subsets=10)
    shifted, _ = kid(a + a.std(0), b, seed=0, subsets=10)
    assert abs(same) < 0.02 * shifted
    assert kid(a, b, seed=0, subsets=10) == kid(a, b, seed=0, subsets=10)
    exact = kid(a, b, seed=0, subsets=10, dtype=torch.float64)
    assert kid(a, b, seed=0, subsets=10) == pytest.approx(exact, rel=1e-4, abs=1e-6)


def test_precision_recall_of_the_real_set_against_itself_is_one(reference):
    test = reference.test.features
    assert precision_recall(test[:5000], test[:5000]) == (1.0, 1.0)
    precision, recall = precision_recall(test[:5000], test[5000:])
    assert precision > 0.7 and recall > 0.7


def test_manifold_scores_detect_mode_collapse(reference):
    real = reference.test.features[:2000]
    collapsed = real[:1].repeat(2000, 1) + 1e-3 * torch.randn(2000, real.shape[1]).double()
    result = manifold_scores(collapsed, real)
    assert result["precision"] == 1.0  # inside the ball of the one real point it copies
    assert result["recall"] < 0.01 and result["coverage"] < 0.01


def test_manifold_scores_match_a_plain_loop():
    stream = torch.Generator().manual_seed(1)
    fake, real = torch.randn(40, 3, generator=stream), torch.randn(50, 3, generator=stream) + 0.5

    def radii(points, k=3):
        return [sorted(float((p - q).norm()) for q in points)[k] for p in points]

    real_r, fake_r = radii(real), radii(fake)

    def balls(q, support, r):
        return sum(float((q - s).norm()) <= r[j] for j, s in enumerate(support))

    expected = {
        "precision": sum(balls(f, real, real_r) > 0 for f in fake) / len(fake),
        "recall": sum(balls(r, fake, fake_r) > 0 for r in real) / len(real),
        "density": sum(balls(f, real, real_r) for f in fake) / (3 * len(fake)),
        "coverage": sum(
            any(float((r - f).norm()) <= real_r[i] for f in fake) for i, r in enumerate(real)
        ) / len(real),
    }  # fmt: skip
    assert manifold_scores(fake, real, batch_size=7) == pytest.approx(expected)
    assert precision_recall(fake, real) == (expected["precision"], expected["recall"])


def test_evaluation_is_seeded_and_leaves_generator_mode_and_global_rng_alone(reference):
    torch.manual_seed(1)
    generator = Generator().train()
    rng = torch.get_rng_state()
    first = evaluate_generator(generator, num_samples=100, seed=5, real=reference)
    assert torch.equal(torch.get_rng_state(), rng)  # training randomness is left alone
    second = evaluate_generator(generator, num_samples=100, seed=5, real=reference)
    other = evaluate_generator(generator, num_samples=100, seed=6, real=reference)
    assert generator.training
    assert replace(first, seconds=0) == replace(second, seconds=0)
    assert other.generated.fid != first.generated.fid


@pytest.mark.parametrize("num", [1, 60_001])
def test_sample_sizes_outside_two_to_sixty_thousand_are_refused(num, reference):
    with pytest.raises(ConfigError, match="^num_samples must be an integer from 2 to 60,000"):
        evaluate_generator(Generator(), num_samples=num, real=reference)


def test_embedding_accepts_pixels_or_unit_range(reference):
    images = load_fashion_mnist("test").images[:64]
    from_pixels = embed(reference.classifier, [images])
    from_floats = embed(reference.classifier, [images.float() / 127.5 - 1])
    assert torch.allclose(from_pixels.features, from_floats.features)


@pytest.fixture
def generator_file(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "generator.pt"
    save_weights(path, Generator(), "generator")
    return path


def test_evaluate_checkpoint_loads_a_generator_file(generator_file, reference):
    result = evaluate_checkpoint(generator_file, num_samples=50, real=reference)
    assert result.num_samples == 50 and result.generated.fid > result.floor.fid


def test_a_training_checkpoint_evaluates_like_its_generator_weights(tmp_path, reference):
    from gradgames.gan import TrainConfig, train

    out = tmp_path / "run"
    train(TrainConfig(out=out, subset=128, epochs=1, progress=False, eval_epochs=()))
    from_checkpoint = evaluate_checkpoint(out / "checkpoints" / "last.pt", num_samples=50,
                                          real=reference)  # fmt: skip
    from_weights = evaluate_checkpoint(out / "generator.pt", num_samples=50, real=reference)
    assert from_checkpoint.generated == from_weights.generated


def test_cli_evaluate_json_has_every_key(generator_file, cli):
    code, out, _ = cli("gan", "evaluate", "--checkpoint", generator_file, "--num", 40, "--json")
    assert code == 0
    result = json.loads(out)
    for scores in (result["generated"], result["floor"]):
        assert {s.name for s in SCORES} | {"class_histogram"} <= scores.keys()
    assert "classifier_test_accuracy" in result
    assert result["num_samples"] == 40 and result["checkpoint"] == str(generator_file)


def test_cli_evaluate_table_labels_the_feature_space(generator_file, cli):
    code, out, _ = cli("gan", "evaluate", "--checkpoint", generator_file, "--num", 40)
    assert code == 0
    assert "not comparable with Inception" in out
    assert "FID" in out and "real floor" in out and "Sneaker" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--num", 1), "--num must be an integer from 2 to 60,000"),
        (("--batch-size", 0), "--batch-size must be an integer from 1 to 10,000"),
        ((), "does not exist"),
    ],
)
def test_cli_evaluate_bad_arguments_are_one_line_errors(tmp_path, cli, args, fragment):
    missing = tmp_path / "nothing.pt"
    code, out, err = cli("gan", "evaluate", "--checkpoint", missing, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and fragment in lines[0] and not out


def test_cli_train_classifier_writes_verifiable_weights(tmp_path, cli):
    out = tmp_path / "clf.pt"
    code, stdout, _ = cli("gan",
        "train-classifier", "--out", out, "--epochs", 1, "--train-images", 64, "--batch-size", 32
    )
    assert code == 0 and "test accuracy" in stdout
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["command"].endswith(f"--out {out} --epochs 1 --batch-size 32 --train-images 64")
    from gradgames.gan.classifier import load_classifier

    assert load_classifier(out).num_features == 128


def test_parser_built_by_hand_runs_evaluate(generator_file, capsys):
    parser = ArgumentParser(prog="gradgames gan")
    register_commands(subcommands(parser))
    args = parser.parse_args(["evaluate", "--checkpoint", str(generator_file), "--num", "30"])
    assert args.func(args) == 0
    assert "30 generated" in capsys.readouterr().out


def precision_recall(fake, real):
    scores = manifold_scores(fake, real)
    return scores["precision"], scores["recall"]
