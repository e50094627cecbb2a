"""SAR / flash / ramp ADC models: timing, costs, non-idealities and the ramp test."""

from __future__ import annotations

import dataclasses as dc
import shutil

import numpy as np
import pytest
import yaml

from imcsim.circuits import analog_params as ap
from imcsim.circuits.adc import Adc, adc_cycles, ramp_test
from imcsim.circuits.adc_kinds import ADC_KINDS, AdcKind, adc_kind
from imcsim.circuits.analog_params import AdcParams, ConverterFom, load_adc_study, shipped
from imcsim.circuits.converter_fom import conversion_energy_pj, energy_per_step_fj, sndr_db
from imcsim.errors import ConfigError
from imcsim.units import convert_cycles as to_global_cycles

BASE = dict(bits=4, clock_hz=1e9, full_scale_v=1.6, comparator_energy_pj=0.01,
            step_energy_pj=0.002, static_energy_pj=0.03, comparator_area_um2=10.0,
            element_area_um2=1.0, logic_area_um2=5.0)


def params(kind: str, **kw) -> AdcParams:
    return AdcParams(kind=kind, **{**BASE, **kw})


KINDS = ("sar", "flash", "ramp")


@pytest.mark.parametrize("kind, cycles, energy, area", [
    ("sar", 4, 4 * 0.01 + 4 * 0.002 + 0.03, 10 + 16 + 5),
    ("flash", 1, 15 * 0.01 + 1 * 0.002 + 0.03, 15 * 10 + 16 + 5),
    ("ramp", 16, 16 * 0.01 + 16 * 0.002 + 0.03, 10 + 4 + 5),
])
def test_cycles_energy_area(kind, cycles, energy, area):
    adc = Adc(params(kind))
    assert adc.cycles == cycles
    assert adc.energy_pj == pytest.approx(energy)
    assert adc.area_um2 == pytest.approx(area)
    assert adc.global_cycles(1e9) == cycles
    assert adc.global_cycles(0.3e9) == int(np.ceil(cycles * 0.3))


def test_adc_kind_registry():
    assert tuple(ADC_KINDS) == ap.ADC_KINDS == KINDS
    for name, kind in ADC_KINDS.items():
        assert isinstance(kind, AdcKind) and kind.name == name
        assert adc_kind(name) is kind and adc_kind(kind) is kind
        assert kind.description and "\n" not in kind.description
        assert Adc(params(name)).kind is kind
        for bits in (1, 4, 9):
            assert adc_cycles(name, bits) == adc_cycles(kind, bits) == kind.cycles(bits)
            comps, _ = kind.comparators_elements(bits)
            assert comps == kind.comparators(bits)
    assert [ADC_KINDS[k].sar_search for k in KINDS] == [True, False, False]
    with pytest.raises(ValueError, match="sar.*flash.*ramp"):
        adc_kind("pipeline")


@pytest.mark.parametrize("kind", KINDS)
def test_static_offsets_one_per_comparator(kind):
    """One offset draw per comparator: flash keeps them per threshold, the single
    comparator of SAR and ramp gives one scalar shift."""
    adc = Adc(params(kind, comparator_offset_sigma_v=0.01), np.random.default_rng(4))
    expect = np.random.default_rng(4).normal(0.0, 0.01, ADC_KINDS[kind].comparators(4))
    if kind == "flash":
        assert np.array_equal(adc.offset_v, expect) and expect.shape == (15,)
    else:
        assert isinstance(adc.offset_v, float) and adc.offset_v == expect[0]


def test_global_cycles_round_up():
    assert to_global_cycles(8, 1e9, 0.8e9) == 7  # 6.4 -> 7
    assert to_global_cycles(1, 2e9, 1e9) == 1  # half a cycle still takes one
    assert to_global_cycles(32, 1e9, 1e9) == 32  # exact, no spurious extra cycle


