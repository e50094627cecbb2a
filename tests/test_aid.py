"""AID discharge-based SRAM multiplier: the root-function gain emerges from the square law,
the worst-case error from V_th mismatch, the energy from its components (none calibrated)."""

from __future__ import annotations

import dataclasses as dc
import shutil

import numpy as np
import pytest
import yaml

from imcsim.circuits.aid import (
    SCOPE,
    cell_current_ua,
    output_swing_v,
    run_aid,
    unit_swing_v,
    word_line_voltage,
)
from imcsim.circuits.aid_study import sensitivity, snr_gain_seeds
from imcsim.circuits.aid_worst_case import output_moments, worst_case
from imcsim.circuits.analog_params import AidParams, load_aid, shipped
from imcsim.circuits.converter_fom import conversion_energy_pj
from imcsim.errors import ConfigError


@pytest.fixture(scope="module")
def aid() -> AidParams:
    return load_aid()


def _with(p: AidParams, **device) -> AidParams:
    return dc.replace(p, device=dc.replace(p.device, **device))


def _quiet(p: AidParams) -> AidParams:
    """No mismatch, no ADC noise: only the device law and quantization remain."""
    return dc.replace(_with(p, vth_sigma_v=0.0), adc=dc.replace(p.adc, noise_sigma_v=0.0),
                      trials=2)


def test_root_dac_gains_at_least_10_db_under_square_law(aid):
    gains = [run_aid(aid, seed)["snr_gain_db"] for seed in range(5)]
    assert min(gains) >= 10.0, gains


def test_energy_is_the_sum_of_its_components_none_calibrated(aid):
    res = run_aid(aid, 0)
    e = res["energy_breakdown_pj"]
    assert res["energy_pj"] == pytest.approx(sum(e.values()))
    assert res["energy_scope_pj"] == pytest.approx(sum(e[k] for k in SCOPE))
    assert res["energy_pj"] - res["energy_scope_pj"] == pytest.approx(e["adc"])
    assert all(v > 0 for v in e.values())
    # the conversion is the figure of merit's law at the ADC's resolution, x2 per bit
    assert e["adc"] == conversion_energy_pj(aid.adc.fom, aid.adc.bits)
    six = run_aid(dc.replace(aid, adc=dc.replace(aid.adc, bits=6)), 0)["energy_breakdown_pj"]
    assert e["adc"] == pytest.approx(4 * six["adc"])
    # the DAC, word line, precharge and accumulator figures are the YAML's (not fitted)
    assert e["dac"] == aid.dac.energy_pj and e["accumulate"] == aid.accumulate_energy_pj


def test_root_dac_discharges_more_than_the_linear_baseline(aid):
    """Same array, devices and converter: only the word-line voltage differs. The root DAC's
    mean cell current is I mean(x/15), the linear one's I mean((x/15)^2) (square law), so
    its precharge energy is larger by mean(x) / mean(x^2 / 15) = 1.45 and it saves nothing."""
    res = run_aid(aid, 0)
    root, lin = res["energy_breakdown_pj"], res["energy_baseline"]["energy_breakdown_pj"]
    x = np.arange(16) / 15
    assert root["precharge"] / lin["precharge"] == pytest.approx(x.mean() / (x * x).mean())
    assert {k: v for k, v in root.items() if k not in ("precharge", "wordline")} == \
        {k: v for k, v in lin.items() if k not in ("precharge", "wordline")}
    assert res["energy_baseline"]["dac"] == "linear"
    assert res["energy_saving_vs_baseline_scope"] == pytest.approx(
        1 - res["energy_scope_pj"] / res["energy_baseline"]["energy_scope_pj"])
    assert res["energy_saving_vs_baseline_scope"] < 0


def test_result_keys_and_determinism(aid):
    a, b, c = run_aid(aid, 3), run_aid(aid, 3), run_aid(aid, 4)
    for key in ("snr_db_linear", "snr_db_root", "snr_gain_db", "worst_error_sigma_codes",
                "energy_pj", "energy_scope_pj"):
        assert isinstance(a[key], float)
    assert a == b
    assert a["snr_db_root"] != c["snr_db_root"]


def test_linear_dac_alone_is_limited_by_square_law_nonlinearity(aid):
    # output ~ x^2 B; after the best gain c, SNR = sum x^2 / sum (x - c x^2)^2 (B cancels)
    x = np.arange(2 ** aid.dac.bits, dtype=float)
    c = (x ** 3).sum() / (x ** 4).sum()
    analytic = 10 * np.log10((x ** 2).sum() / ((x - c * x * x) ** 2).sum())
    res = run_aid(_quiet(aid), 0)
    assert res["snr_db_linear"] == pytest.approx(analytic, abs=0.3)
    assert res["snr_db_root"] > 40  # only the 8-bit quantization is left


