"""The reference designs `imcsim validate` checks: their data (every shipped design has a
folder with at least one published figure, well-formed checks), the published figures
are reference data only (no model code and no arch config carries an emergent one), and
validate's checks, errors and options."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from imcsim.cli import main
from imcsim.errors import UsageError
from imcsim.reference.probes import PROBES
from imcsim.shipped import designs
from imcsim.validate import BASES, bound_error, formula_value, reference_designs, validate

ROOT = Path(__file__).resolve().parents[1]


def emergent_figures() -> list[float]:
    # (laws and formulas are derived from published laws: not literals); bounds and the
    # figures the model does not reproduce are published figures too
    values = []
    for ref in reference_designs().values():
        for c in ref["checks"]:
            if c["basis"] != "calibrated":
                values += [c["published"]] if "published" in c else []
                values += list(c.get("bound", {}).values())
        values += [r["published"] for r in ref.get("reported", [])]
    return [float(v) for v in values if abs(float(v)) > 2]


def number_tokens(text: str) -> set[float]:
    return {float(t.replace("_", "")) for t in re.findall(r"(?<![\w.])\d[\d_]*\.?\d*", text)}


def test_every_shipped_design_has_a_reference_folder_with_checks():
    refs = reference_designs()
    assert set(refs) == set(designs()) and len(refs) >= 6
    for name, ref in refs.items():
        assert ref["design"] == name and ref["config"] in designs() and ref["citation"]
        assert ref["checks"], name
        for spec in ref["checks"]:
            (probe, _), = spec["probe"].items()
            assert probe in PROBES and spec["basis"] in BASES
            assert sum(k in spec for k in ("published", "law", "formula", "bound")) == 1
            assert (spec["basis"] == "explained") == ("ablation" in spec)
        for spec in ref.get("reported", []):
            (probe, _), = spec["probe"].items()
            assert probe in PROBES and spec["name"] and spec["key"] and spec["reason"]
            assert isinstance(spec["published"], (int, float))
        for test in ref.get("tests", []):
            assert (ROOT / test).is_file(), test


def test_emergent_figures_are_found_by_the_scan():
    figures = emergent_figures()
    assert 10.02 in figures and 1814073344.0 in figures and 16848500736.0 in figures
    assert 10.77 in figures  # AID's SNR gain, compared with the seed mean
    assert 10.02 in number_tokens("x = 10.02 * y") and 10.02 not in number_tokens("110.021")


def test_no_model_code_or_arch_config_carries_an_emergent_figure():
    figures = set(emergent_figures())
    files = [p for p in (ROOT / "imcsim").rglob("*.py")] + list(
        (ROOT / "arch_configs").rglob("*.yaml"))
    found = {str(p.relative_to(ROOT)): sorted(figures & number_tokens(p.read_text()))
             for p in files}
    assert not {k: v for k, v in found.items() if v}


def test_formulas_are_arithmetic_over_named_values():
    assert formula_value("2 ** bits", {"bits": 5}) == 32
    assert formula_value("0.5 * (1 - s) ** -1", {"s": 0.5}) == 1.0
    for bad in ("__import__('os')", "bits.real", "f(2)", "unknown + 1"):
        with pytest.raises(UsageError):
            formula_value(bad, {"bits": 5})


def test_validate_named_designs_reports_design_and_kind(capsys):
    doc = validate(["reram_ramp", "photonic"])
    assert {c["design"] for c in doc["checks"]} == {"reram_ramp", "photonic"}
    assert set(doc["files"]) == {"reram_ramp", "photonic"}
    ramp = next(c for c in doc["checks"] if c["name"].startswith("ramp conductances"))
    assert ramp["formula"] == "2 ** bits" and ramp["published"] == 32 and ramp["pass"]
    assert all(c["pass"] for c in doc["checks"])
    assert main(["validate", "photonic"]) == 0
    out = capsys.readouterr().out
    assert "photonic" in out and "over 1 designs" in out


def test_validate_refuses_unknown_designs_and_an_ambiguous_arch(capsys):
    assert main(["validate", "nope"]) == 2
    assert "no reference design nope" in capsys.readouterr().err
    assert main(["validate", "--arch", "fat"]) == 2
    assert "name that design" in capsys.readouterr().err


def test_a_failing_figure_fails_validate(tmp_path, capsys):
    """An edited config whose figure no longer matches: FAIL and exit 1."""
    raw = (ROOT / "arch_configs" / "fat_sram.yaml").read_text()
    edited = tmp_path / "fat_sram.yaml"
    edited.write_text(raw)
    assert main(["validate", "fat_sram", "--arch", str(edited), "--format", "json"]) == 0
    capsys.readouterr()
    import imcsim.validate as v

    refs = v.reference_designs()
    wrong = {**refs["fat_sram"], "checks": [{**refs["fat_sram"]["checks"][0],
                                             "published": 1.0e9}]}
    original = v.reference_designs
    try:
        v.reference_designs = lambda: {**refs, "fat_sram": wrong}  # type: ignore[assignment]
        assert main(["validate", "fat_sram", "--format", "json"]) == 1
    finally:
        v.reference_designs = original  # type: ignore[assignment]
    doc = json.loads(capsys.readouterr().out)
    assert [c["pass"] for c in doc["checks"]] == [False]


def test_bound_error_is_the_relative_distance_outside_the_bound():
    assert bound_error(0.05, None, 0.086) == 0.0
    assert bound_error(0.1, None, 0.08) == pytest.approx(0.25)
    assert bound_error(3.0, 4.0, None) == pytest.approx(0.25)
    assert bound_error(5.0, 4.0, 6.0) == 0.0


def _with_reference(refs: dict, name: str, ref: dict):
    """Run validate on `name` with its reference data replaced by `ref`."""
    import imcsim.validate as v

    original = v.reference_designs
    v.reference_designs = lambda: {**refs, name: ref}  # type: ignore[assignment]
    return original


def test_bound_checks_and_reported_figures(capsys):
    """A generic bound check (here on a network's MACs: no design run) passes inside its
    bound, fails outside, and a tolerance widens it; reported figures are printed beside
    the model's value and never change the exit code."""
    import imcsim.validate as v

    refs = v.reference_designs()
    probe = {"network": {"network": "resnet18"}}
    macs = 1_814_073_344
    checks = [
        {"name": "below", "probe": probe, "key": "total_macs", "bound": {"max": macs * 1.01},
         "basis": "emergent"},
        {"name": "above", "probe": probe, "key": "total_macs", "bound": {"min": macs * 0.99},
         "basis": "emergent"},
        {"name": "outside", "probe": probe, "key": "total_macs", "bound": {"max": macs * 0.9},
         "basis": "emergent"},
        {"name": "widened", "probe": probe, "key": "total_macs", "bound": {"max": macs * 0.9},
         "tolerance": 0.12, "basis": "emergent"},
    ]
    reported = [{"name": "unreproduced", "probe": probe, "key": "total_params",
                 "published": 1.0, "reason": "a reason"}]
    ref = {**refs["fat"], "checks": checks, "reported": reported}
    original = _with_reference(refs, "fat", ref)
    try:
        doc = validate(["fat"])
        code = main(["validate", "fat"])
    finally:
        v.reference_designs = original  # type: ignore[assignment]
    got = {c["name"]: c for c in doc["checks"]}
    assert [got[n]["pass"] for n in ("below", "above", "outside", "widened")] == \
        [True, True, False, True]
    assert got["below"]["bound"] == {"max": macs * 1.01} and got["below"]["relative_error"] == 0
    assert got["outside"]["relative_error"] == pytest.approx(1 / 0.9 - 1)
    assert doc["reported"] == [{"design": "fat", "name": "unreproduced", "published": 1.0,
                                "simulated": 11689512.0, "reason": "a reason"}]
    out = capsys.readouterr().out
    assert code == 1 and "<= " in out and "NOT REPRODUCED" in out and "a reason" in out
    bad = {**ref, "checks": [{**checks[0], "bound": {"maximum": 1}}], "reported": []}
    original = _with_reference(refs, "fat", bad)
    try:
        with pytest.raises(UsageError):
            validate(["fat"])
    finally:
        v.reference_designs = original  # type: ignore[assignment]


def test_circuit_probe_applies_overrides_to_the_circuit_config():
    """An ablation of a circuit study overrides keys of its circuit config."""
    circuit, _ = PROBES["circuit"]
    light = {"trials": 20, "study.seeds": 2, "study.sensitivity_seeds": 1,
             "study.vth_sigma_v": [0.02], "study.alpha": [2.0]}
    base = circuit(circuit="aid", overrides=light)
    less = circuit(circuit="aid", overrides={**light, "device.vth_sigma_v": 0.0125})
    assert base["snr_gain_seeds"]["seeds"] == 2
    assert less["worst_error_sigma"] == pytest.approx(base["worst_error_sigma"] / 2, rel=0.05)


def test_a_check_may_bound_the_difference_of_two_probes(monkeypatch):
    """`minus` subtracts another probe's key from the check's (a gain, a loss against a
    baseline); the bound then applies to the difference."""
    import imcsim.validate as v

    def toy(*, value: float, seed: int = 0) -> dict:
        return {"x": value}

    monkeypatch.setitem(v.PROBES, "toy", (toy, False))
    refs = {"toy": {"design": "toy", "config": "fat", "citation": "a paper", "checks": [
        {"name": "gain", "probe": {"toy": {"value": 0.9}}, "key": "x",
         "minus": {"probe": {"toy": {"value": 0.6}}, "key": "x"}, "bound": {"min": 0.2},
         "basis": "emergent"},
        {"name": "too small a gain", "probe": {"toy": {"value": 0.7}}, "key": "x",
         "minus": {"probe": {"toy": {"value": 0.6}}, "key": "x"}, "bound": {"min": 0.2},
         "basis": "emergent"},
        {"name": "a loss within a point", "probe": {"toy": {"value": 0.975}}, "key": "x",
         "minus": {"probe": {"toy": {"value": 0.98}}, "key": "x"}, "bound": {"min": -0.01},
         "basis": "emergent"}]}}
    monkeypatch.setattr(v, "reference_designs", lambda: refs)
    checks = validate(["toy"])["checks"]
    assert [c["pass"] for c in checks] == [True, False, True]
    assert [c["simulated"] for c in checks] == pytest.approx([0.3, 0.1, -0.005])


def test_the_accuracy_probe_averages_seeds_under_arch_overrides():
    (fn, takes_design) = PROBES["accuracy"]
    assert takes_design
    doc = fn(ROOT / "arch_configs" / "pcm.yaml", network="digits_cnn_noisy", samples=40,
             seeds=2, snr_db=0.0, arch={"crossbar.adc.bits": 6})
    assert doc["samples"] == 40 and doc["seeds"] == 2
    assert doc["simulated_min"] <= doc["simulated"] <= doc["simulated_max"]
    with pytest.raises(UsageError, match="seeds"):
        fn(ROOT / "arch_configs" / "pcm.yaml", network="digits_cnn_noisy", seeds=0)
