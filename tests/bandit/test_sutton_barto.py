"""Sutton & Barto's Figures 2.5 and 2.6 (2nd ed., section 2.8), reproduced and checked.

What "the book's curves" are here: no numeric table of the printed curves exists and their
images could not be read in this project's sessions, so each value is checked against the
book's own procedure simulated independently (``sutton_barto.book_procedure``: NumPy, NumPy's
random numbers, the baseline including R_t as the book's footnote says its figures' did), and
against the one value a source gives in words (the with-baseline curve at alpha = 0.1 ends
"over 80%": a reader comparing the printed figure, stats.stackexchange.com question 324973).

Noise: each value's standard error over its 2000 runs: for Figure 2.5 the per-step binomial
error at the last step, sqrt(p (1 - p) / 2000) = 0.008 to 0.011 (an upper bound for the mean of
the last 50 steps, whose steps are positively correlated); for Figure 2.6 the sample standard
deviation of the runs' average rewards / sqrt(2000) = 0.013 to 0.017. Measured by hand: over
seeds 0 to 5 (6 x 2000 runs) the standard deviation of each value was 0.008 to 0.013, within
the +-32% to which six values pin a standard deviation down. Two estimates agree when they
differ by less than three standard errors of the difference, 3 sqrt(se^2 + se_book^2)
(0.035 to 0.070): the chance that a correct implementation fails one of the 12 comparisons is
about 3%; the seeds are fixed, so the test is deterministic.
"""

import math
from pathlib import Path

import numpy as np
import pytest

from gradgames.bandit import sutton_barto
from gradgames.bandit.config import BanditConfig, LearnerConfig, RunConfig, StudyConfig
from gradgames.bandit.experiment import simulate, summary
from gradgames.bandit.monitor import Z95
from gradgames.bandit.results import StudyResult
from gradgames.files import read_json


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> StudyResult:
    from gradgames.bandit.study import run_study

    return run_study(StudyConfig(preset="sutton-barto"), tmp_path_factory.mktemp("sb") / "out")


def _points(study: StudyResult, figure: str) -> dict:
    return {p.setting: p for p in study.book if p.figure == figure}


@pytest.mark.slow
def test_figure_2_5_is_the_books_within_the_noise_of_2000_runs(study):
    """The textbook baseline (R_bar_1 = R_1) reproduces all four curves' ends. With b_1 = 0,
    alpha = 0.4 with baseline ended at 0.657 against the book's 0.722 (tolerance 0.043)."""
    points = _points(study, "2.5")
    assert len(points) == 4
    for p in points.values():
        assert p.agrees, p
    top = points["alpha=0.1 with baseline"]
    assert top.measured - 3 * top.noise > 0.80  # "over 80%"
    for without in ("alpha=0.1 without baseline", "alpha=0.4 without baseline"):
        for with_ in ("alpha=0.1 with baseline", "alpha=0.4 with baseline"):
            gap = points[with_].measured - points[without].measured
            assert gap > 3 * math.hypot(points[with_].noise, points[without].noise)


@pytest.mark.slow
def test_figure_2_6_is_the_books_where_the_two_baselines_agree(study):
    """Up to alpha = 1 the book's definition (R_t excluded) and its figures' variant (R_t
    included) give the same curve within the noise; at alpha = 2 and 4 the definition's larger
    first steps (t / (t - 1) times the variant's) end lower, by more than the noise."""
    points = _points(study, "2.6")
    assert [p.setting for p in points.values()] == [
        f"alpha={sutton_barto.alpha_text(a)}" for a in sutton_barto.ALPHAS_2_6
    ]
    for alpha in sutton_barto.ALPHAS_2_6:
        p = points[f"alpha={sutton_barto.alpha_text(alpha)}"]
        assert p.agrees if alpha <= 1 else p.measured < p.book - p.tolerance, p
    best = max(points.values(), key=lambda p: p.measured)
    assert best.setting in ("alpha=1/8", "alpha=1/4")


@pytest.mark.parametrize("alpha", [2.0, 4.0])
def test_with_the_figures_baseline_large_steps_agree_too(alpha):
    """baseline="mean-inclusive" is the footnote's variant: it matches the book's procedure
    where the textbook definition does not."""
    run = RunConfig(learner=LearnerConfig(lr=alpha, baseline="mean-inclusive"),
                    bandit=BanditConfig())  # fmt: skip
    s = summary(simulate(run))
    _, book = sutton_barto.book_procedure(alpha, True, 0.0)
    se, book_se = s.average_reward_ci95 / Z95, book.std(ddof=1) / math.sqrt(book.size)
    assert abs(s.average_reward - book.mean()) < 3 * math.hypot(se, book_se)


def test_the_study_writes_figures_csv_markdown_and_strict_json(study):
    paths = study.paths
    for name in ("figure_2_5", "figure_2_6"):
        assert Path(paths[name]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    curves = np.genfromtxt(paths["figure_2_5_csv"], delimiter=",", names=True)
    assert len(curves) == 1000 and "alpha_01_with_baseline_optimal_action" in curves.dtype.names
    parameter = np.genfromtxt(paths["figure_2_6_csv"], delimiter=",", names=True)
    np.testing.assert_allclose(parameter["log2_alpha"], np.arange(-5, 3))
    markdown = Path(paths["markdown"]).read_text()
    assert "| 2.5 | alpha=0.4 with baseline |" in markdown and "| full | alpha=1/32 |" in markdown
    again = StudyResult.from_dict(read_json(paths["json"]))
    assert again == study


def test_the_preset_refuses_the_step_size_settings_it_does_not_use(cli, tmp_path):
    code, _, err = cli("bandit", "study", "--preset", "sutton-barto", "--lr-adaptive", "0.3",
                       "--out", tmp_path / "s")  # fmt: skip
    assert code == 2 and "--lr-adaptive does not apply" in err
    assert not (tmp_path / "s").exists()
