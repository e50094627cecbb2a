"""In-memory nonlinear ramp ADC: exact with ideal devices, degrades with noise, ratiometric."""

from __future__ import annotations

import dataclasses as dc

import numpy as np
import pytest
import yaml

from imcsim.circuits.analog_params import NlAdcParams, load_nl_adc, shipped
from imcsim.circuits.nl_adc import Target, _calibrate, ideal_codes, ramp_design, run_nl_adc
from imcsim.errors import ConfigError


@pytest.fixture(scope="module")
def nl() -> NlAdcParams:
    return load_nl_adc()


def _dev(p: NlAdcParams, **kw) -> NlAdcParams:
    return dc.replace(p, device=dc.replace(p.device, **kw))


def _ideal(p: NlAdcParams) -> NlAdcParams:
    return _dev(p, programming_sigma_us=0.0, lognormal_sigma=0.0, stuck_off_rate=0.0)


@pytest.mark.parametrize("fn, lo, hi", [("sigmoid", -6.0, 6.0), ("tanh", -3.0, 3.0),
                                        ("table", -1.0, 4.0)])
def test_ideal_devices_within_one_lsb_at_5_bits(nl, fn, lo, hi):
    p = dc.replace(_ideal(nl), function=fn, domain_min=lo, domain_max=hi,
                   table_x=[-1.0, 0.0, 1.0, 4.0], table_y=[0.0, 0.0, 2.0, 3.0])
    res = run_nl_adc(p, 0)
    assert res["bits"] == 5 and res["max_error_lsb"] <= 1
    assert res["ramp_cells"] == 32 and res["bias_cells"] == 5 and res["conversion_steps"] == 32


def test_codes_follow_the_sigmoid(nl):
    res = run_nl_adc(_ideal(nl), 0)
    x = nl.domain_min + (np.arange(nl.eval_points) + 0.5) * 12.0 / nl.eval_points
    y = 1 / (1 + np.exp(-x))
    lo, hi = 1 / (1 + np.exp(6.0)), 1 / (1 + np.exp(-6.0))
    assert np.abs(res["codes"] - (y - lo) / (hi - lo) * 31).max() <= 0.5 + 1e-9


def test_decreasing_table(nl):
    p = dc.replace(_ideal(nl), function="table", domain_min=0.0, domain_max=1.0,
                   table_x=[0.0, 1.0], table_y=[1.0, -1.0])
    res = run_nl_adc(p, 0)
    assert res["max_error_lsb"] <= 1
    assert res["codes"][0] == 0 and res["codes"][-1] == 31  # code c <-> f(a) + c (f(b)-f(a))/31


def test_error_grows_with_programming_noise(nl):
    base = _dev(nl, stuck_off_rate=0.0)
    sigmas = (0.0, 1.0, 3.0, 9.0)
    rms = [np.mean([run_nl_adc(_dev(base, programming_sigma_us=s), seed)["rms_error_lsb"]
                    for seed in range(8)]) for s in sigmas]
    assert np.all(np.diff(rms) > 0), rms
    assert rms[0] == 0.0 and rms[-1] > 0.5


def test_ratiometric_codes_bit_identical(nl):
    # designed (and calibrated) at 0.15 V or at 0.25 V: the same codes
    a = run_nl_adc(dc.replace(nl, v_read_v=0.15), 7)
    b = run_nl_adc(dc.replace(nl, v_read_v=0.25), 7)
    assert a["stuck_cells"] == b["stuck_cells"] and a["rms_error_lsb"] > 0
    assert np.array_equal(a["codes"], b["codes"])
    # calibrated at 0.2 V, then read at 0.15 V and 0.25 V (a drifting supply): the same codes
    c = run_nl_adc(nl, 7, v_read_v=0.15)["codes"]
    d = run_nl_adc(nl, 7, v_read_v=0.25)["codes"]
    assert np.array_equal(c, d) and np.array_equal(c, run_nl_adc(nl, 7)["codes"])


def test_comparator_offset_breaks_ratiometry(nl):
    # the ratiometry test above can fail: a static current offset does not scale with V_read
    p = dc.replace(_ideal(nl), comparator_offset_sigma_ua=3.0)
    a = run_nl_adc(p, 1, v_read_v=0.15)
    b = run_nl_adc(p, 1, v_read_v=0.25)
    assert not np.array_equal(a["codes"], b["codes"])
    assert max(a["max_error_lsb"], b["max_error_lsb"]) >= 1


def test_calibration_absorbs_a_ramp_offset(nl):
    p = _ideal(nl)
    target = Target(p)
    g, g_u = ramp_design(p, target)
    for shift in (-40.0, 25.0):  # e.g. the first ramp cell mis-programmed by `shift` uS
        ramp = np.cumsum(g) + shift
        tau = _calibrate(p, target, ramp, g_u, 0.0)
        assert tau == pytest.approx(shift, abs=0.5)


