"""The laser sized by the noise model (imcsim.circuits.photonic_sizing): the SNR it gives
is the SNR asked for, how the light scales with the bits and the repeats, the homodyne
receiver's SNR in photons, and the errors when no light can reach the bits."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from imcsim.circuits.photonic import PhotonicCore, build_photonic, layer_cost
from imcsim.circuits.photonic_noise import (
    ELEMENTARY_CHARGE_C,
    full_scale_terms,
    noisy_matvec,
    photon_energy_j,
    quantum_efficiency,
)
from imcsim.circuits.photonic_sizing import (
    achieved_bits,
    light,
    noise_sized_current,
    solve_unit_current,
    unit_current,
)
from imcsim.errors import ConfigError
from imcsim.workload import ComputeLayer

CONFIG = Path(__file__).resolve().parents[1] / "arch_configs" / "photonic.yaml"
RAW = yaml.safe_load(CONFIG.read_text())["photonic"]
HOMODYNE = {"core.kind": "mzi_mesh", "core.wavelengths": 1, "detector.receiver": "homodyne"}


def params(edits: dict[str, object] | None = None):
    sec = copy.deepcopy(RAW)
    for dotted, value in (edits or {}).items():
        node = sec
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return build_photonic(sec, "test.yaml", "photonic")


def quiet(**extra: object) -> dict[str, object]:
    """Shot noise alone: no TIA noise, no weight noise."""
    return {"detector.tia_noise_pa_per_rthz": 0.0, "noise.weight_noise_std": 0.0, **extra}


@pytest.mark.parametrize("receiver", ["direct", "homodyne"])
@pytest.mark.parametrize("bits_of", ["detection", "output"])
def test_snr_achieved_equals_snr_required(receiver: str, bits_of: str) -> None:
    """For random fan-ins, bits and repeats the sized current gives exactly the bits."""
    edits = {"precision.bits_of": bits_of, **(HOMODYNE if receiver == "homodyne" else {})}
    p = params(edits)
    rng = np.random.default_rng(17)
    for _ in range(40):
        fan_in = int(rng.integers(1, 5000))
        bits = float(rng.uniform(3.0, 7.0))
        k = int(rng.integers(1, 9))
        i1 = noise_sized_current(p, fan_in, bits, k)
        assert achieved_bits(p, fan_in, k, i1) == pytest.approx(bits, abs=1e-9)
        # and the variance equation holds term by term at that current: the inputs of a
        # detection against the ADC's full scale of C inputs, or the whole output
        n, m = (fan_in, fan_in) if bits_of == "output" else (min(fan_in, p.core.cols),
                                                              p.core.cols)
        var = sum(full_scale_terms(p, n, i1).values()) / k
        assert math.log2(2 * m / math.sqrt(12 * var)) == pytest.approx(bits, abs=1e-9)


@pytest.mark.parametrize("receiver", ["direct", "homodyne"])
def test_monte_carlo_noise_of_the_sized_light_gives_the_bits(receiver: str) -> None:
    """Full-scale products (all weights and inputs 1) through noisy_matvec at the sized
    current: the measured std gives the required ENOB (one detection, fan-in C)."""
    p = params({**(HOMODYNE if receiver == "homodyne" else {}), "precision.bits": 7})
    n = p.core.cols
    i1 = unit_current(p, n)
    w = np.ones((64, n))
    x = np.ones((n, 400))
    err = noisy_matvec(w, x, p, 1, np.random.default_rng(3), i1) - n
    sigma = float(err.std())
    measured = math.log2(2 * n / (math.sqrt(12) * sigma))
    assert measured == pytest.approx(7.0, abs=0.02)  # 25,600 draws: std known to 0.5 %


@pytest.mark.parametrize("receiver", ["direct", "homodyne"])
def test_shot_limited_light_is_four_times_per_bit(receiver: str) -> None:
    p = params(quiet(**(HOMODYNE if receiver == "homodyne" else {})))
    for fan_in in (5, 16, 576):
        for bits in (4.0, 6.0, 9.5):
            ratio = noise_sized_current(p, fan_in, bits + 1) / noise_sized_current(p, fan_in, bits)
            assert ratio == pytest.approx(4.0, rel=1e-9)


def test_thermal_limited_light_is_two_times_per_bit() -> None:
    """A TIA 1000x noisier: thermal noise dominates and the current doubles per bit."""
    p = params({"detector.tia_noise_pa_per_rthz": 5000.0, "noise.weight_noise_std": 0.0,
                "laser.max_optical_power_mw": 1e6})
    terms = full_scale_terms(p, 16, noise_sized_current(p, 16, 6.0))
    assert terms["thermal"] > 100 * terms["shot"]
    ratio = noise_sized_current(p, 16, 7.0) / noise_sized_current(p, 16, 6.0)
    assert ratio == pytest.approx(2.0, rel=0.01)


def test_shot_limited_repeats_keep_the_light_per_mac() -> None:
    """Shot noise: K readings of 1/K the light average to the same SNR (K I_1 constant)."""
    p = params(quiet())
    one = noise_sized_current(p, 16, 8.0, 1)
    for k in (2, 4, 16):
        assert k * noise_sized_current(p, 16, 8.0, k) == pytest.approx(one, rel=1e-9)


def test_the_quadratic_root() -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        a, t, d = (float(v) for v in 10.0 ** rng.uniform(-12, 2, size=3))
        i1 = solve_unit_current(a, t, d)
        assert a / i1 + t / i1 ** 2 == pytest.approx(d, rel=1e-9)


def test_homodyne_snr_is_four_eta_photons() -> None:
    """Balanced homodyne with a strong LO (no TIA noise): the full-scale SNR of one
    detection is 4 eta n_fs, n_fs the photons of a full-scale output (C channels);
    direct detection's shot-limited SNR is eta n_fs."""
    for receiver, factor in (("homodyne", 4.0), ("direct", 1.0)):
        p = params(quiet(**(HOMODYNE if receiver == "homodyne" else {})))
        c = p.core.cols
        i1 = unit_current(p, c)
        t_s = 1.0 / (p.core.modulation_ghz * 1e9)
        n_fs = c * (i1 / p.detector.responsivity_a_per_w) * t_s / photon_energy_j(p)
        snr = c * c / full_scale_terms(p, c, i1)["shot"]
        assert snr == pytest.approx(factor * quantum_efficiency(p) * n_fs, rel=1e-9)
    assert quantum_efficiency(p) == pytest.approx(1.0 * photon_energy_j(p) / ELEMENTARY_CHARGE_C)


