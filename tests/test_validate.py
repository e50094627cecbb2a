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
from imcsim.validate import BASES, formula_value, reference_designs, validate

ROOT = Path(__file__).resolve().parents[1]


def emergent_figures() -> list[float]:
    # (laws and formulas are derived from published laws: not literals)
    return [float(c["published"]) for ref in reference_designs().values()
            for c in ref["checks"] if c["basis"] != "calibrated" and "published" in c
            and abs(float(c["published"])) > 2]


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
        for test in ref.get("tests", []):
            assert (ROOT / test).is_file(), test


def test_emergent_figures_are_found_by_the_scan():
    figures = emergent_figures()
    assert 10.02 in figures and 1814073344.0 in figures and 16848500736.0 in figures
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
    assert main(["validate", "reram_ramp"]) == 0
    out = capsys.readouterr().out
    assert "reram_ramp" in out and "over 1 designs" in out


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


def test_bounds_and_differences_check_qualitative_claims(monkeypatch):
    """A `bound` passes when min <= value <= max; `minus` subtracts another probe's key;
    the table shows the bound where a number would stand."""
    import imcsim.validate as v
    from imcsim.report.text import validate_text

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
        {"name": "harmful", "probe": {"toy": {"value": 0.3}}, "key": "x",
         "bound": {"max": 0.5}, "basis": "emergent"},
        {"name": "within", "probe": {"toy": {"value": 0.3}}, "key": "x",
         "bound": {"min": 0.4, "max": 0.5}, "basis": "emergent"}]}}
    monkeypatch.setattr(v, "reference_designs", lambda: refs)
    checks = validate(["toy"])["checks"]
    assert [c["pass"] for c in checks] == [True, False, True, False]
    assert checks[0]["simulated"] == pytest.approx(0.3) and checks[0]["published"] is None
    assert checks[0]["bound"] == {"min": 0.2} and checks[0]["relative_error"] is None
    text = validate_text(checks)
    assert ">= 0.2" in text and "<= 0.5" in text and "in [0.4, 0.5]" in text
    bad = {"toy": {**refs["toy"], "checks": [{**refs["toy"]["checks"][2],
                                              "bound": {"above": 1}}]}}
    monkeypatch.setattr(v, "reference_designs", lambda: bad)
    with pytest.raises(UsageError, match="bound must be a mapping"):
        validate(["toy"])


def test_the_accuracy_probe_averages_seeds_under_arch_overrides():
    (fn, takes_design) = PROBES["accuracy"]
    assert takes_design
    doc = fn(ROOT / "arch_configs" / "pcm.yaml", network="digits_cnn_noisy", samples=40,
             seeds=2, snr_db=0.0, arch={"crossbar.adc.bits": 6})
    assert doc["samples"] == 40 and doc["seeds"] == 2
    assert doc["simulated_min"] <= doc["simulated"] <= doc["simulated_max"]
    with pytest.raises(UsageError, match="seeds"):
        fn(ROOT / "arch_configs" / "pcm.yaml", network="digits_cnn_noisy", seeds=0)
