"""`gradgames reproduce --quick` end to end: the report, its figures, its numbers, Chromium."""

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import torch

from gradgames.gan.results import SCORES
from gradgames.reproduce import ReproduceConfig, reproduce, resumed_config
from gradgames.reproduce_report import seconds_text
from gradgames.rundir import RunLock
from tests.conftest import assert_one_line_error


def assert_figures_present(out: Path, markdown: str) -> list[str]:
    """Every figure report.md links to (a sample grid as an <img> of one width) is a PNG file
    under `out`; returns the links."""
    figures = re.findall(r'!\[[^\]]*\]\(([^)]+)\)|<img src="([^"]+)"', markdown)
    figures = [link or grid for link, grid in figures]
    assert len(figures) >= 8
    for figure in figures:
        assert (out / figure).is_file(), figure
        assert (out / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", figure
    return figures


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("reproduce") / "run"
    record = reproduce(ReproduceConfig(out=out, quick=True, device="cpu", progress=False))
    return out, record


def test_quick_reproduction_writes_the_report(quick_run):
    out, record = quick_run
    markdown = (out / "report.md").read_text()
    assert markdown.startswith("# gradgames: the assignment, reproduced")
    assert "Quick run (--quick)" in markdown
    for part in ("Part 1", "Part 2", "Part 3"):
        assert f"## {part}" in markdown
    figures = assert_figures_present(out, markdown)
    assert set(json.loads((out / "reproduce.json").read_text())["seconds"]) == {
        "bandit", "saddle", "gan"
    }  # fmt: skip
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(figures)
    assert "src=\"part" not in html  # self-contained: no file references


def assert_numbers_match(out: Path, markdown: str) -> dict:
    """The report's numbers are those of the JSON each part wrote; returns the GAN summary."""
    study = json.loads((out / "part1-bandit" / "study.json").read_text())
    for row in study["table"]:
        cells = f"| {row['rule']} | {row['setting']} | {row['final_mean_reward']:.3f} ± "
        assert cells.replace("eta", "η") in markdown or cells in markdown, cells  # or older
    saddle = json.loads((out / "part2-saddle" / "saddle-assignment.json").read_text())
    gda = saddle["analysis"]["stationary_points"][0]["stability"]["gda"]
    assert gda["intervals"] == [[0.0, 0.25]] or abs(gda["intervals"][0][1] - 0.25) < 1e-9
    assert f"| gda | (0, {gda['intervals'][0][1]:.6g}) | {gda['best_lr']:.6g} |" in markdown
    assert "| gda | (0, 0.25) | 0.125 | 0 |" in markdown
    assert "multiplies the component along y (the direction (0, 1) of (x, y))" in markdown
    evaluation = json.loads((out / "part3-gan" / "evaluation.json").read_text())
    ema = f" {evaluation['ema']['fid']:.3f} |" if "ema" in evaluation else ""
    row = f"| FID | {evaluation['generated']['fid']:.3f} |{ema} {evaluation['floor']['fid']:.3f} |"
    assert row in markdown, row
    summary = json.loads((out / "part3-gan" / "summary.json").read_text())
    assert f"{summary['steps']} optimiser steps" in markdown
    return summary


def test_report_numbers_are_the_parts_numbers(quick_run):
    out, _ = quick_run
    summary = assert_numbers_match(out, (out / "report.md").read_text())
    assert summary["epochs_completed"] == 2


def test_report_shows_the_generator_and_its_ema_side_by_side(quick_run):
    """At each evaluation epoch (1 and 2 in quick mode): both generators' scores in one table
    and both grids; the class spread of both."""
    out, record = quick_run
    markdown = (out / "report.md").read_text()
    entries = json.loads((out / "part3-gan" / "evaluations.json").read_text())
    assert [e["epoch"] for e in entries] == [1, 2]
    assert [e["epoch"] for e in record["parts"]["gan"]["evaluations"]] == [1, 2]
    figures = assert_figures_present(out, markdown)
    for e in entries:
        section = markdown.split(f"### After epoch {e['epoch']} ")[1].split("###")[0]
        g, m, f = e["generated"], e["ema"], e["floor"]
        for s in SCORES:
            d = s.digits
            row = f"| {s.label} | {g[s.name]:.{d}f} | {m[s.name]:.{d}f} | {f[s.name]:.{d}f} |"
            assert row in section, row
        for suffix in ("", "_ema"):
            assert f"part3-gan/samples/epoch_{e['epoch']:03d}{suffix}.png" in figures
    shares = entries[-1]["generated"]["class_histogram"], entries[-1]["ema"]["class_histogram"]
    assert f"| T-shirt/top | {entries[0]['generated']['class_histogram'][0]:.3f} |" in markdown
    assert f"| {shares[0][-1]:.3f} | {shares[1][-1]:.3f} |" in markdown


def test_the_final_scores_are_those_of_the_last_evaluation_epoch_shown_once(quick_run):
    """The final evaluation is epoch 2's: the report points to its tables rather than printing
    them again."""
    out, record = quick_run
    gan = record["parts"]["gan"]
    assert gan["evaluation"] == gan["evaluations"][-1]
    section = (out / "report.md").read_text().split("**Sample quality**")[1]
    assert section.startswith(" after training: the scores after epoch 2 above.")
    assert "| measure |" not in section


def test_report_images_load_in_headless_chromium(quick_run):
    out, _ = quick_run
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is needed: scripts/setup.sh installs Debian's chromium package"
    probe = (
        "<script>window.addEventListener('load', () => {"
        "const imgs = [...document.images];"
        "const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;"
        "document.body.insertAdjacentHTML('beforeend',"
        "`<div id=\"probe\">images ${imgs.length} loaded ${ok}</div>`);});</script>"
    )
    with tempfile.TemporaryDirectory() as profile:
        page = Path(profile) / "report-probe.html"
        page.write_text((out / "report.html").read_text().replace("</body>", probe + "</body>"))
        result = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}/user", "--virtual-time-budget=10000", "--dump-dom",
             page.as_uri()],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    match = re.search(r"images (\d+) loaded (\d+)", result.stdout)
    assert match, result.stderr[-2000:]
    total, loaded = map(int, match.groups())
    assert total >= 8 and loaded == total