def test_homodyne_thermal_noise_vanishes_with_a_strong_lo() -> None:
    shares = []
    for lo_mw in (0.01, 1.0, 100.0):
        p = params({**HOMODYNE, "noise.weight_noise_std": 0.0, "detector.lo_power_mw": lo_mw,
                    "laser.max_optical_power_mw": 1e6})
        terms = full_scale_terms(p, 16, unit_current(p, 16))
        shares.append(terms["thermal"] / terms["shot"])
    i_n, q, r = 5e-12, ELEMENTARY_CHARGE_C, 1.0
    assert shares == pytest.approx([i_n ** 2 / (2 * q * r * lo * 1e-3) for lo in (0.01, 1.0, 100.0)])
    assert shares[1] < 0.1 and shares[2] < 1e-3


def test_homodyne_needs_a_coherent_core() -> None:
    with pytest.raises(ConfigError) as info:
        params({"detector.receiver": "homodyne"})  # the shipped core is a microring bank
    assert info.value.key == "photonic.detector.receiver" and "mzi_mesh" in str(info.value)


def test_sensitivity_rule_ignores_the_noise() -> None:
    p = params({"laser.sizing": "sensitivity"})
    i1 = p.detector.responsivity_a_per_w * 10 ** (p.detector.sensitivity_dbm / 10) * 2 ** 8 * 1e-3
    for fan_in in (1, 16, 4608):
        assert unit_current(p, fan_in) == pytest.approx(i1, rel=1e-12)


