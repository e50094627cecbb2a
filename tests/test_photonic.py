"""Tests of the photonic tensor core model: link budget, noise, dynamic precision, MLG, config."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from imcsim.circuits.photonic import (
    CATEGORIES,
    MlgRanks,
    PhotonicCore,
    build_photonic,
    enob,
    generate_weights,
    layer_cost,
    light,
    load_photonic_core,
    load_photonic_params,
    noisy_matvec,
    plan_mlg,
    random_factors,
    repeats_for_bits,
    unit_current,
)
from imcsim.circuits.photonic_noise import noise_variance
from imcsim.designs.photonic.plan import check_layer_names
from imcsim.errors import ConfigError
from imcsim.workload import ComputeLayer, load_network

CONFIG = Path(__file__).resolve().parents[1] / "arch_configs" / "photonic.yaml"
CLOCK = 1e9


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(CONFIG.read_text())


@pytest.fixture(scope="module")
def core() -> PhotonicCore:
    return load_photonic_core(CONFIG, clock_hz=CLOCK)


def make_core(raw: dict, edits: dict[str, object]) -> PhotonicCore:
    """The shipped section with dotted-key `edits` applied (validated like a file)."""
    sec = copy.deepcopy(raw["photonic"])
    for dotted, value in edits.items():
        node = sec
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return PhotonicCore.from_params(build_photonic(sec, "test.yaml", "photonic"), CLOCK)


def make_layer(name: str, cin: int, cout: int, k: int, out_hw: int, groups: int = 1,
               weight_bits: int = 2) -> ComputeLayer:
    return ComputeLayer(name=name, kind="conv", in_channels=cin, out_channels=cout,
                        kernel=(k, k), stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                        groups=groups, in_hw=(out_hw, out_hw), out_hw=(out_hw, out_hw),
                        weights=np.zeros((cout, cin // groups, k, k), dtype=np.int8),
                        scale=np.ones(cout), weight_bits=weight_bits)


# ------------------------------------------------------------------ link budget, laser


def hand_loss_db(sec: dict) -> float:
    """Worst-case path loss of the documented equations, computed independently here."""
    c, lo, lay = sec["core"], sec["losses"], sec["layout"]
    r_lin = 10 ** (lo["extinction_ratio_db"] / 10)
    er = 10 * math.log10((r_lin + 1) / (r_lin - 1))
    rows, cols = c["rows"], c["cols"]
    if c["kind"] == "microring_bank":
        length = lay["routing_cm"] + 2 * cols * lay["device_pitch_um"] * 1e-4
        return (lo["coupler_db"] + lo["modulator_ring_db"] + 2 * (cols - 1) * lo["ring_through_db"]
                + er + 10 * math.log10(rows) + lo["splitter_excess_db"] * math.ceil(math.log2(rows))
                + lo["ring_drop_db"] + (rows - 1) * lo["crossing_db"]
                + lo["waveguide_db_per_cm"] * length)
    depth = cols + 1 + rows
    length = lay["routing_cm"] + depth * lay["device_pitch_um"] * 1e-4
    wdm = 2 * lo["ring_drop_db"] if c["wavelengths"] > 1 else 0.0
    return (lo["coupler_db"] + 10 * math.log10(cols)
            + lo["splitter_excess_db"] * math.ceil(math.log2(cols)) + lo["modulator_mzi_db"]
            + er + depth * lo["mzi_db"] + 10 * math.log10(rows) + wdm + lo["waveguide_db_per_cm"] * length)


@pytest.mark.parametrize("edits", [
    {},
    {"core.kind": "mzi_mesh", "core.wavelengths": 1, "core.rows": 8, "core.cols": 8,
     "core.output_bits": 6},
    {"core.kind": "mzi_mesh", "core.wavelengths": 4, "core.rows": 8, "core.output_bits": 4},
    {"core.rows": 8, "core.cols": 12, "core.wavelengths": 12, "core.output_bits": 5},
])
def test_sensitivity_rule_laser_follows_link_budget(raw: dict, edits: dict) -> None:
    """laser.sizing: sensitivity: P = 10^((IL + S_PD)/10) mW x 2^bits / efficiency per
    laser, whatever the fan-in; the loss from an independent hand computation."""
    edits = {**edits, "laser.sizing": "sensitivity"}
    c = make_core(raw, edits)
    sec = copy.deepcopy(raw["photonic"])
    for dotted, value in edits.items():
        part, key = dotted.split(".")
        sec[part][key] = value
    il = hand_loss_db(sec)
    assert c.link.total_db == pytest.approx(il, rel=1e-12)
    bits = sec["core"]["output_bits"]
    eta = sec["laser"]["wall_plug_efficiency"]
    p_mw = 10 ** ((il + sec["detector"]["sensitivity_dbm"]) / 10) / eta * 2 ** bits
    n_lasers = sec["core"]["wavelengths"]
    for fan_in in (3, 16, 4608):
        lit = light(c.params, c.link, fan_in)
        assert lit.laser_optical_mw_per_laser / eta == pytest.approx(p_mw, rel=1e-12)
        assert lit.laser_electrical_mw == pytest.approx(p_mw * n_lasers, rel=1e-12)


@pytest.mark.parametrize("sizing", ["sensitivity", "noise"])
@pytest.mark.parametrize("kind,key", [
    ("microring_bank", "coupler_db"), ("microring_bank", "modulator_ring_db"),
    ("microring_bank", "ring_drop_db"), ("mzi_mesh", "modulator_mzi_db"),
])
def test_three_db_more_loss_doubles_laser_power(raw: dict, kind: str, key: str,
                                                sizing: str) -> None:
    base = {"core.kind": kind, "core.rows": 8, "core.cols": 8, "core.wavelengths": 8,
            "laser.sizing": sizing}
    if kind == "mzi_mesh":
        base.update({"core.wavelengths": 1, "core.output_bits": 5})
    c0 = make_core(raw, base)
    c1 = make_core(raw, {**base, f"losses.{key}": raw["photonic"]["losses"][key] + 3.0})
    ratio = (light(c1.params, c1.link, 8).laser_electrical_mw
             / light(c0.params, c0.link, 8).laser_electrical_mw)
    assert ratio == pytest.approx(2.0, rel=0.01)


def test_sensitivity_rule_scales_laser_by_two_per_output_bit(raw: dict) -> None:
    c6 = make_core(raw, {"core.output_bits": 6, "laser.sizing": "sensitivity"})
    c7 = make_core(raw, {"core.output_bits": 7, "laser.sizing": "sensitivity"})
    ratio = light(c7.params, c7.link, 16).laser_optical_mw / light(
        c6.params, c6.link, 16).laser_optical_mw
    assert ratio == pytest.approx(2.0, rel=1e-12)


# ------------------------------------------------------------------ noise, precision


@pytest.mark.parametrize("receiver", ["direct", "homodyne"])
def test_noise_std_falls_as_one_over_sqrt_k(raw: dict, receiver: str) -> None:
    edits = {"noise.weight_noise_std": 0.02, "detector.receiver": receiver,
             "laser.sizing": "sensitivity"}  # 8 noise-sized bits are out of reach at 0.02
    if receiver == "homodyne":
        edits.update({"core.kind": "mzi_mesh", "core.wavelengths": 1, "core.rows": 8,
                      "core.cols": 8, "core.output_bits": 4})
    c = make_core(raw, edits)
    i1 = unit_current(c.params, 48)  # a fixed light: the repeats average its noise
    rng = np.random.default_rng(1234)
    w = rng.uniform(-1, 1, size=(64, 48))
    x = rng.uniform(0, 1, size=(48, 2000))
    exact = w @ x
    stds = {}
    for k in (1, 4, 16, 64):
        err = noisy_matvec(w, x, c.params, k, np.random.default_rng(k), i1) - exact
        stds[k] = float(np.sqrt(np.mean(err ** 2)))
        # magnitude: the equations' variance (w, x already at full scale: max|.| ~ 1)
        ws, xs = np.max(np.abs(w)), np.max(np.abs(x))
        xn = x / xs
        chunks = math.ceil(48 / c.params.core.cols)
        var = noise_variance(c.params, np.abs(xn).sum(0), (xn ** 2).sum(0), chunks, i1) / k
        expected = float(np.sqrt(np.mean(var))) * ws * xs
        assert stds[k] == pytest.approx(expected, rel=0.02)
    for k in (4, 16, 64):
        assert stds[k] / stds[1] == pytest.approx(1 / math.sqrt(k), rel=0.02)


def test_noisy_matvec_is_seeded_and_unbiased(core: PhotonicCore) -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 40))
    x = rng.normal(size=40)
    i1 = unit_current(core.params, 40, 3)
    a = noisy_matvec(w, x, core, 3, np.random.default_rng(7), i1)
    b = noisy_matvec(w, x, core.params, 3, np.random.default_rng(7), i1)
    assert np.array_equal(a, b)
    assert a.shape == (8,)
    i1 = unit_current(core.params, 40)
    many = np.stack([noisy_matvec(w, x, core.params, 1, np.random.default_rng(s), i1)
                     for s in range(400)])
    sem = many.std(axis=0) / math.sqrt(400)
    assert np.all(np.abs(many.mean(axis=0) - w @ x) < 5 * sem)


def test_enob_gains_half_bit_per_doubling_and_repeats_for_bits(core: PhotonicCore) -> None:
    p = core.params
    i1 = unit_current(p, 576)  # the light held fixed
    e1 = enob(p, 576, 1, i1)
    assert enob(p, 576, 4, i1) == pytest.approx(e1 + 1.0, abs=1e-9)
    assert enob(p, 576, 16, i1) == pytest.approx(e1 + 2.0, abs=1e-9)
    k = repeats_for_bits(p, 576, e1 + 1.5, i1)
    assert enob(p, 576, k, i1) >= e1 + 1.5 > enob(p, 576, k - 1, i1)
    assert repeats_for_bits(p, 576, e1 - 1, i1) == 1
    assert repeats_for_bits(p, 576, e1 + 1.5) == k  # default: the light of K = 1


def test_repeats_cost_k_times_per_symbol_energy_and_time(raw: dict) -> None:
    """At a fixed laser (the sensitivity rule) K repeats cost K x the per-symbol energy
    and time and add 0.5 log2 K bits."""
    core = make_core(raw, {"laser.sizing": "sensitivity"})
    layer = make_layer("l", 64, 64, 3, 14)
    c1, c4 = layer_cost(layer, core, 1), layer_cost(layer, core, 4)
    for cat in ("laser", "modulators", "adc", "detectors_tia"):
        assert c4["energy_pj"][cat] == pytest.approx(4 * c1["energy_pj"][cat], rel=1e-12)
    j1, j4 = c1["jobs"][0], c4["jobs"][0]
    assert j4["compute_cycles_per_tile"] == math.ceil(4 * 196 / 10)
    assert j1["compute_cycles_per_tile"] == math.ceil(196 / 10)
    assert c4["enob"] == pytest.approx(c1["enob"] + 1.0, abs=1e-9)
    assert c4["macs"] == c1["macs"] == layer.macs


# ------------------------------------------------------------------ cycles and energy


def test_layer_cycles_use_ceil_per_tile(core: PhotonicCore) -> None:
    layer = make_layer("l4", 512, 512, 3, 7)  # fan_in 4608, 49 output pixels
    cost = layer_cost(layer, core, 1)
    tiles = math.ceil(512 / 16) * math.ceil(4608 / 16)
    per_tile = math.ceil(4000e-9 * CLOCK) + math.ceil(49 / 10e9 * CLOCK)  # 4000 + 5
    assert cost["tiles"] == tiles
    assert cost["cycles"] == tiles * per_tile
    assert cost["time_s"] == pytest.approx(tiles * per_tile / CLOCK)


def test_noise_sized_repeats_keep_the_bits_and_cost_k_conversions(core: PhotonicCore) -> None:
    """Under noise sizing the laser of a layer with K repeats is sized for the averaged
    noise: the required bits stay, converters run K times, and the light per MAC is K x
    the K-sized detector current (test_photonic_sizing: how it scales)."""
    layer = make_layer("l", 64, 64, 3, 14)
    c1, c4 = layer_cost(layer, core, 1), layer_cost(layer, core, 4)
    for c in (c1, c4):
        assert c["enob_reference"] == pytest.approx(c["bits_required"], abs=1e-9)
    assert c4["energy_pj"]["adc"] == pytest.approx(4 * c1["energy_pj"]["adc"], rel=1e-12)
    p = core.params
    light_ratio = 4 * unit_current(p, 576, 4) / unit_current(p, 576, 1)
    assert c4["detector_aj_per_mac"] / c1["detector_aj_per_mac"] == pytest.approx(light_ratio)
    assert c4["optical_aj_per_mac"] / c1["optical_aj_per_mac"] == pytest.approx(light_ratio)


def test_energy_categories_and_per_mac_figures(core: PhotonicCore) -> None:
    layer = make_layer("l", 100, 40, 3, 10)  # partial tiles in both dimensions
    cost = layer_cost(layer, core, 2)
    assert tuple(cost["energy_pj"]) == CATEGORIES
    assert cost["energy_total_pj"] == pytest.approx(sum(cost["energy_pj"].values()))
    assert cost["total_pj_per_mac"] == pytest.approx(cost["energy_total_pj"] / layer.macs)
    e = core.params.energy
    readings = math.ceil(900 / 16) * 40 * 100 * 2  # col tiles x used rows x pixels x K
    assert cost["energy_pj"]["adc"] == pytest.approx(e.adc_pj_per_sample * readings)
    on_ns = cost["tiles"] * 100 * 2 / core.params.core.modulation_ghz
    optical_pj = light(core.params, core.link, 900, 2).laser_optical_mw * on_ns
    assert cost["optical_aj_per_mac"] == pytest.approx(optical_pj / layer.macs * 1e6)
    assert cost["energy_pj"]["laser"] == pytest.approx(
        optical_pj / core.params.laser.wall_plug_efficiency)


# ------------------------------------------------------------------ MLG


@pytest.mark.parametrize("ranks", [(2, 16), (0, 16), (3, 0), (2, 10_000)])
def test_mlg_compression_equals_parameter_count_ratio(ranks: tuple[int, int]) -> None:
    net = load_network("resnet18")
    rng = np.random.default_rng(5)
    for layer in net.layers:
        plan = plan_mlg(layer, *ranks)
        basis, cin, cout = random_factors(plan, rng)
        stored = sum(a.size for a in (basis, cin, cout) if a is not None)
        if not plan.active:
            assert plan.compression_ratio == 1.0
            continue
        w = generate_weights(plan, basis, cin, cout)
        assert w.size == layer.weights.size
        assert w.reshape(layer.weights.shape).shape == layer.weights.shape
        assert plan.compression_ratio == pytest.approx(w.size / stored, rel=1e-12)
        if layer.kernel == (1, 1):
            assert not plan.level1  # k^2 = 1: intra-kernel generation cannot save


def test_mlg_parameter_counts_by_hand() -> None:
    net = {layer.name: layer for layer in load_network("resnet18").layers}
    plan = plan_mlg(net["layer1.0.conv1"], 2, 16)  # 64 -> 64, 3x3
    assert plan.stored_params == 16 * 2 * 9 + 16 * 64 * 2 + 64 * 16
    assert plan.compression_ratio == pytest.approx(64 * 64 * 9 / 3360)
    conv1 = plan_mlg(net["conv1"], 3, 16)  # 3 -> 64, 7x7: b_in = C_in saves nothing
    assert not conv1.level1 and conv1.level2
    assert conv1.stored_params == 16 * 3 * 49 + 64 * 16
    fc = plan_mlg(net["fc"], 2, 600)  # 512 -> 1000: b_out 600 > min(1000, 512)
    assert not fc.active and fc.compression_ratio == 1.0


def test_mlg_generation_matches_explicit_sums() -> None:
    layer = make_layer("g", 6, 5, 3, 4)
    plan = plan_mlg(layer, 2, 3)
    assert plan.level1 and plan.level2
    basis, cin, cout = random_factors(plan, np.random.default_rng(9))
    w = generate_weights(plan, basis, cin, cout)
    ref = np.einsum("ob,bcr,bri->oci", cout, cin, basis).reshape(5, 6 * 9)
    assert np.allclose(w, ref)
    assert plan.generation_macs == 3 * 6 * 2 * 9 + 5 * 3 * 6 * 9


def test_mlg_cost_saves_dram_and_adds_optical_work(raw: dict) -> None:
    core = make_core(raw, {})
    layer = make_layer("g", 256, 256, 3, 14, weight_bits=8)
    off = layer_cost(layer, core, 1, mlg=MlgRanks())
    on = layer_cost(layer, core, 1, mlg=MlgRanks(base_in=2, base_out=16))
    m = on["mlg"]
    plan = plan_mlg(layer, 2, 16)
    assert off["mlg"] is None
    assert m["compression_ratio"] == pytest.approx(plan.compression_ratio)
    assert m["dram_bits_saved"] == layer.weight_count * 8 - plan.stored_params * 8
    assert m["generation_macs"] == plan.generation_macs > 0
    assert [j["kind"] for j in on["jobs"]] == ["mlg_level1", "mlg_level2", "mvm"]
    assert on["cycles"] == off["cycles"] + m["generation_cycles"]
    e = core.params.energy
    mem_off_dram = e.dram_pj_per_bit * layer.weight_count * 8
    mem_on_dram = e.dram_pj_per_bit * plan.stored_params * 8
    assert on["energy_pj"]["memory"] < off["energy_pj"]["memory"]
    assert mem_off_dram - mem_on_dram == pytest.approx(m["dram_pj_saved"])


# ------------------------------------------------------------------ config errors


def write_variant(tmp_path: Path, raw: dict, dotted: str, value: object) -> Path:
    data = copy.deepcopy(raw)
    node = data
    *parents, last = dotted.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    path = tmp_path / "photonic.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("dotted,value,needle", [
    ("photonic.losses.coupler_db", -1.0, ">= 0"),
    ("photonic.losses.waveguide_db_per_cm", -0.5, ">= 0"),
    ("photonic.core.wavelengths", 0, "> 0"),
    ("photonic.precision.default_repeats", 0, "> 0"),
    ("photonic.precision.default_repeats", 0.5, "integer"),
    ("photonic.precision.per_layer.conv1", 0, ">= 1"),
    ("photonic.laser.wall_plug_efficiency", 1.5, "<= 1"),
    ("photonic.core.kind", "free_space", "unknown value"),
    ("photonic.losses.typo_db", 1.0, "unknown key"),
    ("photonic.mlg.per_layer.fc", {"base_in": -1}, ">= 0"),
    ("photonic.laser.sizing", "guess", "unknown value"),
    ("photonic.detector.receiver", "coherent", "unknown value"),
    ("photonic.detector.lo_power_mw", 0.0, "> 0"),
    ("photonic.precision.bits", 0, "> 0"),
    ("photonic.precision.bits_of", "layer", "unknown value"),
    ("photonic.precision.per_layer_bits.conv1", 0, "(0, 32]"),
    ("photonic.precision.per_layer_bits.conv1", "8", "(0, 32]"),
])
def test_bad_values_raise_config_error_with_key(tmp_path: Path, raw: dict, dotted: str,
                                                value: object, needle: str) -> None:
    path = write_variant(tmp_path, raw, dotted, value)
    with pytest.raises(ConfigError) as info:
        load_photonic_params(path)
    expected_key = dotted if not dotted.endswith(".fc") else dotted + ".base_in"
    assert info.value.key == expected_key
    assert info.value.source == str(path)
    assert needle in str(info.value)


def test_microring_needs_one_wavelength_per_input(tmp_path: Path, raw: dict) -> None:
    path = write_variant(tmp_path, raw, "photonic.core.wavelengths", 8)
    with pytest.raises(ConfigError) as info:
        load_photonic_params(path)
    assert info.value.key == "photonic.core.wavelengths"


def test_core_larger_than_laser_budget_states_budget(tmp_path: Path, raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["photonic"]["core"].update(rows=64, cols=64, wavelengths=64)
    data["photonic"]["laser"]["sizing"] = "sensitivity"
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_photonic_params(path)
    err = info.value
    assert err.key == "photonic.core" and err.source == str(path)
    big = make_core_unchecked(raw, rows=64, cols=64)
    assert f"{big:.4g} mW" in str(err)
    assert "laser.max_optical_power_mw is 100 mW" in str(err)
    assert big > 100.0


def make_core_unchecked(raw: dict, rows: int, cols: int) -> float:
    """Required optical power per laser from the hand formula (no validation involved)."""
    sec = copy.deepcopy(raw["photonic"])
    sec["core"].update(rows=rows, cols=cols, wavelengths=cols)
    il = hand_loss_db(sec)
    return 10 ** ((il + sec["detector"]["sensitivity_dbm"]) / 10) * 2 ** sec["core"]["output_bits"]


def test_runtime_arguments_are_checked(core: PhotonicCore) -> None:
    layer = make_layer("l", 8, 8, 1, 2)
    with pytest.raises(ConfigError) as info:
        layer_cost(layer, core, 0)
    assert info.value.key == "repeats"
    with pytest.raises(ConfigError):
        PhotonicCore.from_params(core.params, 0.0)


def test_per_layer_repeats_and_unknown_layer_names(raw: dict) -> None:
    net = load_network("resnet18")
    c = make_core(raw, {"precision.per_layer": {"conv1": 4}})
    check_layer_names(c.params, net)
    rows = [layer_cost(layer, c, c.params.repeats(layer.name)) for layer in net.layers]
    assert rows[0]["repeats"] == 4 and rows[1]["repeats"] == 1
    assert sum(r["macs"] for r in rows) == net.total_macs
    bad = make_core(raw, {"precision.per_layer": {"conv_typo": 2}})
    with pytest.raises(ConfigError) as info:
        check_layer_names(bad.params, net)
    assert info.value.key == "photonic.precision.per_layer.conv_typo"


def test_photonic_arch_runs_through_the_engine() -> None:
    """arch_configs/photonic.yaml runs a network: jobs on the cores, energy by component."""
    from imcsim.arch import load_arch
    from imcsim.simulate import simulate
    from imcsim.workload.loader import load_network

    arch = load_arch(CONFIG)
    net = load_network("resnet20")
    res = simulate(arch, net)
    core = PhotonicCore.from_params(arch.photonic, arch.clock.frequency_hz)
    for layer, lr in zip(net.layers, res.layers, strict=True):
        cost = layer_cost(layer, core)
        assert lr.energy_j == pytest.approx(sum(cost["energy_pj"].values()) * 1e-12)
        # tiles dealt over the cores: the layer takes the busiest core's share
        per_tile = sum(j["reprogram_cycles_per_tile"] + j["compute_cycles_per_tile"]
                       for j in cost["jobs"])
        cores = arch.photonic.core.cores
        assert lr.cycles >= per_tile * (cost["tiles"] // cores)
        assert lr.cycles <= cost["cycles"]
    doc = res.to_dict()
    assert doc["kind"] == "photonic" and doc["total"]["details"]["optical_aj_per_mac"] > 0
    assert set(doc["total"]["energy_breakdown_j"]) >= {"laser", "modulators", "adc"}
