"""The growth fit and report commands, end to end on the real crawl."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from hubscape.viewer.cli import main


def _strict(text):
    def no_constant(name):
        raise ValueError(f"non-strict JSON constant {name}")

    return json.loads(text, parse_constant=no_constant)


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def small_csv(tmp_path, children_csv):
    """Two models' rows of the real CSV (a fast report)."""
    keep = {"microsoft/phi-2", "meta-llama/Llama-2-7b"}
    with open(children_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    path = tmp_path / "two.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["base_model"] in keep)
    return path


def test_fit_json_on_the_real_crawl(capsys, children_csv):
    code, out, err = run(capsys, "growth", "fit", str(children_csv), "--json", "--method", "lsq")
    assert code == 0
    results = {d["model"]: d for d in _strict(out)}
    assert len(results) == 21
    assert all(
        {"model", "series", "fits", "forecasts", "anomalous_months", "poor_fit"} <= d.keys() for d in results.values()
    )
    fits = {name: d["fits"]["lsq"] for name, d in results.items()}
    for fit in fits.values():
        assert {
            "mu",
            "sigma",
            "lambda",
            "c_inf",
            "r2",
            "identifiable",
            "status",
            "reasons",
            "method",
            "m",
        } <= fit.keys()
        assert {"value", "stderr", "interval"} <= fit["lambda"].keys()
    for name in ("meta-llama/Llama-2-7b-chat-hf", "microsoft/phi-2", "stabilityai/stable-diffusion-2-1"):
        assert fits[name]["r2"] >= 0.94
    for name in ("google/gemma-7b", "meta-llama/Llama-2-7b"):
        assert fits[name]["identifiable"] is False and fits[name]["c_inf"]["value"] is None and fits[name]["reasons"]
        assert fits[name]["status"].startswith("not identifiable: ")
        assert all(v is None for v in results[name]["forecasts"]["lsq"]["point"])  # no point forecast
    assert fits["bigscience/bloom"]["status"].startswith("not fitted: ")
    assert 19 in results["meta-llama/Llama-2-7b-chat-hf"]["anomalous_months"]
    phi, phi_series = fits["microsoft/phi-2"], results["microsoft/phi-2"]["series"]
    assert (phi["method"], phi["m"], phi_series["unit"], phi_series["n_events"]) == ("lsq", 30.0, "month", 291)
    assert phi["c_inf"]["value"] == pytest.approx(30 * np.expm1(phi["lambda"]["value"]))
    lo, hi = phi["lambda"]["interval"]
    assert lo < phi["lambda"]["value"] < hi and phi["interval_method"].startswith("parametric bootstrap")
    assert phi_series["release_source"] == "hub created_at" and phi_series["release_reason"]


def test_fit_table_bundle_and_refit_from_the_bundle(capsys, small_csv, tmp_path):
    bundle = tmp_path / "out" / "fits.safetensors"
    code, out, err = run(capsys, "growth", "fit", str(small_csv), "--out", str(bundle))
    assert code == 0 and bundle.exists()
    assert "microsoft/phi-2" in out and "meta-llama/Llama-2-7b" in out and str(bundle) in out
    assert "WSB fits (mle" in out and "Not identifiable" in out  # mle is the default method
    code, out, _ = run(
        capsys,
        "growth",
        "fit",
        str(bundle),
        "--json",
        "--method",
        "mle",
        "--prior-shape",
        "2",
        "--prior-rate",
        "1",
        "--unit",
        "week",
        "--horizon",
        "4",
        "--backtest",
        "40",
    )
    assert code == 0
    results = _strict(out)
    assert [d["model"] for d in results] == ["meta-llama/Llama-2-7b", "microsoft/phi-2"]
    phi = results[1]
    fit = phi["fits"]["mle"]
    assert fit["method"] == "mle" and phi["series"]["unit"] == "week"
    assert fit["prior"] == {"shape": 2.0, "rate": 1.0, "source": "user"}
    assert len(phi["forecasts"]["mle"]["t"]) == 4
    bt = phi["backtests"]["mle"]
    assert bt["k"] == 40 and bt["t"][0] == 41 and 0 <= bt["mape"] < 1 and len(bt["predicted"]) == len(bt["observed"])
    assert fit["t_peak"] > 0


def test_report_writes_figures_and_tables(capsys, small_csv, tmp_path):
    from PIL import Image

    out_dir = tmp_path / "report"
    code, out, _ = run(capsys, "growth", "report", str(small_csv), "--out", str(out_dir))
    assert code == 0 and str(out_dir) in out
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == sorted(
        [f"{stem}.{ext}" for stem in ("microsoft--phi-2", "meta-llama--Llama-2-7b") for ext in ("png", "pdf", "svg")]
        + ["summary.csv", "summary.md"]
    )
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left
    img = np.asarray(Image.open(out_dir / "microsoft--phi-2.png").convert("RGB")).astype(int)
    orange = np.all(np.abs(img - [0xD5, 0x5E, 0x00]) < 40, axis=2).sum()  # the fitted curve
    blue = np.all(np.abs(img - [0x00, 0x72, 0xB2]) < 40, axis=2).sum()  # the data points
    assert orange > 300 and blue > 100 and img.std() > 20
    assert (out_dir / "microsoft--phi-2.pdf").read_bytes().startswith(b"%PDF")
    assert b"<svg" in (out_dir / "microsoft--phi-2.svg").read_bytes()[:2000]
    rows = list(csv.DictReader(open(out_dir / "summary.csv")))
    assert {r["model"] for r in rows} == {"microsoft/phi-2", "meta-llama/Llama-2-7b"}
    llama = next(r for r in rows if r["model"] == "meta-llama/Llama-2-7b")
    assert llama["identifiable"] == "no" and llama["c_inf"] == ""
    md = (out_dir / "summary.md").read_text()
    assert "| microsoft/phi-2 |" in md and "not identifiable" in md


@pytest.mark.parametrize(
    "content",
    [
        None,  # missing file
        "base_model,child_model\na/b,c/d\n",  # needed columns missing
        "base_model,base_created_at,child_model,child_created_at\na/b,2023-01-01,c/d,yesterday\n",  # bad date
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(capsys, tmp_path, content, children_csv):
    source = tmp_path / "in.csv"
    if content is not None:
        source.write_text(content)
    bundle, report = tmp_path / "fits.safetensors", tmp_path / "report"
    for argv in (
        ["fit", str(children_csv), str(source), "--out", str(bundle)],
        ["report", str(children_csv), str(source), "--out", str(report)],
    ):
        code, out, err = run(capsys, "growth", *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "error" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == (["in.csv"] if content is not None else [])


def test_process_exit_code_and_help():
    proc = subprocess.run(
        [sys.executable, "-m", "hubscape.viewer", "growth", "fit", "/no/such.csv"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no such file" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "hubscape.viewer", "growth", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and all(c in proc.stdout for c in ("fetch", "fit", "report"))
    proc = subprocess.run(
        [sys.executable, "-m", "hubscape.viewer", "growth", "fit", "x.csv", "--method", "nls"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_unwritable_outputs_are_one_line_errors(capsys, tmp_path, small_csv):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    for argv in (
        ["fit", str(small_csv), "--out", str(tmp_path / "folder")],
        ["report", str(small_csv), "--out", str(tmp_path / "file")],
    ):
        code, out, err = run(capsys, "growth", *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1
    assert list((tmp_path / "folder").iterdir()) == [] and (tmp_path / "file").read_text() == "x"


def test_release_date_and_floor_switch_on_the_cli(capsys, tmp_path):
    csv_path = tmp_path / "floor.csv"
    lines = ["base_model,base_created_at,child_model,child_created_at"]
    lines += [f"org/floored,2022-03-02 23:29:04+00:00,org/c{i},2023-{1 + i % 12:02d}-0{1 + i % 9}" for i in range(30)]
    lines += ["org/empty,2023-01-01,,"]
    csv_path.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "growth", "fit", str(csv_path), "--json")
    assert code == 0 and "skipped org/empty" in err
    (fit,) = _strict(out)
    assert fit["series"]["release_source"] == "earliest child" and "floor" in fit["series"]["release_reason"]
    code, out, _ = run(capsys, "growth", "fit", str(csv_path), "--json", "--no-floor-rule")
    assert _strict(out)[0]["series"]["release_source"] == "hub created_at"
    code, out, _ = run(capsys, "growth", "fit", str(csv_path), "--json", "--release-date", "org/floored=2022-10-01")
    (fit,) = _strict(out)
    assert fit["series"]["release_source"] == "user" and fit["series"]["release_date"].startswith("2022-10-01")
    code, out, err = run(capsys, "growth", "fit", str(csv_path), "--release-date", "org/floored=later")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not a date" in err