def test_unreachable_bits_name_the_layer_and_repeats_fix_them() -> None:
    """Weight noise does not fall with light: an output of fan-in 2 (sigma_w 0.005,
    output-referred bits) cannot reach 8 bits at K = 1 (7.35 at most), it can at K = 4
    (8.35). Referred to a detection (the ADC's 16-input full scale) it can."""
    assert noise_sized_current(params(), 2, 8.0, 1) > 0
    p = params({"precision.bits_of": "output"})
    with pytest.raises(ConfigError) as info:
        noise_sized_current(p, 2, 8.0, 1, layer="tiny")
    assert info.value.key == "photonic.precision.per_layer.tiny"
    assert "7.35 bits" in str(info.value) and info.value.source == "test.yaml"
    assert achieved_bits(p, 2, 4, noise_sized_current(p, 2, 8.0, 4)) == pytest.approx(8.0)


def test_a_layer_needing_more_than_the_laser_budget_is_refused() -> None:
    p = params({"precision.per_layer_bits": {"big": 12.0}, "noise.weight_noise_std": 0.0})
    core = PhotonicCore.from_params(p, 1e9)
    layer = ComputeLayer(name="big", kind="conv", in_channels=16, out_channels=16,
                         kernel=(1, 1), stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                         groups=1, in_hw=(4, 4), out_hw=(4, 4),
                         weights=np.zeros((16, 16, 1, 1), np.int8), scale=np.ones(16),
                         weight_bits=2)
    need = light(p, core.link, 16, bits=12.0).laser_optical_mw_per_laser
    assert need > p.laser.max_optical_power_mw
    with pytest.raises(ConfigError) as info:
        layer_cost(layer, core)
    assert info.value.key == "photonic.core"
    assert "layer big" in str(info.value) and f"{need:.4g} mW" in str(info.value)


def test_cli_refuses_unreachable_bits_in_one_line(tmp_path: Path, capsys) -> None:
    from imcsim.cli import main

    data = yaml.safe_load(CONFIG.read_text())
    data["photonic"]["precision"]["per_layer_bits"] = {"conv1": 11}
    path = tmp_path / "photonic.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["run", "--arch", str(path), "--net", "resnet18"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(path) in err
    assert "photonic.precision.per_layer.conv1" in err and "11 effective bits" in err


def test_mlg_generation_that_cannot_reach_the_bits_names_mlg() -> None:
    # ranks 2 and 16: rank-2 products have fan-in 2, out of reach output-referred
    p = params({"mlg.enabled": True, "precision.bits_of": "output"})
    core = PhotonicCore.from_params(p, 1e9)
    layer = ComputeLayer(name="c", kind="conv", in_channels=64, out_channels=64,
                         kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1), dilation=(1, 1),
                         groups=1, in_hw=(8, 8), out_hw=(8, 8),
                         weights=np.zeros((64, 64, 3, 3), np.int8), scale=np.ones(64),
                         weight_bits=2)
    with pytest.raises(ConfigError) as info:
        layer_cost(layer, core)
    assert info.value.key == "photonic.mlg.per_layer.c"
    assert "MLG weight generation of layer c (fan-in 2)" in str(info.value)
    quieter = PhotonicCore.from_params(params({"mlg.enabled": True, "precision.bits_of":
                                               "output", "noise.weight_noise_std": 0.001}), 1e9)
    assert layer_cost(layer, quieter)["mlg"]["generation_macs"] > 0



@pytest.mark.parametrize("receiver", ["direct", "homodyne"])
def test_shot_limited_floor_is_the_sized_light_at_the_detector(receiver: str) -> None:
    """shot_limited_aj_per_mac (3 q 4^b / (R N), homodyne / 4) is the light per MAC the
    noise-sized laser puts on the detectors of one full detection without other noise."""
    from imcsim.circuits.photonic_noise import shot_limited_aj_per_mac

    p = params(quiet(**(HOMODYNE if receiver == "homodyne" else {})))
    c = p.core.cols
    for bits in (4.0, 6.0, 8.0):
        i1 = noise_sized_current(p, c, bits)
        per_mac_aj = i1 / p.detector.responsivity_a_per_w / (p.core.modulation_ghz * 1e9) * 1e18
        assert per_mac_aj == pytest.approx(shot_limited_aj_per_mac(p, c, bits), rel=1e-9)