def test_ideal_codes_round_to_nearest(nl):
    t = Target(dc.replace(nl, function="tanh", domain_min=-2.0, domain_max=2.0))
    assert ideal_codes(np.array([-2.0, 0.0, 2.0]), t, 5).tolist() == [0, 16, 31]


def test_unknown_function_names_the_key(nl, tmp_path):
    with pytest.raises(ConfigError) as info:
        run_nl_adc(dc.replace(nl, function="softplus"), 0)
    assert info.value.key == "function"
    raw = yaml.safe_load(shipped("nl_adc.yaml").read_text())
    raw["function"] = "softplus"
    path = tmp_path / "nl_variant.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as info:
        load_nl_adc(path)
    assert info.value.key == "function" and "nl_variant.yaml" in str(info.value)


@pytest.mark.parametrize("edit, key", [
    ({"function": "table"}, "table_x"),
    ({"function": "table", "table_x": [0, 1, 2], "table_y": [0, 2, 1]}, "table_y"),
    ({"function": "table", "table_x": [0, 0, 2], "table_y": [0, 1, 2]}, "table_x"),
    ({"domain_min": 7.0}, "domain_max"),
    ({"bits": 0}, "bits"),
    ({"device": {"g_min_us": 1.0, "g_max_us": 150.0, "stuck_off_rate": 1.5}},
     "device.stuck_off_rate"),
    ({"device": {"g_min_us": 1.0, "g_max_us": 150.0, "programming_sigma_us": -1}},
     "device.programming_sigma_us"),
])
def test_config_errors(tmp_path, edit, key):
    raw = yaml.safe_load(shipped("nl_adc.yaml").read_text())
    raw.update(edit)
    path = tmp_path / "nl_variant.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as info:
        load_nl_adc(path)
    assert info.value.key == key


def test_circuit_command_nl_adc():
    import json

    from imcsim.circuits.study import circuit_command

    doc, text = circuit_command("nl-adc", {"seed": 2})
    json.dumps(doc)
    assert doc["circuit"] == "nl-adc" and "codes" not in doc and "RMS" in text
    assert doc["ramp_cells"] == 32 and doc["bias_cells"] == 5


@pytest.mark.parametrize("bits, representable", [(6, True), (7, False), (8, False)])
def test_a_ramp_below_g_min_is_refused_not_clipped(nl, bits, representable):
    """tanh over +-6: at 7-8 bits the flat tails' steps would need conductances under
    G_min (clipped they gave 7-46 LSB errors silently); such a ramp is refused, naming the
    key and the count; where it can be built, ideal devices are exact."""
    p = dc.replace(_ideal(nl), function="tanh", domain_min=-6.0, domain_max=6.0, bits=bits)
    if representable:
        assert run_nl_adc(p, 0)["max_error_lsb"] == 0
        return
    with pytest.raises(ConfigError) as info:
        run_nl_adc(p, 0)
    assert info.value.key == "bits" and "cannot represent tanh" in str(info.value)
    assert "g_min_us" in str(info.value)


def test_error_distribution_over_programmed_columns(nl):
    """Over many programmed columns: deterministic, each figure within its bounds, and
    worse with more programming noise; ideal devices (no noise) leave only the stuck
    cells' errors."""
    import dataclasses

    from imcsim.circuits.nl_adc import error_distribution

    def at(sigma):
        return error_distribution(dataclasses.replace(nl, device=dataclasses.replace(
            nl.device, programming_sigma_us=sigma)), 12)

    low, shipped, high = at(0.0), at(nl.device.programming_sigma_us), at(
        3 * nl.device.programming_sigma_us)
    assert shipped == at(nl.device.programming_sigma_us)
    for d in (low, shipped, high):
        assert 0 <= d["over_1_lsb"]["mean"] <= d["over_1_lsb"]["max"] <= 1
        assert d["max_error_lsb"]["mean"] <= d["max_error_lsb"]["p95"] <= d["max_error_lsb"]["max"]
        assert d["columns_over_1_lsb"] == pytest.approx(
            sum(run_nl_adc(dataclasses.replace(nl, device=dataclasses.replace(
                nl.device, programming_sigma_us=d["programming_sigma_us"])), k)[
                "max_error_lsb"] > 1 for k in range(12)) / 12)
    assert high["rms_error_lsb"] > shipped["rms_error_lsb"] > low["rms_error_lsb"]
    assert high["columns_over_1_lsb"] > low["columns_over_1_lsb"]
