"""weights.json: the SHA-256 and small evaluation that ship a run's generators."""

from __future__ import annotations

import hashlib

import pytest
import torch

from gradgames.errors import UsageError
from gradgames.files import read_json, write_json
from gradgames.gan.checkpoint import save_weights
from gradgames.gan.config import ModelConfig
from gradgames.gan.metrics import real_reference
from gradgames.gan.models import Generator
from gradgames.gan.release import CHECKED, RECORD, check_record, sha256, write_record


@pytest.fixture(scope="module")
def real(data_dir):
    return real_reference("cpu", data_dir)


@pytest.fixture
def run_dir(tmp_path):
    torch.manual_seed(0)
    save_weights(tmp_path / "generator.pt", Generator(ModelConfig()), "generator")
    torch.manual_seed(1)
    save_weights(tmp_path / "generator_ema.pt", Generator(ModelConfig(leak=0.2)), "generator")
    return tmp_path


def test_the_record_holds_each_file_hash_and_small_evaluation(run_dir, real):
    record = write_record(run_dir, real=real)
    assert read_json(run_dir / RECORD) == record
    assert set(record["files"]) == {"generator.pt", "generator_ema.pt"}
    for name, entry in record["files"].items():
        data = (run_dir / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
        assert set(entry["scores"]) == set(CHECKED)
    assert record["small_evaluation"] == {"num_samples": 500, "seed": 0}
    assert check_record(run_dir, real=real) == []


def test_a_changed_byte_fails_the_hash(run_dir, real):
    write_record(run_dir, real=real)
    data = bytearray((run_dir / "generator.pt").read_bytes())
    data[-100] ^= 1
    (run_dir / "generator.pt").write_bytes(bytes(data))
    problems = check_record(run_dir, real=real)
    assert len(problems) == 1 and problems[0].startswith("generator.pt: SHA-256"), problems


def test_other_weights_with_a_matching_hash_fail_the_small_evaluation(run_dir, real):
    """A record whose hash was rewritten for other weights (one layer halved) still fails:
    the small evaluation lands outside its tolerance."""
    write_record(run_dir, real=real)
    torch.manual_seed(0)
    generator = Generator(ModelConfig())
    with torch.no_grad():
        generator.net[-2].weight.mul_(0.5)  # the last transposed convolution
    save_weights(run_dir / "generator.pt", generator, "generator")
    record = read_json(run_dir / RECORD)
    record["files"]["generator.pt"]["sha256"] = sha256(run_dir / "generator.pt")
    write_json(run_dir / RECORD, record)
    problems = check_record(run_dir, real=real)
    assert problems and all(p.startswith("generator.pt: ") for p in problems), problems
    assert any("fid" in p for p in problems), problems


def test_a_missing_file_or_foreign_record_is_refused_in_one_line(run_dir, real):
    write_record(run_dir, real=real)
    (run_dir / "generator_ema.pt").unlink()
    with pytest.raises(UsageError, match="generator_ema.pt is missing"):
        check_record(run_dir, real=real)
    write_json(run_dir / RECORD, {"files": {}})
    with pytest.raises(UsageError, match="weights.json: format is missing"):
        check_record(run_dir, real=real)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda r: r.update(files={}), "files must name some of generator.pt"),
        (lambda r: r["files"].update({"/etc/hostname": r["files"]["generator.pt"]}),
         "files must name some of"),
        (lambda r: r["files"]["generator.pt"]["scores"].update(fid="good"),
         "files.generator.pt.scores.fid must be a finite number; got 'good'"),
        (lambda r: r["files"]["generator.pt"]["scores"].pop("kid"), "scores must hold exactly"),
        (lambda r: r["files"]["generator.pt"].update(sha256="x" * 10**6),
         "sha256 must be 64 hex digits; got 'xxx"),
        (lambda r: r["files"]["generator.pt"].update(bytes=2**70),
         "bytes must be an integer from 1 to"),
        (lambda r: r.update(version=2), "version must be one of 1; got 2"),
    ],
)  # fmt: skip
def test_a_damaged_record_is_refused_in_one_line_before_any_file_is_read(run_dir, damage,
                                                                          message):  # fmt: skip
    record = {"format": "gradgames-weights-record", "version": 1,
              "small_evaluation": {"num_samples": 500, "seed": 0}, "tolerance": dict(CHECKED),
              "files": {"generator.pt": {"sha256": "0" * 64, "bytes": 1,
                                         "scores": dict.fromkeys(CHECKED, 0.5)}}}  # fmt: skip
    damage(record)
    write_json(run_dir / RECORD, record)
    with pytest.raises(UsageError, match="^" + str(run_dir / RECORD)) as error:
        check_record(run_dir, real=None)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert len(str(error.value)) < 300