def test_gain_comes_from_the_law_not_a_constant(aid):
    # with a linear device law the root DAC is the one that distorts: the sign flips
    res = run_aid(_with(aid, law="linear"), 0)
    assert res["snr_gain_db"] < -5


def test_gain_shrinks_with_mismatch(aid):
    gains = [run_aid(_with(aid, vth_sigma_v=s), 0)["snr_gain_db"]
             for s in (0.005, 0.015, 0.03, 0.045)]
    assert np.all(np.diff(gains) < 0), gains


def test_root_function_makes_square_law_current_linear(aid):
    x = np.arange(16)
    cur = cell_current_ua(word_line_voltage(x, aid, "root"), np.float64(aid.device.vth_v), aid)
    assert np.allclose(cur, aid.device.read_current_ua * x / 15)
    on = dc.replace(aid, dac=dc.replace(aid.dac, zero_code_off=False))
    v = word_line_voltage(np.array([0, 15]), on, "linear")
    assert v.tolist() == pytest.approx([aid.device.vth_v, aid.vdd_v])
    off = dc.replace(aid, dac=dc.replace(aid.dac, zero_code_off=True))
    assert word_line_voltage(np.array([0, 15]), off, "linear").tolist() == [0.0, aid.vdd_v]


def test_zero_code_off_makes_a_zero_input_exact(aid):
    vth = aid.device.vth_v + 0.03 * np.random.default_rng(0).standard_normal((50, 4))
    for off in (True, False):
        p = dc.replace(aid, dac=dc.replace(aid.dac, zero_code_off=off))
        zero = output_swing_v(np.array([0]), vth, p, "root")
        assert (np.all(zero == 0)) == off  # at V_WL = V_th, cells with a low V_th conduct


# ----------------------------------------------------------------------------- worst case
def test_exact_moments_are_the_limit_of_the_monte_carlo(aid):
    """The quadrature moments against a large Monte Carlo of the same rows."""
    trials = 20_000
    rng = np.random.default_rng(1)
    vth = aid.device.vth_v + aid.device.vth_sigma_v * rng.standard_normal((trials, 4))
    y = output_swing_v(np.arange(16), vth, aid, "root") / unit_swing_v(aid, "root")
    mean, std = output_moments(aid, "root")
    se = std / np.sqrt(trials)
    assert np.all(np.abs(y.mean(axis=0) - mean) <= 5 * se + 1e-12)
    assert np.allclose(y.std(axis=0), std, rtol=0.05, atol=1e-12)
    # the pooled worst case read off the samples lands on the exact one within its noise
    prod = np.arange(16)[:, None] * np.arange(16)[None, :]
    err = np.abs(y.mean(axis=0) - prod).max() / np.sqrt((y.std(axis=0) ** 2).mean())
    exact = worst_case(aid, "root")["worst_error_sigma"]
    assert err == pytest.approx(exact, abs=4 / np.sqrt(trials))


def test_worst_case_grows_linearly_with_mismatch_as_the_square_law_predicts(aid):
    """|m| / s at (1, 15) ~ sigma / (2 V_ov(1)) * 15 / sqrt(85) (aid_worst_case docstring)."""
    vals = [worst_case(_with(aid, vth_sigma_v=s), "root") for s in (0.01, 0.02)]
    assert vals[1]["worst_error_sigma"] == pytest.approx(2 * vals[0]["worst_error_sigma"],
                                                         rel=0.05)
    v_ov1 = (aid.vdd_v - aid.device.vth_v) / np.sqrt(15)
    estimate = 0.01 / (2 * v_ov1) * 15 / np.sqrt(85)
    assert vals[0]["worst_error_sigma_product"] == pytest.approx(estimate, rel=0.1)
    assert vals[0]["worst_error_product_at"] == [1, 15]


def test_root_dac_removes_the_systematic_error(aid):
    root, linear = worst_case(aid, "root"), worst_case(aid, "linear")
    assert root["worst_error_sigma"] < 0.05 * linear["worst_error_sigma"]
    # without mismatch the square root is exact: no error at all, no spread
    quiet = worst_case(_with(aid, vth_sigma_v=0.0), "root")
    assert quiet["worst_systematic_error"] == pytest.approx(0.0, abs=1e-9)


