"""`gradgames reproduce --quick --seeds 2` at a tiny size: Part 3 over two seeds through
`gan sweep`, their statistics in the report, and the report's form (contents, grids, maths,
zeros, durations, no table twice)."""

import json
import re
import shutil
import statistics
from pathlib import Path

import pytest
from scipy import stats

from gradgames.cli import main
from gradgames.gan.results import SCORES
from gradgames.report import GRID_WIDTH
from gradgames.reproduce import ReproduceConfig
from tests.conftest import assert_one_line_error

# Part 3 in 8 steps per seed and one evaluation of 200 images; Parts 1 and 2 in seconds
TINY = dict(bandit_runs=2, bandit_steps=10, gan_epochs=1, gan_subset=512, gan_snapshots=(1,),
            eval_samples=200)  # fmt: skip


def run(*args) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seeds") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ReproduceConfig, "sizes", lambda self: TINY)
        code = run("reproduce", "--quick", "--seeds", "2", "--out", out, "--device", "cpu",
                   "--no-progress")  # fmt: skip
    assert code == 0
    return out


def test_two_seeds_train_through_the_sweep_and_the_report_gives_their_statistics(seeds_run):
    """Seed 0 and seed 1 are the sweep's runs; the report's mean and interval of each final
    score are those of the seeds' own evaluations.json, and the FID ratio is paired by seed."""
    out = seeds_run
    gan = out / "part3-gan"
    assert json.loads((gan / "sweep.json").read_text())["seeds"] == [0, 1]
    finals = [json.loads((gan / "default" / f"seed-{s}" / "evaluations.json").read_text())[-1]
              for s in (0, 1)]  # fmt: skip
    markdown = (out / "report.md").read_text()
    section = markdown.split("### Over 2 seeds (0, 1)")[1]
    for s in SCORES:
        cells = []
        for who in ("generated", "ema"):
            values = [f[who][s.name] for f in finals]
            mean, sem = statistics.mean(values), stats.sem(values)
            low, high = (mean, mean) if sem == 0 else stats.t.interval(0.95, 1, mean, sem)
            d = s.digits
            cells.append(f"{mean:.{d}f} [{low:.{d}f}, {high:.{d}f}]")
        assert f"| {s.label} | {cells[0]} | {cells[1]} |" in section, s.label
    ratio = statistics.mean(f["ema"]["fid"] / f["generated"]["fid"] for f in finals)
    assert f"(below 1: the EMA is better): **{ratio:.3f} [" in section
    record = json.loads((out / "reproduce.json").read_text())["parts"]["gan"]
    assert record["seeds"]["plan"]["seeds"] == [0, 1] and record["seeds"]["failed"] == []
    assert record["training"]["run_dir"] == str(gan / "default" / "seed-0")
    assert (gan / "default" / "seed-0" / "weights.json").is_file()
    assert "part3-gan/default/seed-0/samples/epoch_001_ema.png" in markdown


def test_resume_keeps_finished_seeds_and_refuses_other_seeds(seeds_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(seeds_run, out)
    first = out / "part3-gan" / "default" / "seed-0" / "generator.pt"
    before = first.stat().st_mtime_ns, first.read_bytes()
    (out / "part3-gan" / "default" / "seed-1" / "summary.json").unlink()  # stopped at its end
    code = run("reproduce", "--out", out, "--resume", "--seeds", "3")
    assert code == 2 and not (out / "part3-gan" / "default" / "seed-2").exists()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ReproduceConfig, "sizes", lambda self: TINY)
        assert run("reproduce", "--out", out, "--resume", "--no-progress") == 0
    assert (first.stat().st_mtime_ns, first.read_bytes()) == before
    assert (out / "part3-gan" / "default" / "seed-1" / "summary.json").is_file()
    assert "### Over 2 seeds (0, 1)" in (out / "report.md").read_text()


@pytest.mark.parametrize("seeds", ["0", "-1", "x"])
def test_bad_seeds_are_one_line_and_write_nothing(cli, tmp_path, seeds):
    out = tmp_path / "run"
    code, _, err = cli("reproduce", "--out", out, "--seeds", seeds)
    assert_one_line_error(code, err, "--seeds")
    assert not out.exists()


