"""Analog crossbar designs (arch_configs/reram_ramp.yaml, pcm.yaml, aid_sram.yaml): loading,
circuit references, cycle laws, energy accounting, placement, and config errors.

The laws checked here follow from the model in imcsim/designs/crossbar/mapping.py and
imcsim/designs/crossbar/costs.py; no number is tuned to them.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from imcsim.arch import load_arch
from imcsim.circuits import analog_params as ap
from imcsim.designs.crossbar.costs import CATEGORIES, AnalogCosts
from imcsim.designs.crossbar.mapping import ArrayShape, replicate, tile_layer
from imcsim.errors import ConfigError
from imcsim.simulate import simulate
from tests.conftest import ARCH

CONFIGS = ("reram_ramp.yaml", "pcm.yaml", "aid_sram.yaml")
CIRCUIT_KEYS = ("adc", "nl_adc", "device", "aid")


@pytest.fixture(scope="module")
def resnet18():
    from imcsim.workload.loader import load_network

    return load_network("resnet18", seed=0)


def write_arch(tmp_path: Path, name: str, edits: dict[str, object],
               circuit_files: dict[str, dict] | None = None) -> Path:
    """A shipped config with dotted-key `edits` (None deletes a key), its circuit paths
    made absolute, and extra circuit files written next to it."""
    raw = yaml.safe_load((ARCH / name).read_text())
    xb = raw["crossbar"]
    for key in CIRCUIT_KEYS:
        if isinstance(xb.get(key), str):
            xb[key] = str(ARCH / xb[key])
    for dotted, value in edits.items():
        node = raw
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    for file, content in (circuit_files or {}).items():
        (tmp_path / file).write_text(yaml.safe_dump(content))
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def circuit_raw(name: str) -> dict:
    """A shipped circuit file's mapping, its own file references (an ADC's `fom`) made
    absolute so that a section copied inline elsewhere still finds them."""
    def absolute(node: object) -> object:
        if isinstance(node, dict):
            return {k: (str(ARCH / "circuits" / v) if k == "fom" and isinstance(v, str)
                        else absolute(v)) for k, v in node.items()}
        return node

    raw = absolute(yaml.safe_load((ARCH / "circuits" / name).read_text()))
    assert isinstance(raw, dict)
    return raw


# ----------------------------------------------------------------------------- loading
def test_configs_load_with_their_circuits():
    reram = load_arch(ARCH / "reram_ramp.yaml")
    assert reram.kind == "crossbar"
    xb = reram.crossbar
    assert isinstance(xb.nl_adc, ap.NlAdcParams) and isinstance(xb.adc, ap.AdcParams)
    assert xb.device is xb.nl_adc.device  # the ReRAM cell comes from the NL-ADC file
    assert xb.adc.kind == "ramp" and xb.adc.bits == xb.nl_adc.bits == 5
    pcm = load_arch(ARCH / "pcm.yaml").crossbar
    assert isinstance(pcm.device, ap.PcmParams) and pcm.adc.kind == "sar"
    aid = load_arch(ARCH / "aid_sram.yaml").crossbar
    assert isinstance(aid.aid, ap.AidParams)
    assert aid.weight_bits == aid.aid.weight_bits  # one AID word per weight magnitude


def test_digital_and_photonic_kinds_unchanged():
    assert load_arch(ARCH / "fat.yaml").kind == "bitserial"
    assert load_arch(ARCH / "photonic.yaml").kind == "photonic"


def test_pcm_read_time_is_the_device_model_t_read():
    arch = load_arch(ARCH / "pcm.yaml")
    c = AnalogCosts.from_arch(arch)
    assert c.read_ns == pytest.approx(arch.crossbar.device.read_noise.t_read_s * 1e9)
    assert c.timing.read_cycles == math.ceil(c.read_ns * 1e-9 * arch.clock.frequency_hz - 1e-9)


# ----------------------------------------------------------------------------- runs
@pytest.mark.parametrize("name", CONFIGS)
def test_runs_resnet20_and_resnet18(name, resnet20, resnet18):
    arch = load_arch(ARCH / name)
    small = simulate(arch, resnet20)
    assert small.kind == "crossbar" and small.cycles > 0 and small.energy_j > 0
    t0 = time.perf_counter()
    res = simulate(arch, resnet18)
    elapsed = time.perf_counter() - t0
    assert elapsed < 4.0, f"{name}: resnet18 took {elapsed:.2f} s (target ~2 s)"
    assert res.cycles > small.cycles and res.macs == resnet18.total_macs
    assert set(res.area_breakdown_mm2) == {"array", "adc", "dac", "periphery", "buffers"}
    for la in res.layers:
        assert la.cycles > 0 and 0 < la.utilisation <= 1
        assert la.details["adc_conversions"] > 0 and la.details["mapping"]["tiles"] >= 1


@pytest.mark.parametrize("name", CONFIGS)
def test_energy_breakdown_sums(name, resnet20):
    res = simulate(load_arch(ARCH / name), resnet20)
    assert set(res.energy_breakdown_j) == set(CATEGORIES)
    for la in res.layers:
        assert all(v >= 0 for v in la.energy_breakdown_j.values())
        assert la.energy_j == pytest.approx(sum(la.energy_breakdown_j.values()), rel=1e-12)
    assert res.energy_j == pytest.approx(sum(la.energy_j for la in res.layers), rel=1e-12)
    assert res.details["total_pj_per_mac"] == pytest.approx(res.energy_j / 1e-12 / res.macs)


def _expected_array_pj(arch, layer, t_ns: float, steps: int) -> float:
    """E = V^2 a t sum(G) per pixel and step, G from the ternary weights by hand."""
    xb = arch.crossbar
    g_min, g_max = ((0.0, xb.device.g_max_us) if xb.technology == "pcm"
                    else (xb.device.g_min_us, xb.device.g_max_us))
    nonzero = np.count_nonzero(layer.weights)
    pairs = layer.weight_count
    g_sum = pairs * 2 * g_min + nonzero * (g_max - g_min)  # full-range magnitude on one side
    unused = layer.fan_in * (xb.cols - layer.out_channels * 2) * g_min  # one tile here
    v = xb.nl_adc.v_read_v if xb.nl_adc is not None else xb.v_read_v
    return (layer.out_pixels * steps * v ** 2 * xb.input_activity * t_ns * 1e-3
            * (g_sum + unused))


@pytest.mark.parametrize("name", ["reram_ramp.yaml", "pcm.yaml"])
def test_array_energy_is_conductance_v2_t(name, resnet20):
    arch = load_arch(ARCH / name)
    layer = resnet20.layers[0]  # 27 x 16: one tile
    c = AnalogCosts.from_arch(arch)
    if arch.crossbar.nl_adc is not None:  # rows stay driven through one ramp conversion
        t_ns = c.adc.cycles * 1e9 / c.adc.p.clock_hz
    else:
        t_ns = c.read_ns
    got = simulate(arch, resnet20).layers[0].energy_breakdown_j["array"] / 1e-12
    assert got == pytest.approx(_expected_array_pj(arch, layer, t_ns, c.shape.input_steps),
                                rel=1e-9)


def test_aid_energy_per_computation_is_the_circuit_model(resnet20):
    """The circuit model's energy per computation (circuits/aid.yaml, nothing calibrated)
    at N_b/2 one bits per word; the run charges the precharge per one bit actually
    stored, and the conversion at the ADC's figure of merit."""
    from imcsim.circuits.aid import energy_breakdown_pj, run_aid
    from imcsim.circuits.converter_fom import conversion_energy_pj

    arch = load_arch(ARCH / "aid_sram.yaml")
    c = AnalogCosts.from_arch(arch)
    aid = arch.crossbar.aid
    per = energy_breakdown_pj(aid, c.adc, aid.dac.kind)
    assert sum(per.values()) == pytest.approx(run_aid(aid, 0)["energy_pj"], rel=1e-12)
    assert per["adc"] == conversion_energy_pj(aid.adc.fom, aid.adc.bits)
    layer = resnet20.layers[1]
    la = simulate(arch, resnet20).layers[1]
    steps, nb = c.shape.input_steps, arch.crossbar.aid.weight_bits
    computations = layer.out_pixels * steps * layer.weight_count  # one slice, no pair
    assert la.details["adc_conversions"] == computations
    ones = nb * np.count_nonzero(layer.weights)  # ternary -> 0 or 2^N_b - 1
    want = (computations * (per["wordline"] + per["dac"] + per["adc"] + per["accumulate"])
            + layer.out_pixels * steps * ones * per["precharge"] / (nb / 2))
    e = la.energy_breakdown_j
    merges = layer.out_pixels * layer.out_channels * (-(-layer.fan_in // arch.crossbar.rows) - 1)
    got = (e["array"] + e["dac"] + e["adc"] + e["shift_add"]) / 1e-12 - merges * per["accumulate"]
    assert got == pytest.approx(want, rel=1e-9)


# ----------------------------------------------------------------------------- cycle laws
def _run(name, net, **overrides):
    return simulate(load_arch(ARCH / name, {"crossbar.replicate": False, **overrides}), net)


def test_doubling_dac_bits_halves_input_steps_and_cycles(resnet20):
    a = _run("pcm.yaml", resnet20, **{"crossbar.dac_bits": 4})
    b = _run("pcm.yaml", resnet20, **{"crossbar.dac_bits": 8})
    assert a.layers[0].details["input_steps"] == 2 and b.layers[0].details["input_steps"] == 1
    assert b.cycles < a.cycles
    assert b.cycles / a.cycles == pytest.approx(0.5, abs=0.01)
    assert b.layers[0].details["adc_conversions"] * 2 == a.layers[0].details["adc_conversions"]


def test_halving_cols_per_adc_halves_adc_serialised_cycles(resnet20):
    """256 columns (128 pairs) per ADC: one 8-cycle SAR serves a tile; 128: two of them."""
    a = _run("pcm.yaml", resnet20, **{"crossbar.cols_per_adc": 256})
    b = _run("pcm.yaml", resnet20, **{"crossbar.cols_per_adc": 128})
    for la, lb, layer in zip(a.layers, b.layers, resnet20.layers, strict=True):
        pairs = min(layer.out_channels, 128)
        assert la.details["adc_cycles_per_read"] == pairs * 8
        assert lb.details["adc_cycles_per_read"] == math.ceil(pairs / 2) * 8
        assert la.details["adc_conversions"] == lb.details["adc_conversions"]
    assert b.cycles < a.cycles  # conversions longer than the 250 ns read: ADC-bound


def _ramp_arch(tmp_path: Path, bits: int, adc_clock_hz: float = 1e9):
    nl = circuit_raw("nl_adc.yaml") | {"bits": bits}
    adc = circuit_raw("adc.yaml")["ramp"] | {"bits": bits, "clock_hz": adc_clock_hz}
    path = write_arch(tmp_path, "reram_ramp.yaml",
                      {"crossbar.nl_adc": "nl.yaml", "crossbar.adc": adc,
                       "crossbar.replicate": False}, {"nl.yaml": nl})
    return load_arch(path)


def test_ramp_adc_takes_2_to_the_n_steps(tmp_path, resnet20):
    cycles = {}
    for bits in (4, 5, 6):
        arch = _ramp_arch(tmp_path, bits)
        assert AnalogCosts.from_arch(arch).timing.conversion_cycles == 2 ** bits
        res = simulate(arch, resnet20)
        assert res.layers[0].details["adc_cycles_per_read"] == 2 ** bits
        cycles[bits] = res.cycles
    assert cycles[5] / cycles[4] == pytest.approx(2.0, rel=0.02)
    assert cycles[6] / cycles[5] == pytest.approx(2.0, rel=0.02)


def test_adc_clock_converts_to_global_cycles_with_a_ceiling(tmp_path):
    arch = _ramp_arch(tmp_path, 5, adc_clock_hz=0.3e9)  # 32 steps at 0.3 GHz = 106.7 ns
    assert AnalogCosts.from_arch(arch).timing.conversion_cycles == 107


def test_nl_adc_applies_the_activation_only_when_one_read_holds_the_sum(resnet20):
    res = simulate(load_arch(ARCH / "reram_ramp.yaml"), resnet20)
    first = res.layers[0]  # fan_in 27 <= 256 rows, one slice, one input step
    assert first.details["activation_in_adc"] and first.energy_breakdown_j["activation"] == 0
    deep = res.layers[-2]  # fan_in 576 > 256 rows: partial sums added digitally first
    assert not deep.details["activation_in_adc"] and deep.energy_breakdown_j["activation"] > 0
    two_steps = simulate(load_arch(ARCH / "reram_ramp.yaml", {"crossbar.dac_bits": 2}),
                         resnet20)
    assert not two_steps.layers[0].details["activation_in_adc"]


# ----------------------------------------------------------------------------- mapping
def test_tile_geometry(resnet18):
    arch = load_arch(ARCH / "pcm.yaml")
    shape = ArrayShape.from_arch(arch)
    assert (shape.slices, shape.cols_per_out, shape.channels_per_tile) == (1, 2, 128)
    layer = next(la for la in resnet18.layers if la.fan_in == 4608)  # 512 x 3x3 x 512
    t = tile_layer(layer, shape)
    assert (t.row_tiles, t.col_tiles, t.count) == (18, 4, 72)
    assert t.rows_used.sum() == 4608 * 4 and t.channels.sum() == 512 * 18
    aid = ArrayShape.from_arch(load_arch(ARCH / "aid_sram.yaml"))
    assert (aid.cols_per_out, aid.conv_per_out, aid.rows_per_read) == (5, 1, 1)  # word + sign


def test_replicate_gives_copies_to_the_slowest_layers():
    assert replicate([2, 1], [100, 10], [50, 50], spare=4) == [3, 1]
    assert replicate([2, 1], [100, 10], [50, 50], spare=0) == [1, 1]
    assert replicate([5], [100], [50], spare=4) == [1]  # a copy must fit whole


def test_resident_and_reloaded_placements(resnet20, resnet18):
    pcm = simulate(load_arch(ARCH / "pcm.yaml"), resnet20)
    assert pcm.details["resident"] and pcm.energy_breakdown_j["programming"] == 0
    assert pcm.details["programming_one_off_j"] > 0 and pcm.details["programming_one_off_s"] > 0
    single = _run("pcm.yaml", resnet20)
    assert pcm.cycles < single.cycles  # spare tiles hold copies
    aid = simulate(load_arch(ARCH / "aid_sram.yaml"), resnet18)  # 64 tiles: does not fit
    assert not aid.details["fits_on_chip"] and not aid.details["resident"]
    assert aid.energy_breakdown_j["programming"] > 0
    assert all(la.details["reprogrammed"] for la in aid.layers)
    kinds = set(aid.record.kind)
    assert {"program", "compute", "transfer"} <= kinds
    with pytest.raises(ConfigError, match="placement") as err:
        simulate(load_arch(ARCH / "aid_sram.yaml", {"crossbar.placement": "resident"}), resnet18)
    assert err.value.source.endswith("aid_sram.yaml")


# ----------------------------------------------------------------------------- errors
def _error(path_or_name, overrides=None) -> ConfigError:
    path = path_or_name if isinstance(path_or_name, Path) else ARCH / path_or_name
    with pytest.raises(ConfigError) as err:
        load_arch(path, overrides)
    return err.value


def test_dac_with_zero_bits_is_refused():
    e = _error("pcm.yaml", {"crossbar.dac_bits": 0})
    assert e.source.endswith("pcm.yaml") and e.key == "crossbar.dac_bits"


def test_negative_noise_sigma_is_refused_inline_and_in_a_circuit_file(tmp_path):
    adc = circuit_raw("adc.yaml")["sar"] | {"noise_sigma_v": -0.001}
    e = _error(write_arch(tmp_path, "pcm.yaml", {"crossbar.adc": adc}))
    assert e.source.endswith("pcm.yaml") and e.key == "crossbar.adc.noise_sigma_v"
    nl = circuit_raw("nl_adc.yaml")
    nl["device"]["programming_sigma_us"] = -1.0
    e = _error(write_arch(tmp_path, "reram_ramp.yaml", {"crossbar.nl_adc": "bad_nl.yaml"},
                          {"bad_nl.yaml": nl}))
    assert e.source.endswith("bad_nl.yaml") and e.key == "device.programming_sigma_us"


def test_unknown_nl_function_is_refused(tmp_path):
    nl = circuit_raw("nl_adc.yaml") | {"function": "relu6"}
    e = _error(write_arch(tmp_path, "reram_ramp.yaml", {"crossbar.nl_adc": nl}))
    assert e.source.endswith("reram_ramp.yaml") and e.key == "crossbar.nl_adc.function"
    assert "relu6" in str(e)
    e = _error(write_arch(tmp_path, "reram_ramp.yaml", {"crossbar.nl_adc": "f.yaml"},
                          {"f.yaml": nl}))
    assert e.source.endswith("f.yaml") and e.key == "function"


@pytest.mark.parametrize("name, edits, key", [
    ("aid_sram.yaml", {"crossbar.dac_bits": 4}, "crossbar.dac_bits"),  # the circuit's
    ("aid_sram.yaml", {"crossbar.rows_per_read": 2}, "crossbar.rows_per_read"),
    ("pcm.yaml", {"crossbar.device": None}, "crossbar.device"),
    ("pcm.yaml", {"crossbar.input_activity": 1.5}, "crossbar.input_activity"),
    ("pcm.yaml", {"crossbar.cols_per_adc": 512}, "crossbar.cols_per_adc"),
    ("pcm.yaml", {"crossbar.differential": False}, "crossbar.differential"),
    ("pcm.yaml", {"crossbar.adc": "circuits/adc.yaml#nope"}, "crossbar.adc"),
    ("pcm.yaml", {"crossbar.adc": "circuits/missing.yaml"}, "crossbar.adc"),
    ("reram_ramp.yaml", {"crossbar.sample_and_hold": True}, "crossbar.sample_and_hold"),
    ("reram_ramp.yaml", {"crossbar.adc": "circuits/adc.yaml#sar"}, "crossbar.adc"),
    ("reram_ramp.yaml", {"crossbar.v_read_v": 0.3}, "crossbar.v_read_v"),
    ("reram_ramp.yaml", {"crossbar.technology": "memristor"}, "crossbar.technology"),
    ("reram_ramp.yaml", {"chip": yaml.safe_load((ARCH / "fat.yaml").read_text())["chip"]},
     "chip"),
    ("reram_ramp.yaml", {"bus": None}, "bus"),
])
def test_bad_crossbar_configs_name_file_and_key(tmp_path, name, edits, key):
    edits = {k: (str(ARCH / v) if isinstance(v, str) and v.startswith("circuits/") else v)
             for k, v in edits.items()}
    e = _error(write_arch(tmp_path, name, edits))
    assert e.source.endswith(name) and e.key == key, str(e)


def test_crossbar_sections_in_a_photonic_design_are_unknown_keys(tmp_path):
    raw = yaml.safe_load((ARCH / "photonic.yaml").read_text())
    xb = yaml.safe_load(write_arch(tmp_path, "pcm.yaml", {}).read_text())
    raw.update({k: xb[k] for k in ("crossbar", "buffer", "bus")})
    path = tmp_path / "both.yaml"
    path.write_text(yaml.safe_dump(raw))
    e = _error(path)
    assert e.key in ("crossbar", "buffer", "bus") and "unknown key" in str(e)


def test_too_few_columns_for_one_weight(resnet20):
    arch = load_arch(ARCH / "pcm.yaml", {"crossbar.cols": 1, "crossbar.cols_per_adc": 1})
    with pytest.raises(ConfigError, match="columns") as err:
        simulate(arch, resnet20)
    assert err.value.key == "crossbar.cols"
