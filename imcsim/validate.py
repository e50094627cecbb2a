"""Check the shipped models against published figures (imcsim/reference/published.yaml)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from imcsim.app import compare_designs
from imcsim.errors import UsageError
from imcsim.workload.loader import load_network


def published() -> dict[str, Any]:
    text = resources.files("imcsim.reference").joinpath("published.yaml").read_text()
    return yaml.safe_load(text)


def _lookup(values: dict[str, Any], dotted: str) -> float:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise UsageError(
                f"the comparison of {values.get('arch')} ({values.get('kind')}) with "
                f"{values.get('baseline')} ({values.get('baseline_kind')}) has no {dotted}: "
                "validate checks two bit-serial designs (FAT against ParaPIM)", key="arch")
        node = node[part]
    return float(node)


def _check(spec: dict[str, Any], simulated: float, source: str,
           full: float | None = None) -> dict[str, Any]:
    """One check. With an ablation in `spec`, `simulated` is the ablated figure (the one
    checked) and `full` the full model's, reported beside it with its deviation."""
    pub, tol = float(spec["published"]), float(spec["tolerance"])
    error = abs(simulated - pub) / abs(pub)
    out = {"name": spec["name"], "published": pub, "simulated": simulated, "tolerance": tol,
           "relative_error": error, "calibrated": bool(spec["calibrated"]),
           "pass": error <= tol + 1e-12, "source": source}
    if "ablation" in spec:
        ablation = spec["ablation"]
        assert full is not None  # an ablated check is given the full model's figure
        out["ablation"] = {"name": ablation["name"], "explanation": ablation["explanation"],
                           "full_model": full, "full_model_error": (full - pub) / abs(pub)}
    return out


def _compare_with(design: Path, baseline: Path, net: Any,
                  overrides: dict[str, Any] | None) -> dict[str, Any]:
    from imcsim.arch.loader import load_arch

    return compare_designs(load_arch(design, overrides), load_arch(baseline, overrides), net)


def validate(arch: str | Path = "fat", baseline: str | Path = "parapim",
             seed: int = 0) -> dict[str, Any]:
    """Every published figure beside the simulated one: {"files": the configs used,
    "checks": [...]}. `arch` and `baseline`: paths, or shipped designs by name."""
    from imcsim.shipped import resolve_design

    design_file, baseline_file = resolve_design(arch), resolve_design(baseline)
    ref = published()
    fat_ref = ref["fat_vs_parapim"]
    net = load_network(fat_ref["network"], sparsity=fat_ref["sparsity"], seed=seed)
    cmp = compare_designs(design_file, baseline_file, net)
    checks = []
    for spec in fat_ref["checks"]:
        full = _lookup(cmp, spec["key"])
        if "ablation" in spec:
            ablated = _compare_with(design_file, baseline_file, net,
                                    spec["ablation"]["overrides"])
            checks.append(_check(spec, _lookup(ablated, spec["key"]), fat_ref["source"], full))
        else:
            checks.append(_check(spec, full, fat_ref["source"]))
    totals = {"total_macs": net.total_macs, "total_params": net.total_params}
    checks += [_check(spec, _lookup(totals, spec["key"]), ref["resnet18"]["source"])
               for spec in ref["resnet18"]["checks"]]
    return {"files": {"design": str(design_file), "baseline": str(baseline_file)},
            "checks": checks}