def test_the_report_opens_with_contents_linking_every_heading(seeds_run):
    markdown = (seeds_run / "report.md").read_text()
    headings = re.findall(r"^#{2,3} (.+)$", markdown, flags=re.M)
    contents = markdown.split("**Contents**")[1].split("\n## ")[0]
    links = re.findall(r"- \[(.+)\]\(#([^)]+)\)", contents)
    assert [text for text, _ in links] == headings and len(headings) >= 5
    assert any(re.fullmatch(r"part-3-the-dcgan-on-fashion-mnist-\d+-s", a) for _, a in links)
    html = (seeds_run / "report.html").read_text()
    for _, anchor in links:
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html, anchor


def test_sample_grids_are_shown_at_one_size_upscaled_nearest_neighbour(seeds_run):
    markdown = (seeds_run / "report.md").read_text()
    grids = re.findall(r'<img src="([^"]+)" alt="[^"]*" width="(\d+)">', markdown)
    assert {path for path, _ in grids} >= {f"part3-gan/default/seed-0/samples/epoch_001{s}.png"
                                           for s in ("", "_ema")}  # fmt: skip
    assert {width for _, width in grids} == {str(GRID_WIDTH)}
    html = (seeds_run / "report.html").read_text()
    assert html.count('<img class="grid"') == len(grids)
    assert f"img.grid {{ width: {GRID_WIDTH}px; image-rendering: pixelated; }}" in html


def test_no_table_is_printed_twice(seeds_run):
    markdown = (seeds_run / "report.md").read_text()
    tables = re.findall(r"(?:^\|.*\|\n)+", markdown, flags=re.M)
    assert len(tables) >= 8 and len(set(tables)) == len(tables)


def test_maths_reads_in_unicode_and_exact_zeros_as_zero(seeds_run):
    markdown = (seeds_run / "report.md").read_text()
    for written in ("π_i", "θ_j", "4x² - 4y²", "stable η", "η_x", "constant α"):
        assert written in markdown, written
    for ascii_maths in (r"\bpi_", r"\btheta", r"\beta\b", r"\balpha\b", r"\bgamma\b", r"\beta_",
                        r"\*\*2", r"\^"):  # fmt: skip
        assert not re.search(ascii_maths, markdown), ascii_maths
    assert "| alt-gda | (0, 0.25) | 0.125 | 0 | - |" in markdown  # 1.8e-15 in floating point
    saddle = json.loads((seeds_run / "part2-saddle" / "saddle-assignment.json").read_text())
    rate = saddle["analysis"]["stationary_points"][0]["stability"]["alt-gda"]["best_rate"]
    assert 0 < abs(rate) < 1e-12


def test_headings_show_a_duration_once_and_the_ema_updates_are_counted(seeds_run):
    markdown = (seeds_run / "report.md").read_text()
    for heading in re.findall(r"^## Part .+$", markdown, flags=re.M):
        assert re.search(r"\(\d+\.\d s\)$", heading), heading
    summary = json.loads((seeds_run / "part3-gan" / "default" / "seed-0" / "summary.json")
                         .read_text())  # fmt: skip
    assert summary["ema_updates"] == 8
    assert f"it averaged {summary['ema_updates']:,} updates in all" in markdown


@pytest.mark.parametrize("code", [1, 130])
def test_a_failed_or_interrupted_seed_ends_the_reproduction_with_the_resume_command(
        tmp_path, monkeypatch, code):  # fmt: skip
    """gan sweep's exit status 1 (a run failed: its error) or 130 (Ctrl-C): one line naming
    `gradgames reproduce --resume`, exit 1 or 130."""
    from gradgames.errors import GradgamesError, Stopped
    from gradgames.reproduce import part_gan_seeds

    def sweep(args):
        (Path(args.out) / "summary.json").write_text(json.dumps(
            {"failed": [{"run": "default/seed-1", "state": "failed", "error": "out of memory"}]}))
        return code

    monkeypatch.setattr("gradgames.gan.sweep.run_sweep", sweep)
    config = ReproduceConfig(out=tmp_path, seeds=2)
    with pytest.raises(GradgamesError) as caught:
        part_gan_seeds(config, tmp_path, None)
    assert caught.value.exit_code == code and isinstance(caught.value, Stopped) == (code == 130)
    said = str(caught.value)
    assert f"continue with gradgames reproduce --out {tmp_path} --resume" in said
    if code == 1:
        assert f"{tmp_path}/default/seed-1 ended failed: out of memory;" in said
