"""The published figures `imcsim validate` checks are reference data only: no model code
and no arch config carries an emergent one (a figure that must come out of the model)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "imcsim" / "reference" / "published.yaml"


def emergent_figures() -> list[float]:
    doc = yaml.safe_load(PUBLISHED.read_text())
    # (a law's figures are derived from the calibrated SA-level ones: not literals)
    return [float(c["published"]) for group in doc.values() for c in group["checks"]
            if not c["calibrated"] and "law" not in c]


def number_tokens(text: str) -> set[float]:
    return {float(t.replace("_", "")) for t in re.findall(r"(?<![\w.])\d[\d_]*\.?\d*", text)}


def test_emergent_figures_are_found_by_the_scan():
    figures = emergent_figures()
    assert 10.02 in figures and 1814073344.0 in figures
    assert 10.02 in number_tokens("x = 10.02 * y") and 10.02 not in number_tokens("110.021")


def test_no_model_code_or_arch_config_carries_an_emergent_figure():
    figures = set(emergent_figures())
    files = [p for p in (ROOT / "imcsim").rglob("*.py")] + list(
        (ROOT / "arch_configs").rglob("*.yaml"))
    found = {str(p.relative_to(ROOT)): sorted(figures & number_tokens(p.read_text()))
             for p in files}
    assert not {k: v for k, v in found.items() if v}

