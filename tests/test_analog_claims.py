"""The networks behind the two analog accuracy claims (workloads/digits_analog/, README.md
there): the shipped files against their manifest, their runs through the functional path
of the PCM design, and the claims themselves on the shipped weights (slow: the same
checks `imcsim validate pcm` runs). No torch or scikit-learn here."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from imcsim.accuracy import evaluate, make_hook
from imcsim.arch import load_arch
from imcsim.cli import main
from imcsim.functional.accuracy import accuracy, predict
from imcsim.workload.loader import load_network
from imcsim.workload.native import read_native
from tests.conftest import ARCH, ROOT

FOLDER = ROOT / "workloads" / "digits_analog"
MANIFEST = yaml.safe_load((FOLDER / "manifest.yaml").read_text())
NETS = list(MANIFEST["networks"])
LSTMS = {"digits_lstm_q4": 4, "digits_lstm_q3": 3, "digits_lstm_q2": 2}


def pcm_bits(bits: int) -> dict:
    """pcm.yaml at b-bit signed weights, DAC and ADC (as the training script records)."""
    return {"crossbar.weight_bits": bits - 1, "crossbar.bits_per_cell": bits - 1,
            "crossbar.input_bits": bits, "crossbar.dac_bits": bits,
            "crossbar.adc.bits": bits}


@pytest.fixture(scope="module")
def split():
    with np.load(FOLDER / "test_split.npz") as d:
        return d["images"], d["labels"]


def test_manifest_lists_the_networks_and_the_files_are_small():
    assert set(NETS) == {"digits_lstm_float", *LSTMS, "digits_cnn_plain", "digits_cnn_noisy"}
    for entry in MANIFEST["networks"].values():
        for name in entry["files"].values():
            assert (FOLDER / name).is_file(), name
    total = sum(p.stat().st_size for p in FOLDER.iterdir() if p.is_file())
    assert total < 500_000, total
    assert MANIFEST["command"].endswith("workloads/digits_analog/train_analog.py")


def test_the_held_out_split_is_the_digits_one(split):
    with np.load(ROOT / "workloads" / "digits" / "test_split.npz") as d:
        assert np.array_equal(d["images"], split[0]) and np.array_equal(d["labels"], split[1])


@pytest.mark.parametrize("name", sorted(LSTMS))
def test_lstm_weights_are_levels_of_their_bits(name):
    bits = LSTMS[name]
    g = read_native(FOLDER / f"{name}.yaml")
    top = 2 ** (bits - 1) - 1
    for wname, shape in (("cell.weight", (72, 256)), ("fc.weight", (64, 10))):
        t = g.initializers[wname]
        assert t.bits == bits and t.data.shape == shape
        assert np.abs(t.data).max() == top  # every channel scaled to its largest level
        assert np.all(np.abs(t.data).max(axis=0) == top)
    dacs = [n for n in g.nodes if n.op == "Quant"]
    assert len(dacs) == 9  # one per step and one before the classifier
    assert all(int(g.initializers[n.inputs[3]].data) == bits for n in dacs)
    matmuls = [n for n in g.nodes if n.op == "MatMul"]
    assert [n.inputs[1] for n in matmuls] == ["cell.weight"] * 8 + ["fc.weight"]


def test_the_float_lstm_and_the_cnns_have_the_recorded_shapes():
    g = read_native(FOLDER / "digits_lstm_float.yaml")
    assert g.initializers["cell.weight"].bits is None
    assert g.initializers["cell.weight"].data.dtype == np.float32
    for name in ("digits_cnn_plain", "digits_cnn_noisy"):
        g = read_native(FOLDER / f"{name}.yaml")
        for w in ("conv1.weight", "conv2.weight", "fc.weight"):
            t = g.initializers[w]
            assert t.bits == 4 and np.abs(t.data).max() <= 7


@pytest.mark.parametrize("name", sorted(MANIFEST["networks"]))
def test_exact_accuracy_is_the_recorded_one(name, split):
    g = read_native(FOLDER / f"{name}.yaml")
    acc = accuracy(g, *split)
    assert acc.correct == MANIFEST["networks"][name]["accuracy"]["imcsim_exact_correct"]
    net = load_network(str(FOLDER / f"{name}.yaml"))
    assert net.total_macs == MANIFEST["networks"][name]["weight_macs"]


@pytest.mark.parametrize("name", ["digits_lstm_q4", "digits_cnn_noisy"])
def test_ideal_devices_give_the_recorded_accuracy(name, split):
    """PCM with programming noise off computes what the training emulated: the recorded
    figure (the converters, DAC codes and per-channel weights of the hook)."""
    import dataclasses

    arch = load_arch(ARCH / "pcm.yaml", pcm_bits(LSTMS[name]) if name in LSTMS else None)
    dev = arch.crossbar.device
    quiet = dataclasses.replace(dev, programming=dataclasses.replace(
        dev.programming, c0=0.0, c1=0.0, c2=0.0))
    arch = dataclasses.replace(arch, crossbar=dataclasses.replace(arch.crossbar, device=quiet))
    hook, _ = make_hook(arch, np.random.default_rng(0))
    pred = predict(read_native(FOLDER / f"{name}.yaml"), split[0], hook)
    recorded = MANIFEST["networks"][name]["accuracy"]["imcsim_pcm_ideal_devices"]
    assert float(np.mean(pred == split[1])) == pytest.approx(recorded, abs=1e-6)


def test_the_shipped_networks_run_on_pcm_with_noise_and_votes(capsys):
    assert main(["run", "--arch", "pcm", "--net", "digits_lstm_q4", "--accuracy",
                 "--samples", "60", "--format", "json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["accuracy"]["samples"] == 60 and doc["accuracy"]["votes"] == 1
    assert [la["name"] for la in doc["layers"]][:2] == ["step0.matmul", "step1.matmul"]
    assert main(["run", "--arch", "pcm", "--net", "digits_cnn_noisy", "--accuracy",
                 "--samples", "60", "--snr-db", "0", "--votes", "3", "--format", "json",
                 "--quiet"]) == 0
    acc = json.loads(capsys.readouterr().out)["accuracy"]
    assert acc["snr_db"] == 0.0 and acc["votes"] == 3
    assert "0 dB SNR" in acc["model"] and "majority vote over 3" in acc["model"]


def test_noise_at_0_db_costs_the_plain_cnn_more_than_the_noise_trained_one():
    """A quick look at the training gain on 120 images and 2 seeds (the claim itself, on
    the whole set and 5 seeds, is validate's)."""
    pcm = load_arch(ARCH / "pcm.yaml")

    def mean(name: str) -> float:
        return float(np.mean([evaluate(pcm, str(FOLDER / f"{name}.yaml"), seed=s,
                                       samples=120, snr_db=0.0)["simulated"]
                              for s in range(2)]))

    assert mean("digits_cnn_noisy") > mean("digits_cnn_plain") + 0.1


@pytest.mark.slow
def test_the_claims_hold_on_the_shipped_weights():
    """The accuracy checks of `imcsim validate pcm reram_ramp`: every one PASS."""
    from imcsim.validate import validate

    checks = [c for c in validate(["pcm", "reram_ramp"])["checks"] if "bound" in c]
    assert len(checks) == 7 and all(c["pass"] for c in checks), checks
