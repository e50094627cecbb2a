"""AID discharge-based SRAM multiplier: the root-function gain emerges from the square law."""

from __future__ import annotations

import dataclasses as dc

import numpy as np
import pytest
import yaml

from imcsim.circuits.aid import cell_current_ua, run_aid, word_line_voltage
from imcsim.circuits.analog_params import AidParams, load_aid, shipped
from imcsim.errors import ConfigError

PUBLISHED_ENERGY_PJ = 0.523  # Seyedfaraji et al., DATE 2022 (abstract)


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


def test_energy_matches_published_within_5_percent(aid):
    res = run_aid(aid, 0)
    assert abs(res["energy_pj"] / PUBLISHED_ENERGY_PJ - 1) < 0.05
    assert res["energy_pj"] == pytest.approx(sum(res["energy_breakdown_pj"].values()))
    assert all(v > 0 for v in res["energy_breakdown_pj"].values())


def test_result_keys_and_determinism(aid):
    a, b, c = run_aid(aid, 3), run_aid(aid, 3), run_aid(aid, 4)
    for key in ("snr_db_linear", "snr_db_root", "snr_gain_db", "worst_error_sigma", "energy_pj"):
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


def test_root_dac_removes_the_systematic_error(aid):
    res = run_aid(aid, 0)
    assert res["worst_error_sigma"] < 0.2 * res["worst_error_sigma_linear"]


def test_root_function_makes_square_law_current_linear(aid):
    x = np.arange(16)
    cur = cell_current_ua(word_line_voltage(x, aid, "root"), np.float64(aid.device.vth_v), aid)
    assert np.allclose(cur, aid.device.read_current_ua * x / 15)
    v = word_line_voltage(np.array([0, 15]), aid, "linear")
    assert v.tolist() == pytest.approx([aid.device.vth_v, aid.vdd_v])


def _write(tmp_path, edit):
    raw = yaml.safe_load(shipped("aid.yaml").read_text())
    edit(raw)
    path = tmp_path / "aid_variant.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("edit, key", [
    (lambda r: r["device"].update(vth_sigmaa=0.01), "device.vth_sigmaa"),
    (lambda r: r["device"].update(vth_sigma_v=-0.01), "device.vth_sigma_v"),
    (lambda r: r["dac"].update(bits=0), "dac.bits"),
    (lambda r: r["adc"].update(bits=0), "adc.bits"),
    (lambda r: r["device"].update(law="cubic"), "device.law"),
    (lambda r: r["device"].update(vth_v=1.2), "device.vth_v"),
    (lambda r: r["adc"].update(inl_lsb=[0.0, 0.1]), "adc.inl_lsb"),
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

    doc, text = circuit_command("aid", {"seed": 1})
    json.dumps(doc)
    assert doc["circuit"] == "aid" and doc["snr_gain_db"] >= 10 and "SNR gain" in text
    with pytest.raises(UsageError):
        circuit_command("dac", {})
    with pytest.raises(UsageError):
        circuit_command("aid", {"sede": 1})
    with pytest.raises(ConfigError):
        circuit_command("aid", {"config": "no/such.yaml"})
