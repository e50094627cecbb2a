"""The golden regression: every shipped design's figures are what tests/golden/figures.json
holds (integers and names exactly, floats to 12 significant digits: only the order of a
floating-point sum may differ). Regenerate on purpose with tests/golden/regenerate.py."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def _regenerate_module():
    spec = importlib.util.spec_from_file_location("golden_regenerate",
                                                  GOLDEN_DIR / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def differences(want: Any, got: Any, path: str = "") -> list[str]:
    """Where `got` differs from `want` (paths, with both values)."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{path}.{k}: missing" for k in want if k not in got]
        out += [f"{path}.{k}: unexpected" for k in got if k not in want]
        for k in want.keys() & got.keys():
            out += differences(want[k], got[k], f"{path}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{path}: {len(got)} entries, want {len(want)}"]
        return [d for i, (w, g) in enumerate(zip(want, got, strict=True))
                for d in differences(w, g, f"{path}[{i}]")]
    if isinstance(want, float) or isinstance(got, float):
        if isinstance(want, bool) or isinstance(got, bool) or want is None or got is None:
            return [] if want == got else [f"{path}: {got!r}, want {want!r}"]
        if math.isclose(want, got, rel_tol=1e-12, abs_tol=1e-300) or want == got:
            return []
        return [f"{path}: {got!r}, want {want!r}"]
    return [] if want == got else [f"{path}: {got!r}, want {want!r}"]


def test_differences_finds_changes():
    assert differences({"a": [1, 2.0]}, {"a": [1, 2.0 * (1 + 1e-14)]}) == []
    assert differences({"a": [1, 2.0]}, {"a": [1, 2.0 * (1 + 1e-9)]}) != []
    assert differences({"a": 1}, {"a": 2}) == [".a: 2, want 1"]
    assert differences({"a": 1}, {"b": 1}) == [".a: missing", ".b: unexpected"]


@pytest.mark.slow  # ~16 s: every golden run; CI runs the slow tests too
def test_golden_figures():
    want = json.loads((GOLDEN_DIR / "figures.json").read_text())
    got = json.loads(json.dumps(_regenerate_module().collect()))
    diff = differences(want, got)
    assert not diff, f"{len(diff)} figures changed:\n" + "\n".join(sorted(diff)[:40])
