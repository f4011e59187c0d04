"""A damage campaign over a finished run directory: every file a resume reads (config.json,
evaluations.json, metrics.csv; checkpoints/last.pt in test_checkpoint_files.py), damaged by
generated edits (wrong types, out-of-range numbers, missing and extra keys and columns) or
spoilt whole (nested 50,000 deep, cut short, a link to /dev/null, binary): ``gan train
--resume`` finishes, or refuses in one line with exit 2 and every file left as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradgames.gan import TrainConfig, train
from gradgames.gan.config import ModelConfig
from tests.conftest import assert_one_line_error
from tests.damage import damaged, spoil

SMALL = dict(subset=64, batch_size=32, progress=False, eval_epochs=(1,), eval_samples=64,
             tensorboard=False, model=ModelConfig(noise_dim=8))  # fmt: skip
CAMPAIGN = settings(max_examples=8, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished one-epoch run with one evaluation."""
    out = tmp_path_factory.mktemp("damage") / "run"
    train(TrainConfig(out=out, epochs=1, **SMALL))
    return out


def contents(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.is_symlink() and p.name != ".gradgames.lock"}  # fmt: skip


def resumed(cli, finished: Path, tmp_path: Path, name: str, damage) -> None:
    """Copies the run, damages ``name`` in it, resumes: finished, or one line and nothing
    lost."""
    out = tmp_path / "copy"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(finished, out)
    damage(out / name)
    before = contents(out)
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--no-progress")
    if code != 0:
        assert_one_line_error(code, err)
        assert contents(out) == before


def json_of(finished: Path, name: str):
    return json.loads((finished / name).read_text())


@pytest.mark.parametrize(
    ("name", "how"),
    [(name, how) for name in ("config.json", "evaluations.json", "metrics.csv")
     for how in ("deep", "truncated", "devnull", "binary")
     if (name, how) != ("metrics.csv", "truncated")],  # a torn last line: see below
)  # fmt: skip
def test_a_spoilt_file_is_refused_in_one_line(cli, finished, tmp_path, name, how):
    out = tmp_path / "copy"
    shutil.copytree(finished, out)
    spoil(out / name, how)
    before = contents(out)
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--no-progress")
    assert_one_line_error(code, err, name)
    assert contents(out) == before


@CAMPAIGN
@given(data=st.data())
def test_damaged_settings_resume_or_are_refused(cli, finished, tmp_path, data):
    record = data.draw(damaged(json_of(finished, "config.json")))
    resumed(cli, finished, tmp_path, "config.json", lambda p: spoil(p, "json", record))


@CAMPAIGN
@given(data=st.data())
def test_damaged_evaluations_resume_or_are_refused(cli, finished, tmp_path, data):
    entries = data.draw(damaged(json_of(finished, "evaluations.json")))
    resumed(cli, finished, tmp_path, "evaluations.json", lambda p: spoil(p, "json", entries))


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda e: e[0].update(seconds=-1.0), "entry 0: seconds must lie in"),
        (lambda e: e[0]["generated"].update(fid="low"), "entry 0: generated.fid must be"),
        (lambda e: e[0].pop("floor"), "entry 0: floor is missing"),
        (lambda e: e[0].update(extra=1), "entry 0: unknown key 'extra'"),
        (lambda e: e.__setitem__(0, [e[0]]), "entry 0: the record must be a JSON object"),
    ],
)  # fmt: skip
def test_a_damaged_evaluation_names_the_entry_and_field(cli, finished, tmp_path, edit, fragment):
    entries = json_of(finished, "evaluations.json")
    edit(entries)
    out = tmp_path / "copy"
    shutil.copytree(finished, out)
    spoil(out / "evaluations.json", "json", entries)
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--no-progress")
    assert_one_line_error(code, err, "evaluations.json", fragment)


@st.composite
def damaged_csv(draw, text: str) -> str:
    """metrics.csv with one cell replaced, a column dropped or added, or a line removed."""
    lines = [line.split(",") for line in text.splitlines()]
    row = draw(st.integers(0, len(lines) - 1))
    column = draw(st.integers(0, len(lines[row]) - 1))
    how = draw(st.sampled_from(["cell", "drop", "add", "line"]))
    if how == "cell":
        cell = st.sampled_from(["-1", "1e400", "nan", "2.5", "", "x", "0", "inf", "0.5"])
        lines[row][column] = draw(cell | st.text(alphabet="0123456789.-e+x", max_size=6))
    elif how == "drop":
        del lines[row][column]
    elif how == "add":
        lines[row].append("1")
    else:
        del lines[row]
    return "".join(",".join(line) + "\n" for line in lines)


@CAMPAIGN
@given(data=st.data())
def test_damaged_metrics_resume_or_are_refused(cli, finished, tmp_path, data):
    text = data.draw(damaged_csv((finished / "metrics.csv").read_text()))
    resumed(cli, finished, tmp_path, "metrics.csv", lambda p: p.write_text(text))


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("1,2,0.5,0.5,1.5,0.5,10.0", "line 3: d_real must be a number in [0, 1]; got '1.5'"),
        ("1,2,0.5,0.5,0.5,0.5", "line 3: 6 columns instead of 7"),
        ("1,x,0.5,0.5,0.5,0.5,10.0", "line 3: step must be a number"),
        ("1,2,0.5,nan,0.5,0.5,10.0", "line 3: g_loss must be a number"),
    ],
)  # fmt: skip
def test_a_damaged_metrics_row_names_its_line_and_column(cli, finished, tmp_path, line, fragment):
    lines = (finished / "metrics.csv").read_text().splitlines()
    lines[2] = line  # the last row
    out = tmp_path / "copy"
    shutil.copytree(finished, out)
    (out / "metrics.csv").write_text("\n".join(lines) + "\n")
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--no-progress")
    assert_one_line_error(code, err, "metrics.csv", fragment)


def test_a_line_torn_by_a_crash_is_skipped(finished, tmp_path):
    from gradgames.gan.artifacts import read_metrics

    text = (finished / "metrics.csv").read_text()
    path = tmp_path / "metrics.csv"
    path.write_text(text + "1,3,0.5")  # a crash in the middle of an append
    assert read_metrics(path) == read_metrics(finished / "metrics.csv")