def test_existing_report_directory_is_refused(cli, quick_run):
    out, _ = quick_run
    code, _, err = cli("reproduce", "--quick", "--out", out)
    assert_one_line_error(code, err, "already holds a run", "--resume")


def test_resume_keeps_the_wall_time_of_earlier_sessions(quick_run, tmp_path):
    original, first = quick_run
    out = tmp_path / "run"
    shutil.copytree(original, out)
    gan = json.loads((out / "part3-gan" / "summary.json").read_text())
    (out / "part3-gan" / "summary.json").unlink()  # as if killed after its last checkpoint
    record = reproduce(ReproduceConfig(out=out, quick=True, device="cpu", progress=False,
                                       resume=True))  # fmt: skip
    assert record["seconds"]["bandit"] == first["seconds"]["bandit"]  # kept, not rerun
    training = record["parts"]["gan"]["training"]
    assert training["steps_this_session"] == 0
    assert training["seconds_total"] >= gan["seconds_total"]
    assert record["seconds"]["gan"] >= gan["seconds_total"]
    assert json.loads((out / "timings.json").read_text()) == record["seconds"]
    markdown = (out / "report.md").read_text()
    assert f"| bandit | {first['seconds']['bandit']:.1f} s |" in markdown
    assert "over resumed sessions" in markdown

    again = reproduce(ReproduceConfig(out=out, quick=True, device="cpu", progress=False,
                                      resume=True))  # fmt: skip
    assert again["seconds"]["gan"] == record["seconds"]["gan"]  # read back, nothing added
    assert again["seconds"]["bandit"] == first["seconds"]["bandit"]

    (out / "timings.json").unlink()  # a reproduction from before the timings were kept
    record = reproduce(ReproduceConfig(out=out, quick=True, device="cpu", progress=False,
                                       resume=True))  # fmt: skip
    assert record["seconds"]["bandit"] is None and record["seconds"]["gan"] is None
    assert "| total | not recorded |" in (out / "report.md").read_text()


RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"


def test_the_committed_full_run_is_complete_and_consistent():
    """docs/results holds the real full reproduction the README shows: all 50 epochs on the
    60,000 images, both generators' grids at 10/30/50, every linked figure, numbers equal to
    its JSON, and no weights but the two shipped generators."""
    out = RESULTS
    markdown = (out / "report.md").read_text()
    assert "Quick run" not in markdown
    figures = assert_figures_present(out, markdown)
    for epoch in (10, 30, 50):
        for suffix in ("", "_ema"):
            assert f"part3-gan/samples/epoch_{epoch:03d}{suffix}.png" in figures
    summary = assert_numbers_match(out, markdown)
    assert summary["epochs_completed"] == 50 and summary["steps"] == 50 * 938
    evaluations = json.loads((out / "part3-gan" / "evaluations.json").read_text())
    assert [e["epoch"] for e in evaluations] == [10, 30, 50]
    assert all("ema" in e and e["num_samples"] == 10_000 for e in evaluations)
    shipped = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pt"))
    assert shipped == ["part3-gan/generator.pt", "part3-gan/generator_ema.pt"]  # no checkpoint
    readme = (out.parents[1] / "README.md").read_text()
    for linked in ("docs/results/report.md", "docs/results/part3-gan/samples/epoch_050.png",
                   "docs/results/part3-gan/losses.png"):
        assert linked in readme, linked


