"""The photonic laser sized by the noise model against the receiver-sensitivity rule on
ResNet-18 (at least 10x less light at the same precision and the same accuracy), and the
validation figures of imcsim.designs.photonic.reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import imcsim
from imcsim.accuracy import evaluate
from imcsim.arch import load_arch
from imcsim.circuits.photonic import PhotonicCore
from imcsim.designs.photonic.reference import (
    OUTPUT_BITS,
    bits_matching,
    figures,
    network_figures,
    output_referred,
    with_overrides,
)
from imcsim.workload import load_network

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "arch_configs" / "photonic.yaml"
DIGITS = ROOT / "workloads" / "digits"
SENSITIVITY = {"photonic.laser.sizing": "sensitivity"}


@pytest.fixture(scope="module")
def runs() -> dict[str, dict]:
    """The run documents of photonic ResNet-18 under both sizing rules (`imcsim run`)."""
    net = load_network("resnet18")
    return {"noise": imcsim.run(load_arch(CONFIG), net).to_dict(),
            "sensitivity": imcsim.run(load_arch(CONFIG, SENSITIVITY), net).to_dict()}


def test_noise_sized_laser_is_10x_below_the_sensitivity_rule_at_the_same_precision(runs):
    """Both designs meet the same requirement (each detection at the ADC's 8 effective
    bits, by the noise equations --accuracy runs); the noise-sized one with 10x less light."""
    old, new = runs["sensitivity"], runs["noise"]
    assert new["arch"] == old["arch"] and new["total"]["macs"] == old["total"]["macs"]
    old_aj = old["total"]["details"]["optical_aj_per_mac"]
    new_aj = new["total"]["details"]["optical_aj_per_mac"]
    assert old["total"]["details"]["laser_sizing"] == "sensitivity"
    assert new["total"]["details"]["laser_sizing"] == "noise"
    assert old_aj >= 10 * new_aj, (old_aj, new_aj)
    required = load_arch(CONFIG).photonic.core.output_bits
    for lo, ln in zip(old["layers"], new["layers"], strict=True):
        assert ln["details"]["bits_required"] == required
        assert ln["details"]["enob_reference"] == pytest.approx(required, abs=1e-9)
        assert lo["details"]["enob_reference"] >= required  # the old rule overshoots
        assert lo["details"]["optical_aj_per_mac"] > 10 * ln["details"]["optical_aj_per_mac"]


def test_noise_sized_laser_keeps_the_digits_accuracy():
    """Functional accuracy through `imcsim run --accuracy`'s path on the shipped digits
    network, same seeds (same samples, independent noise draws): the noise-sized laser
    within one point of the sensitivity rule; a laser sized for 6 bits is not (the check
    can tell a real loss from the noise of the draws)."""
    net = str(DIGITS / "digits_cnn_twn.yaml")
    variants = {"sensitivity": SENSITIVITY, "noise": {},
                "noise 6 bits": {"photonic.precision.bits": 6}}
    acc = {name: np.mean([evaluate(load_arch(CONFIG, ov), net, seed=s)["simulated"]
                          for s in range(3)]) for name, ov in variants.items()}
    assert abs(acc["noise"] - acc["sensitivity"]) <= 0.01, acc
    assert acc["sensitivity"] - acc["noise 6 bits"] > 0.01, acc


@pytest.fixture(scope="module")
def figs() -> dict:
    from imcsim.validate import reference_designs

    garg = next(float(r["published"]) for r in reference_designs()["photonic"]["reported"]
                if r["key"] == "homodyne.optical_aj_per_mac")
    return figures(load_arch(CONFIG), published={"resnet50": garg})


def test_reference_figures_are_the_run_figures(figs, runs):
    for variant in ("noise", "sensitivity"):
        assert figs["resnet18"][variant]["optical_aj_per_mac"] == pytest.approx(
            runs[variant]["total"]["details"]["optical_aj_per_mac"], rel=1e-12)
        assert figs["resnet18"][variant]["detector_aj_per_mac"] == pytest.approx(
            runs[variant]["total"]["details"]["detector_aj_per_mac"], rel=1e-12)


def test_reference_figures_add_up(figs):
    for net in ("resnet18", "resnet50"):
        row = figs[net]
        for name, f in row.items():
            if not isinstance(f, dict):
                continue
            assert f["optical_aj_per_mac"] == pytest.approx(
                f["signal_aj_per_mac"] + f["lo_aj_per_mac"])
            assert f["detector_aj_per_mac"] < f["signal_aj_per_mac"]  # the link loses light
            assert (f["lo_aj_per_mac"] > 0) == name.startswith("homodyne")
        # a strong-LO homodyne needs less signal light at the detectors than direct
        # detection for the same bits (4x the shot-limited SNR, no TIA noise)
        assert row["homodyne"]["detector_aj_per_mac"] < row["noise"]["detector_aj_per_mac"] / 4
        bits = [row[f"homodyne_output_{b:g}b"]["detector_aj_per_mac"] for b in OUTPUT_BITS]
        assert bits == sorted(bits)
    assert "published_aj_per_mac" not in figs["resnet18"]


def test_bits_matching_gives_the_published_figure(figs):
    arch = load_arch(CONFIG)
    row = figs["resnet50"]
    bits = row["bits_matching_published"]
    assert bits is not None and min(OUTPUT_BITS) <= bits <= max(OUTPUT_BITS)
    net = load_network("resnet50")
    core = PhotonicCore.from_params(with_overrides(arch.photonic, output_referred(bits)),
                                    arch.clock.frequency_hz)
    at = network_figures(core, net)["detector_aj_per_mac"]
    assert at == pytest.approx(row["published_aj_per_mac"], rel=0.02)  # 0.01 bit = 1.4 %
    assert bits_matching(arch, net, 1e-6) is None  # below the 1-bit figure: not bracketed
