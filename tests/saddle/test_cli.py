"""``gradgames saddle ...``: every command's output, and bad input as one line with exit 2."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradgames.cli import main
from gradgames.files import parse_json
from gradgames.saddle.config import METHODS

SRC = Path(__file__).resolve().parents[2] / "src"


def gradgames(capsys, *argv):
    with pytest.raises(SystemExit) as exit_info:
        main(["saddle", *argv])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_analyze_json_has_the_documented_shape(capsys):
    code, out, _ = gradgames(capsys, "analyze", "--f", "4*x**2 - 4*y**2", "--json")
    assert code == 0
    report = parse_json(out)
    (point,) = report["stationary_points"]
    assert set(point) == {"x", "y", "type", "value", "stability"}
    assert (point["x"], point["y"], point["type"]) == ([0.0], [0.0], "saddle")
    assert list(point["stability"]) == list(METHODS)
    for entry in point["stability"].values():
        assert set(entry) == {"intervals", "best_lr", "best_rate", "hyperparameters"}
    assert point["stability"]["gda"] == {
        "intervals": [[0.0, 0.25]],
        "best_lr": 0.125,
        "best_rate": 0.0,
        "hyperparameters": {},
    }
    assert point["stability"]["gd"] == {
        "intervals": [],
        "best_lr": None,
        "best_rate": None,
        "hyperparameters": {},
    }
    assert point["stability"]["nm-gda"]["hyperparameters"] == {"momentum": -0.5}
    assert point["stability"]["co"]["hyperparameters"] == {"co_gamma": 10.0}
    assert point["stability"]["sga"]["hyperparameters"] == {"sga_lambda": 1.0, "sga_align": False}
    assert report["lr_ratio"] == 1.0


def test_analyze_text_for_the_bilinear_game(capsys):
    code, out, _ = gradgames(capsys, "analyze", "--f", "x*y")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "none" in rows["gda"] and "(0, 1)" in rows["eg"]
    assert "type: saddle" in out


def test_run_json_and_plot(capsys, tmp_path):
    plot = tmp_path / "run.png"
    code, out, _ = gradgames(
        capsys,
        "run",
        "--f",
        "x*y + 0.5*x**2 - 0.5*y**2",
        "--method",
        "eg",
        "--lr",
        "0.3",
        "--steps",
        "300",
        "--x0",
        "1",
        "--y0",
        "-1",
        "--json",
        "--plot",
        str(plot),
    )
    assert code == 0
    report = parse_json(out)
    assert report["status"] == "converged" and report["method"] == "eg"
    assert len(report["trajectory"]["x"]) == report["steps"] + 1
    assert report["trajectory"]["x"][0] == [1.0] and report["trajectory"]["y"][0] == [-1.0]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_text_reports_divergence_with_its_step(capsys):
    code, out, _ = gradgames(capsys, "run", "--method", "gd", "--lr", "0.1", "--steps", "200")
    assert code == 0
    assert "status: diverged at step 24" in out  # 1.8^24 > 1e6 > 1.8^23 (y0 = 1)
    assert "nan" not in out.lower()


def test_run_vector_start_from_a_comma_list(capsys):
    code, out, _ = gradgames(
        capsys,
        "run",
        "--f",
        "x1*y1 + x2*y2 + x1**2 - y2**2",
        "--method",
        "eg",
        "--lr",
        "0.2",
        "--steps",
        "2000",
        "--x0=-1,2",
        "--y0",
        "0.5",
        "--json",
    )
    report = parse_json(out)
    assert code == 0 and report["trajectory"]["x"][0] == [-1.0, 2.0]
    assert report["trajectory"]["y"][0] == [0.5, 0.5]


def test_compare_writes_figure_json_and_config(capsys, tmp_path):
    out_dir = tmp_path / "cmp"
    code, out, _ = gradgames(
        capsys,
        "compare",
        "--f",
        "4*x**2 - 4*y**2",
        "--lr",
        "0.1",
        "--steps",
        "100",
        "--out",
        str(out_dir),
    )
    assert code == 0
    report = parse_json((out_dir / "compare.json").read_text())
    assert list(report["runs"]) == list(METHODS)
    assert report["runs"]["gd"]["status"] == "diverged"
    assert report["runs"]["gda"]["status"] == "converged"
    assert parse_json((out_dir / "config.json").read_text())["lr"] == 0.1
    assert (out_dir / "compare.png").read_bytes()[:4] == b"\x89PNG"
    code, _, err = gradgames(capsys, "compare", "--out", str(out_dir))
    assert code == 2 and "already holds a comparison" in err


BAD = [
    ("analyze", "--f", "__import__('os').system('touch PWNED')"),
    ("analyze", "--f", "x.__class__"),
    ("analyze", "--f", "9**9**9"),
    ("analyze", "--f", "x" * 5000),
    ("analyze", "--box", "0"),
    ("run", "--lr", "0"),
    ("run", "--lr", "-0.1"),
    ("run", "--lr", "nan"),
    ("run", "--lr", "inf"),
    ("run", "--steps", "0"),
    ("run", "--steps", "-5"),
    ("run", "--steps", "10000000"),
    ("run", "--steps", "1.5"),
    ("run", "--method", "adam"),
    ("run", "--x0", "1,2"),
    ("run", "--x0", "nan"),
    ("run", "--y0", "abc"),
    ("run", "--tol", "-1"),
    ("run", "--bound", "0"),
    ("run", "--f", "lambda: 0"),
    ("compare",),
    ("compare", "--out", "{file}"),
    ("compare", "--lr", "0", "--out", "{dir}"),
    ("run", "--plot", "{here}"),
    ("run", "--plot", "{file}/run.png"),
]


@pytest.mark.parametrize("argv", BAD, ids=lambda a: " ".join(a)[:40])
def test_bad_input_is_one_line_and_exit_2_before_any_work(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a_file = tmp_path / "file.txt"
    a_file.write_text("not a directory")
    argv = [a.format(file=a_file, dir=tmp_path / "new", here=tmp_path) for a in argv]
    code, out, err = gradgames(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_the_real_process_exits_2_without_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run(
        [sys.executable, "-m", "gradgames", "saddle", "run", "--f", "x + exec('1')"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "at column 5 ('exec')" in proc.stderr


def test_map_writes_figure_grid_and_summary(capsys, tmp_path):
    png = tmp_path / "map.png"
    code, out, err = gradgames(
        capsys,
        "map",
        "--method",
        "eg",
        "--f",
        "x*y",
        "--resolution",
        "31",
        "--out",
        str(png),
        "--json",
    )
    assert code == 0 and err == ""
    summary = parse_json(out)
    assert summary["method"] == "eg" and summary["cells"] == 31 * 31
    assert summary["point"] == {"x": [0.0], "y": [0.0], "type": "saddle"}
    assert png.read_bytes()[:4] == b"\x89PNG"
    saved = parse_json((tmp_path / "map.json").read_text())
    assert len(saved["grid"]["spectral_radius"]) == 31 and saved["stable_cells"] > 0
    lines = (tmp_path / "map.csv").read_text().splitlines()
    assert len(lines) == 31 * 31 + 1
    code, out, _ = gradgames(capsys, "map", "--out", str(tmp_path / "again.png"))
    assert code == 0 and "stable cells:" in out and "wrote" in out


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["map", "--out", "{tmp}/map.txt"], "--out must name a .png file"),
        (["map", "--point", "2", "--out", "{tmp}/map.png"], "--point must be at most 1"),
        (["map"], "map needs --out FILE.png"),
        (["map", "--eta-min", "1", "--eta-max", "0.5", "--out", "{tmp}/m.png"], "--eta-max"),
        (["map", "--f", "exp(x) + y**2", "--out", "{tmp}/m.png"], "no stationary point"),
        (["analyze", "--lr-ratio", "0"], "--lr-ratio must lie in"),
        (["run", "--momentum", "1"], "--momentum must lie in (-1, 1)"),
        (["run", "--co-gamma", "-1"], "--co-gamma must lie in"),
    ],
)
def test_map_and_hyperparameter_flags_refuse_bad_values(capsys, tmp_path, argv, fragment):
    argv = [a.format(tmp=tmp_path) for a in argv]
    code, out, err = gradgames(capsys, *argv)
    assert code == 2 and out == "" and fragment in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_two_step_sizes_on_the_command_line(capsys):
    code, out, _ = gradgames(capsys, "analyze", "--lr-ratio", "4")
    assert code == 0 and "two timescales: eta_y = 4 eta_x" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "(0, 0.0625)" in rows["gda"]  # eta_y = 4 eta_x < 1/4
    code, out, _ = gradgames(
        capsys,
        "run",
        "--method",
        "co",
        "--lr",
        "0.0005",
        "--lr-ratio",
        "4",
        "--co-gamma",
        "10",
        "--json",
    )
    report = parse_json(out)
    assert code == 0 and report["lr_y"] == pytest.approx(0.002) and report["lr_ratio"] == 4.0
    assert report["hyperparameters"] == {"co_gamma": 10.0} and report["status"] == "converged"
