"""The imcsim command: documents users script against, and bad input handling."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from imcsim.cli import main
from tests.conftest import ARCH, ROOT

FAT, PARA = str(ARCH / "fat.yaml"), str(ARCH / "parapim.yaml")


def run_json(capsys, *argv) -> dict:
    assert main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_run_json_document(capsys):
    doc = run_json(capsys, "run", "--arch", FAT, "--net", "resnet20")
    assert doc["arch"] == "FAT" and doc["net"] == "resnet20"
    total = doc["total"]
    for key in ("cycles", "time_s", "energy_j", "area_mm2", "energy_breakdown_j"):
        assert key in total
    assert total["energy_j"] == pytest.approx(sum(total["energy_breakdown_j"].values()))
    layer = doc["layers"][0]
    for key in ("name", "macs", "cycles", "energy_j"):
        assert key in layer
    assert sum(la["cycles"] for la in doc["layers"]) == total["cycles"]


def test_run_text_and_out_files(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["run", "--arch", FAT, "--net", "resnet20", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "total:" in text and "energy by component" in text
    summary = json.loads((out / "summary.json").read_text())
    layers = (out / "layers.csv").read_text().splitlines()
    assert layers[0].startswith("layer,kind,unit,macs")
    assert len(layers) == 1 + len(summary["layers"])
    assert (out / "energy_breakdown.csv").read_text().startswith("layer,component,energy_j")
    assert not list(out.glob(".*tmp"))


def test_compare_json_document(capsys):
    doc = run_json(capsys, "compare", "--arch", FAT, "--baseline", PARA, "--net", "resnet20",
                   "--sparsity", "0.8")
    for key in ("speedup", "energy_efficiency", "power_efficiency", "area_efficiency"):
        assert doc[key] > 0
    assert set(doc["details"]["sa_level"]) >= {"speedup", "power_efficiency",
                                                "area_efficiency"}
    assert doc["layers"] and "speedup" in doc["layers"][0]
    assert doc["speedup"] > 2


def test_run_functional(capsys):
    doc = run_json(capsys, "run", "--arch", FAT, "--net", "resnet20", "--functional",
                   "--functional-layers", "2")
    assert doc["functional"]["all_match"] is True
    assert len(doc["functional"]["layers"]) == 2


@pytest.mark.parametrize("argv, key", [
    (["run", "--arch", FAT, "--net", "resnet99"], "--net"),
    (["run", "--arch", FAT, "--net", "resnet20", "--sparsity", "1.0"], "--sparsity"),
    (["run", "--arch", FAT, "--net", "resnet20", "--sparsity", "-0.1"], "--sparsity"),
    (["run", "--arch", str(ROOT / "nope.yaml"), "--net", "resnet20"], "nope.yaml"),
])
def test_bad_input_is_one_line_exit_2(argv, key, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and key in err and err.startswith("imcsim: error:")


def test_bad_yaml_via_subprocess_no_traceback_no_output_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ARCH / "fat.yaml").read_text().replace("rows: 512", "rows: -512"))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "imcsim.cli", "run", "--arch", str(bad),
                           "--net", "resnet20", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "chip.rows" in proc.stderr and "bad.yaml" in proc.stderr
    assert proc.stdout == "" and not out.exists()


def test_debug_shows_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "imcsim.cli", "run", "--arch", FAT,
                           "--net", "nonet", "--debug"], capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


@pytest.mark.slow  # ~20 s: the whole validation; CI runs the slow tests too
def test_validate_document(capsys):
    code = main(["validate", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    for c in doc["checks"]:
        assert set(c) >= {"design", "name", "published", "simulated", "tolerance", "basis",
                          "calibrated", "pass"}
    assert len({c["design"] for c in doc["checks"]}) >= 6
    fat = {c["name"]: c for c in doc["checks"] if c["design"] == "fat"}
    sa = [c for n, c in fat.items() if n.startswith("SA-level")]
    assert len(sa) == 3 and all(c["calibrated"] and c["pass"] for c in sa)
    net = [c for n, c in fat.items() if n.startswith("network")]
    assert len(net) == 2 and not any(c["calibrated"] for c in net)
    assert fat["ResNet-18 MACs"]["pass"] and fat["ResNet-18 parameters"]["pass"]
    assert code == 0 and all(c["pass"] for c in doc["checks"])
    # an explained check passes on its ablation and reports the full model beside it; the
    # two differ (the ablation changes something)
    for name in ("network speedup, 80% sparsity", "network energy efficiency, 80% sparsity"):
        check = fat[name]
        explained = check["explanation"]
        assert check["pass"] and explained["explanation"] and explained["ablation"]
        assert explained["overrides"] and explained["value"] == check["simulated"]
        full = explained["full_model"]
        assert abs(full - check["simulated"]) > 0.01 * check["simulated"]
        assert explained["full_model_error"] == pytest.approx(
            (full - check["published"]) / check["published"])
    assert fat["network energy efficiency, 80% sparsity"]["relative_error"] <= 0.05


def test_run_writes_plots_and_trace(tmp_path, capsys):
    from imcsim.report.trace import trace_busy_cycles

    plots, trace = tmp_path / "plots", tmp_path / "traces" / "r20.json"
    assert main(["run", "--arch", FAT, "--net", "resnet20", "--plot", str(plots),
                 "--plot-format", "png", "--trace", str(trace), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in plots.iterdir()) == [
        "run_cycles.png", "run_energy.png", "run_utilisation.png", "utilisation_timeline.png"]
    busy = trace_busy_cycles(json.loads(trace.read_text()))
    compute = sum(v for k, v in busy.items() if ".sub" in k)
    assert compute > 0 and doc["total"]["cycles"] > 0


def test_compare_writes_plot(tmp_path, capsys):
    assert main(["compare", "--arch", FAT, "--baseline", PARA, "--net", "resnet20",
                 "--plot", str(tmp_path), "--plot-format", "svg"]) == 0
    assert (tmp_path / "compare.svg").exists()


def test_circuit_aid_json(capsys):
    doc = run_json(capsys, "circuit", "aid", "--seed", "1")
    for key in ("snr_db_linear", "snr_db_root", "snr_gain_db", "worst_error_sigma", "energy_pj"):
        assert key in doc
    assert doc["snr_gain_db"] == pytest.approx(doc["snr_db_root"] - doc["snr_db_linear"])


def test_circuit_bad_config_is_one_line(tmp_path, capsys):
    bad = tmp_path / "aid.yaml"
    bad.write_text("aid: {dac: {bits: 0}}\n")
    assert main(["circuit", "aid", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "aid.yaml" in err and err.count("\n") == 0


def test_workload_info_and_import(tmp_path, capsys):
    doc = run_json(capsys, "workload", "info", "resnet18")
    assert doc["total_macs"] == 1_814_073_344 and doc["total_params"] == 11_689_512
    assert len(doc["layers"]) >= 21
    onnx = pytest.importorskip("onnx")
    from imcsim.workload import graph_to_onnx
    from imcsim.workload.zoo import resnet20

    model = tmp_path / "r20.onnx"
    onnx.save(graph_to_onnx(resnet20(0)), str(model))
    out = tmp_path / "r20.yaml"
    assert main(["workload", "import", str(model), "-o", str(out)]) == 0
    capsys.readouterr()
    assert out.exists() and out.with_suffix(".npz").exists()
    doc = run_json(capsys, "run", "--arch", FAT, "--net", str(out))
    assert sum(la["macs"] for la in doc["layers"]) == 40_813_184


def test_truncated_onnx_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    assert main(["run", "--arch", FAT, "--net", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.onnx" in err and err.count("\n") == 0


def test_repeat_option_photonic_only(capsys):
    photonic = str(ARCH / "photonic.yaml")
    one = run_json(capsys, "run", "--arch", photonic, "--net", "resnet20", "--repeat", "1")
    four = run_json(capsys, "run", "--arch", photonic, "--net", "resnet20", "--repeat", "4")
    assert four["layers"][0]["details"]["repeats"] == 4
    assert one["layers"][0]["details"]["repeats"] == 1
    assert four["total"]["energy_j"] > one["total"]["energy_j"]
    assert main(["run", "--arch", photonic, "--net", "resnet20", "--repeat", "0"]) == 2
    assert main(["run", "--arch", FAT, "--net", "resnet20", "--repeat", "2"]) == 2
    assert "--repeat" in capsys.readouterr().err
