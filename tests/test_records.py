"""The one schema-checked reader of the files a run writes (gradgames.config.from_dict): every
value is checked against its field's annotation and refused in one line naming the file and
the field, before it is used."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradgames.config import from_dict, to_dict
from gradgames.errors import UsageError
from gradgames.gan.config import TrainConfig
from gradgames.gan.results import SCORES, Evaluation, Scores, TrainResult
from gradgames.reproduce import ReproduceConfig
from tests.damage import damaged, json_values, spoil

ROOT = Path(__file__).resolve().parents[1]
EVALUATION = json.loads((ROOT / "docs/results/part3-gan/evaluation.json").read_text())
SUMMARY = json.loads((ROOT / "docs/results/part3-gan/summary.json").read_text())
STUDY = json.loads((ROOT / "docs/results/part1-bandit/sutton-barto/study.json").read_text())


def refused(cls, data, *fragments):
    with pytest.raises(UsageError) as error:
        from_dict(cls, data, "FILE.json")
    message = str(error.value)
    assert message.startswith("FILE.json: ") and "\n" not in message and len(message) < 300
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_the_committed_records_read_back_unchanged():
    evaluation = Evaluation.from_dict(EVALUATION)
    assert evaluation.to_dict() == EVALUATION
    assert isinstance(evaluation.ema, Scores) and evaluation.floor.fid < evaluation.generated.fid
    assert TrainResult.from_dict(SUMMARY).to_dict() == {**SUMMARY, "ema_updates": None}
    assert {s.name for s in SCORES} < set(EVALUATION["generated"])


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (lambda d: d["generated"].update(fid="good"), ("generated.fid must be a finite number",
                                                        "'good'")),
        (lambda d: d["ema"].update(recall=[[1]] * 10**6), ("ema.recall must be a finite number",)),
        (lambda d: d["floor"].update(kid=10**400), ("floor.kid", "digits")),
        (lambda d: d["floor"].pop("coverage"), ("floor.coverage is missing",)),
        (lambda d: d.update(extra=1), ("unknown key 'extra'",)),
        (lambda d: d.update(num_samples=True), ("num_samples must be an integer",)),
        (lambda d: d.update(seconds=-5.0), ("seconds must lie in",)),
        (lambda d: d["generated"].update(precision=1.5), ("precision must lie in [0, 1]",)),
        (lambda d: d.update(class_names="abc"), ("class_names must be a list",)),
    ],
)  # fmt: skip
def test_a_damaged_evaluation_is_one_line_naming_the_field(edit, fragments):
    data = json.loads(json.dumps(EVALUATION))
    edit(data)
    refused(Evaluation, data, *fragments)


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (lambda d: d.update(seconds=-5.0), ("seconds must lie in",)),
        (lambda d: d.update(stopped_by="SIGKILL"), ("stopped_by must be one of",)),
        (lambda d: d.update(steps="46900"), ("steps must be an integer",)),
    ],
)
def test_a_damaged_summary_is_one_line(edit, fragments):
    data = dict(SUMMARY)
    edit(data)
    refused(TrainResult, data, *fragments)


def test_configs_read_back_refuse_wrong_types_and_out_of_range_numbers(tmp_path):
    saved = to_dict(ReproduceConfig(out=tmp_path))
    refused(ReproduceConfig, {**saved, "quick": "yes"}, "quick must be true or false")
    train = to_dict(TrainConfig(out=tmp_path))
    refused(TrainConfig, {**train, "lr": 10**400}, "lr must be a finite number")
    refused(TrainConfig, {**train, "model": {**train["model"], "leak": "x"}}, "model.leak")
    refused(TrainConfig, {**train, "precision": "fp8"}, "precision must be one of")
    refused(TrainConfig, [train], "must be a JSON object; got [")
    assert from_dict(TrainConfig, train) == TrainConfig(out=tmp_path)




@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(sorted(EVALUATION)), value=json_values)
def test_any_value_in_any_field_is_read_or_refused_in_one_line(key, value):
    data = {**EVALUATION, key: value}
    try:
        Evaluation.from_dict(data, "FILE.json")
    except UsageError as error:
        assert str(error).startswith("FILE.json: ") and "\n" not in str(error)


def test_json_nested_fifty_thousand_deep_is_one_line(tmp_path):
    from gradgames.files import read_json

    path = tmp_path / "summary.json"
    path.write_text("[" * 50_000 + "]" * 50_000)
    with pytest.raises(UsageError, match="nested too deeply"):
        read_json(path)


@pytest.mark.parametrize(
    ("num", "seed", "fragment"),
    [(10**12, 0, "num must be an integer from 1 to 60,000"), (0, 0, "num must be"),
     (4, -1, "seed must be an integer from 0")],
)  # fmt: skip
def test_sample_images_takes_the_command_lines_bounds(num, seed, fragment):
    from gradgames.errors import ConfigError
    from gradgames.gan import Generator, sample_images

    with pytest.raises(ConfigError, match=fragment):
        sample_images(Generator(), num, seed=seed)


def test_download_with_an_empty_data_dir_says_where_a_download_goes(tmp_path):
    from gradgames.errors import DataError
    from gradgames.gan.data import find_data_dir

    with pytest.raises(DataError) as error:
        find_data_dir(tmp_path, download=True)
    message = str(error.value)
    assert "never into a named folder" in message and "--download on the command" not in message


def test_an_unreadable_checkpoint_is_one_line_naming_it():
    from gradgames.gan.checkpoint import load_file

    with pytest.raises(UsageError, match=r"^/proc/self/mem could not be read \("):
        load_file("/proc/self/mem")


@pytest.mark.parametrize(("kwargs", "fragment"), [(dict(arms=10**9), "arms must be an integer"),
                                                   (dict(arms=1000, samples=100), "arms^2")])
def test_derivative_check_is_bounded_like_the_command_line(kwargs, fragment):
    from gradgames.bandit import derivative_check
    from gradgames.errors import ConfigError

    with pytest.raises(ConfigError, match=fragment.replace("^", r"\^")):
        derivative_check(**kwargs)


def test_the_committed_studies_read_back_unchanged():
    from gradgames.bandit import StudyResult

    for path in ("part1-bandit/study.json", "part1-bandit/sutton-barto/study.json"):
        data = json.loads((ROOT / "docs/results" / path).read_text())
        assert StudyResult.from_dict(data, path).to_dict() == data


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda d: d["table"][0].update(converged_fraction=-0.5), "converged_fraction must lie"),
        (lambda d: d["table"][1].update(status="fine"), "table[1].status must be one of"),
        (lambda d: d["derivative_check"].update(samples=0), "samples must be an integer >= 1"),
        (lambda d: d["book"][0].update(noise=-1.0), "noise must lie in"),
        (lambda d: d["config"].update(runs="2000"), "config.runs must be an integer"),
        (lambda d: d.pop("table"), "table is missing"),
        (lambda d: d["paths"].update(extra=[1]), "paths.extra must be a string"),
        (lambda d: d["table"].append([[[]]]), "must be a JSON object; got [[[]]]"),
    ],
)  # fmt: skip
def test_a_damaged_study_is_one_line_naming_the_file_and_field(edit, fragment):
    from gradgames.bandit import StudyResult

    data = json.loads(json.dumps(STUDY))
    edit(data)
    with pytest.raises(UsageError) as error:
        StudyResult.from_dict(data, "RUN/study.json")
    message = str(error.value)
    assert message.startswith("RUN/study.json: ") and "\n" not in message, message
    assert fragment in message and len(message) < 300, message


@settings(max_examples=80, deadline=None)
@given(data=damaged(STUDY))
def test_any_damage_to_a_study_is_read_or_refused_in_one_line(data):
    from gradgames.bandit import StudyResult

    try:
        StudyResult.from_dict(data, "RUN/study.json")
    except UsageError as error:
        assert str(error).startswith("RUN/study.json: ") and "\n" not in str(error)


@pytest.mark.parametrize("how", ["deep", "truncated", "devnull", "binary"])
def test_a_spoilt_study_file_is_one_line_naming_it(tmp_path, how):
    from gradgames.bandit import StudyResult
    from gradgames.files import read_json

    path = tmp_path / "study.json"
    path.write_text(json.dumps(STUDY))
    spoil(path, how)
    with pytest.raises(UsageError) as error:
        StudyResult.from_dict(read_json(path), str(path))
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "text,message",
    [('{"bandit": -5.0}', "bandit must lie in [0, inf]"), ('{"gan": "fast"}', "gan must be a"),
     ('{"part4": 1.0}', "unknown key 'part4'"), ("[1]", "must be a JSON object")],
)  # fmt: skip
def test_a_damaged_timings_json_is_one_line_naming_it(tmp_path, text, message):
    from gradgames.reproduce import read_timings

    (tmp_path / "timings.json").write_text(text)
    with pytest.raises(UsageError, match=re.escape(message)) as caught:
        read_timings(tmp_path)
    assert "timings.json" in str(caught.value) and "\n" not in str(caught.value)
    (tmp_path / "timings.json").write_text('{"bandit": 12.5, "saddle": null}')
    assert read_timings(tmp_path) == {"bandit": 12.5, "saddle": None}