@pytest.mark.parametrize("kind", KINDS)
def test_ideal_adc_rounds_to_nearest_code(kind):
    adc = Adc(params(kind))
    v = np.random.default_rng(1).uniform(-0.2, 1.8, (50, 40))
    codes = adc.convert(v)
    assert codes.shape == v.shape
    assert np.array_equal(codes, np.clip(np.floor(v / adc.lsb_v + 0.5), 0, 15))
    lin = ramp_test(adc)
    assert lin.max_inl < 0.02 and lin.max_dnl < 0.02 and lin.missing_codes == 0


@pytest.mark.parametrize("kind", KINDS)
def test_measured_inl_table_is_reproduced(kind):
    inl = np.random.default_rng(2).uniform(-0.4, 0.4, 15).round(3).tolist()
    lin = ramp_test(Adc(params(kind, inl_lsb=inl)), points_per_lsb=128)
    assert np.allclose(lin.inl_lsb, inl, atol=1 / 64)


def test_measured_dnl_table_is_reproduced():
    dnl = np.random.default_rng(3).uniform(-0.5, 0.5, 14).round(3).tolist()
    lin = ramp_test(Adc(params("flash", dnl_lsb=dnl)), points_per_lsb=128)
    assert np.allclose(lin.dnl_lsb, dnl, atol=1 / 32)


def test_sar_capacitor_mismatch_grows_dnl():
    def mean_dnl(sigma):
        p = params("sar", bits=8, unit_mismatch=sigma)
        return np.mean([ramp_test(Adc(p, np.random.default_rng(s)), 16).max_dnl
                        for s in range(8)])
    small, large = mean_dnl(0.002), mean_dnl(0.05)
    assert small < 0.2 < large


def test_comparator_offset_shifts_every_transition():
    adc = Adc(params("sar", comparator_offset_sigma_v=0.02), np.random.default_rng(5))
    lin = ramp_test(adc, 256)
    assert np.allclose(lin.inl_lsb, adc.offset_v / adc.lsb_v, atol=1 / 128)
    assert abs(adc.offset_v) > 0


def test_finite_gain_is_a_gain_error():
    gain = 50.0
    lin = ramp_test(Adc(params("ramp", gain=gain)), 512)
    k = np.arange(1, 16)
    expected = (k - 0.5) * (1 + gain) / gain - (k - 0.5)  # transitions move up by 1/A
    assert np.allclose(lin.inl_lsb, expected, atol=1 / 256)


def test_noise_spreads_codes_and_needs_a_seed():
    adc = Adc(params("flash", bits=6, noise_sigma_v=0.1))
    v = np.full(20000, 0.8)
    codes = adc.convert(v, np.random.default_rng(0))
    assert np.std(codes) == pytest.approx(0.1 / adc.lsb_v, rel=0.05)
    with pytest.raises(ValueError):
        adc.convert(v)
    with pytest.raises(ValueError):
        Adc(params("sar", unit_mismatch=0.01))


def test_shipped_study_loads():
    study = load_adc_study()
    assert [k for k in KINDS if getattr(study, k)] == list(KINDS)


def _variant(tmp_path, edit):
    raw = yaml.safe_load(shipped("adc.yaml").read_text())
    edit(raw)
    path = tmp_path / "adc_variant.yaml"
    path.write_text(yaml.safe_dump(raw))
    shutil.copy(shipped("converter_fom.yaml"), tmp_path)  # the presets it names
    return path


@pytest.mark.parametrize("edit, key", [
    (lambda r: r["sar"].update(kind="flash"), "sar.kind"),
    (lambda r: r["sar"].update(bits=0), "sar.bits"),
    (lambda r: r["flash"].update(inl_lsb=[0.1] * 3), "flash.inl_lsb"),
    (lambda r: r["flash"].update(inl_lsb=[0.0] * 15, unit_mismatch=0.01), "flash.unit_mismatch"),
    (lambda r: r["ramp"].update(noise_sigma_v=-1.0), "ramp.noise_sigma_v"),
    (lambda r: r["ramp"].pop("full_scale_v"), "ramp.full_scale_v"),
    (lambda r: r.update(extra=1), "extra"),
    (lambda r: r["sar"].update(comparator_energy_pj=0.01), "sar.comparator_energy_pj"),
    (lambda r: r["sar"].update(enob=9.0), "sar.enob"),
    (lambda r: r["sar"].update(fom={"walden_fj_per_step": 10.0, "schreier_db": 160.0}),
     "sar.fom.walden_fj_per_step"),
    (lambda r: r["sar"].update(fom={}), "sar.fom.walden_fj_per_step"),
    (lambda r: r["sar"].update(fom="converter_fom.yaml#sar_best"), "sar.fom"),
    (lambda r: r["ramp"].pop("step_energy_pj"), "ramp.step_energy_pj"),
    (lambda r: r["ramp"].update(enob=4.0), "ramp.enob"),
])
def test_study_config_errors(tmp_path, edit, key):
    with pytest.raises(ConfigError) as info:
        load_adc_study(_variant(tmp_path, edit))
    assert info.value.key == key and "adc_variant.yaml" in str(info.value)