def test_the_shipped_generators_are_the_recorded_ones(data_dir):
    """Both committed generators load (fp32, with their settings), hash to the SHA-256 in
    weights.json, and a small evaluation of each (500 samples, seconds) lands within the
    record's tolerance of the figure recorded when the run wrote them."""
    from gradgames.gan import load_generator
    from gradgames.gan.metrics import real_reference
    from gradgames.gan.release import check_record

    weights = json.loads((RESULTS / "part3-gan" / "weights.json").read_text())
    assert set(weights["files"]) == {"generator.pt", "generator_ema.pt"}
    for name in weights["files"]:
        generator = load_generator(RESULTS / "part3-gan" / name)
        assert all(p.dtype == torch.float32 for p in generator.parameters())
    assert check_record(RESULTS / "part3-gan", real=real_reference("cpu", data_dir)) == []


def test_wall_times_read_in_hours_and_minutes():
    assert seconds_text(14.4) == "14.4 s"
    assert seconds_text(754.0) == "754.0 s (12 min 34 s)"
    assert seconds_text(16657.4) == "16657.4 s (4 h 37 min)"
    assert seconds_text(97.9, readable=False) == "97.9 s"  # a heading's: one duration
    assert seconds_text(None) == "not recorded"


def test_resume_takes_the_reproductions_saved_settings(quick_run, tmp_path, cli):
    """The hint after a stop (`--out DIR --resume`, no --quick) continues the quick run as a
    quick run; a flag that contradicts the saved settings is refused in one line."""
    original, _ = quick_run
    out = tmp_path / "run"
    shutil.copytree(original, out)
    (out / "part3-gan" / "summary.json").unlink()  # as if stopped after its last checkpoint
    assert resumed_config(ReproduceConfig(out=out, resume=True)).quick is True
    code, _, err = cli("reproduce", "--out", out, "--resume", "--seed", "7")
    assert_one_line_error(code, err, "--seed 7 differs from the run's 0", "drop the flag")
    code, _, err = cli("reproduce", "--out", out, "--resume", "--no-progress")
    assert code == 0, err
    markdown = (out / "report.md").read_text()
    assert "Quick run (--quick)" in markdown and "steps (2 epochs)" in markdown
    assert json.loads((out / "part3-gan" / "summary.json").read_text())["epochs_completed"] == 2


@pytest.mark.parametrize("bad", [["--device", "tpu"], ["--device", "cuda"], ["--data-dir", "BAD"]])
def test_settings_device_and_data_are_checked_before_any_part_runs(tmp_path, cli, bad):
    if bad[-1] == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA: --device cuda is a valid setting here")
    broken = tmp_path / "data"
    broken.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):  # fmt: skip
        (broken / name).write_bytes(b"not a gzip file")
    bad = [str(broken) if arg == "BAD" else arg for arg in bad]
    out = tmp_path / "run"
    code, _, err = cli("reproduce", "--quick", "--out", out, *bad)
    assert_one_line_error(code, err)
    assert not out.exists()  # refused before Parts 1 and 2 wrote anything


def test_a_reproduction_in_progress_locks_its_folder(quick_run, tmp_path, cli):
    original, _ = quick_run
    out = tmp_path / "run"
    shutil.copytree(original, out)
    with RunLock(out):  # as a reproduction running there holds it
        code, _, err = cli("reproduce", "--out", out, "--resume")
    assert_one_line_error(code, err, "in use by another gradgames process", f"pid {os.getpid()}")


def test_part3_records_the_weights_it_ships(quick_run, data_dir):
    """part3-gan/weights.json: both generators' SHA-256 and small evaluation, which the files
    pass, and one line each in the report."""
    from gradgames.gan.metrics import real_reference
    from gradgames.gan.release import check_record

    out, record = quick_run
    weights = json.loads((out / "part3-gan" / "weights.json").read_text())
    assert set(weights["files"]) == {"generator.pt", "generator_ema.pt"}
    assert record["parts"]["gan"]["weights"] == weights
    assert check_record(out / "part3-gan", real=real_reference("cpu", data_dir)) == []
    markdown = (out / "report.md").read_text()
    for name, entry in weights["files"].items():
        assert f"`{name}` ({entry['bytes']:,} bytes), SHA-256 `{entry['sha256']}`" in markdown