# ----------------------------------------------------------------------------- study
def test_seed_distribution_and_sensitivity(aid):
    small = dc.replace(aid, trials=40, study=dc.replace(
        aid.study, sensitivity_seeds=2, vth_sigma_v=[0.01, 0.03], alpha=[2.0, 1.3]))
    gains = [run_aid(small, s)["snr_gain_db"] for s in range(4)]
    dist = snr_gain_seeds(small, 4)
    assert dist["mean"] == pytest.approx(np.mean(gains))
    assert dist["std"] == pytest.approx(np.std(gains, ddof=1))
    assert (dist["min"], dist["max"]) == (min(gains), max(gains))
    sens = sensitivity(small)
    lo, hi = sens["vth_sigma_v"]
    assert lo["snr_gain_db"] > hi["snr_gain_db"]
    assert lo["worst_error_sigma"] < hi["worst_error_sigma"]
    square, short = sens["alpha"]
    assert square["worst_error_sigma"] == pytest.approx(worst_case(small, "root")[
        "worst_error_sigma"])
    assert short["snr_gain_db"] < square["snr_gain_db"] - 5  # the root over-corrects


# ----------------------------------------------------------------------------- config
def _write(tmp_path, edit):
    raw = yaml.safe_load(shipped("aid.yaml").read_text())
    edit(raw)
    path = tmp_path / "aid_variant.yaml"
    path.write_text(yaml.safe_dump(raw))
    shutil.copy(shipped("converter_fom.yaml"), tmp_path)  # its ADC's figure of merit
    return path


@pytest.mark.parametrize("edit, key", [
    (lambda r: r["device"].update(vth_sigmaa=0.01), "device.vth_sigmaa"),
    (lambda r: r["device"].update(vth_sigma_v=-0.01), "device.vth_sigma_v"),
    (lambda r: r["dac"].update(bits=0), "dac.bits"),
    (lambda r: r["adc"].update(bits=0), "adc.bits"),
    (lambda r: r["device"].update(law="cubic"), "device.law"),
    (lambda r: r["device"].update(vth_v=1.2), "device.vth_v"),
    (lambda r: r["adc"].update(inl_lsb=[0.0, 0.1]), "adc.inl_lsb"),
    (lambda r: r["adc"].update(step_energy_pj=0.01), "adc.step_energy_pj"),
    (lambda r: r["study"].update(vth_sigma_v=[0.02, -1]), "study.vth_sigma_v"),
    (lambda r: r["study"].update(alpha="square"), "study.alpha"),
    (lambda r: r["study"].update(seeds=0), "study.seeds"),
])
def test_config_errors_name_file_and_key(tmp_path, edit, key):
    with pytest.raises(ConfigError) as info:
        load_aid(_write(tmp_path, edit))
    assert info.value.key == key and "aid_variant.yaml" in str(info.value)


def test_bit_line_must_stay_saturated(tmp_path):
    p = load_aid(_write(tmp_path, lambda r: r["array"].update(unit_time_ps=200.0)))
    with pytest.raises(ConfigError) as info:
        run_aid(p, 0)
    assert info.value.key == "array.unit_time_ps"


def test_circuit_command_aid():
    import json

    from imcsim.circuits.study import circuit_command
    from imcsim.errors import UsageError

    light = {"trials": 40, "study.seeds": 3, "study.sensitivity_seeds": 1}
    doc, text = circuit_command("aid", {"seed": 1, "overrides": light})
    json.dumps(doc)
    assert doc["circuit"] == "aid" and doc["snr_gain_db"] >= 10 and "SNR gain" in text
    assert doc["snr_gain_seeds"]["seeds"] == 3 and "worst-case error" in text
    assert [pt["value"] for pt in doc["sensitivity"]["vth_sigma_v"]] == \
        load_aid().study.vth_sigma_v
    worse, _ = circuit_command("aid", {"overrides": {**light, "device.vth_sigma_v": 0.05}})
    assert worse["worst_error_sigma"] > doc["worst_error_sigma"]
    with pytest.raises(UsageError):
        circuit_command("dac", {})
    with pytest.raises(UsageError):
        circuit_command("aid", {"sede": 1})
    with pytest.raises(UsageError):
        circuit_command("aid", {"overrides": ["device.vth_v"]})
    with pytest.raises(ConfigError):
        circuit_command("aid", {"overrides": {"nosuch.key": 1}})
    with pytest.raises(ConfigError):
        circuit_command("aid", {"config": "no/such.yaml"})