def test_adc_without_full_scale_is_an_error():
    with pytest.raises(ConfigError):
        Adc(dc.replace(params("sar"), full_scale_v=None))


def test_circuit_command_adc():
    import json

    from imcsim.circuits.study import circuit_command

    doc, text = circuit_command("adc", {"seed": 0, "config": None})
    json.dumps(doc)
    rows = {r["kind"]: r for r in doc["adcs"]}
    assert rows["sar"]["adc_cycles"] == 8 and rows["flash"]["adc_cycles"] == 1
    assert rows["ramp"]["adc_cycles"] == 32 and rows["flash"]["global_cycles"] == 1
    assert len(rows["sar"]["inl_lsb"]) == 255 and "sar" in text
    assert circuit_command("adc", {"seed": 0})[0] == doc  # seeded: the same document


# ----------------------------------------------------------------------------- figure of merit
def test_walden_energy_doubles_per_bit_and_uses_enob():
    fom = ConverterFom(walden_fj_per_step=20.0)
    e = [Adc(params("sar", fom=fom, comparator_energy_pj=None, step_energy_pj=None,
                    static_energy_pj=None, bits=b)).energy_pj for b in (6, 7, 8)]
    assert e == pytest.approx([20.0 * 2 ** b * 1e-3 for b in (6, 7, 8)])
    assert e[2] / e[1] == pytest.approx(2.0) and e[1] / e[0] == pytest.approx(2.0)
    real = Adc(params("sar", fom=fom, enob=7.5, comparator_energy_pj=None,
                      step_energy_pj=None, static_energy_pj=None, bits=8))
    assert real.energy_pj == pytest.approx(e[2] / 2 ** 0.5)
    assert energy_per_step_fj(real.energy_pj, real.enob) == pytest.approx(20.0)


def test_schreier_energy_quadruples_per_bit_and_matches_its_definition():
    """F_S = SNDR + 10 log10((f_s / 2) / P): at 1 GS/s, P = E_conv * f_s must give F_S back."""
    fom = ConverterFom(schreier_db=160.0)
    for enob in (6.0, 8.0):
        e_j = conversion_energy_pj(fom, enob) * 1e-12
        fs = 1e9
        assert sndr_db(enob) + 10 * np.log10((fs / 2) / (e_j * fs)) == pytest.approx(160.0)
    assert conversion_energy_pj(fom, 9.0) / conversion_energy_pj(fom, 8.0) == \
        pytest.approx(10 ** (6.02 / 10))


def test_shipped_converters_use_the_survey_presets():
    """adc.yaml's SAR and flash take the typical preset; the state-of-the-art one is lower."""
    presets = yaml.safe_load(shipped("converter_fom.yaml").read_text())
    study = load_adc_study()
    for kind in ("sar", "flash"):
        adc = Adc(getattr(study, kind), np.random.default_rng(0))
        typical = presets[f"{kind}_typical"]["walden_fj_per_step"]
        assert adc.energy_pj == pytest.approx(typical * 2 ** adc.bits * 1e-3)
        assert presets[f"{kind}_sota"]["walden_fj_per_step"] < typical
    ramp = study.ramp
    assert ramp.fom is None  # no survey preset: per-step comparator and counter energies
    rng = np.random.default_rng(0)
    assert Adc(dc.replace(ramp, bits=6), rng).energy_pj > 1.9 * Adc(ramp, rng).energy_pj
