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
    from imcsim.arch import load_arch

    return compare_designs(load_arch(design, overrides), load_arch(baseline, overrides), net)


def _comparison_checks(group: dict[str, Any], design: Path, baseline: Path, seed: int
                       ) -> list[dict[str, Any]]:
    """The checks of a design-against-baseline group, at its sparsity or, for laws
    (a check with `law` instead of `published`: law / (1 - s)), at each of its
    sparsities. An ablated check compares again under the ablation's overrides."""
    checks = []
    for sparsity in group.get("sparsities", [group.get("sparsity")]):
        net = load_network(group["network"], sparsity=sparsity, seed=seed)
        full_cmp = compare_designs(design, baseline, net)
        ablated: dict[str, dict[str, Any]] = {}
        for spec in group["checks"]:
            if "law" in spec:
                spec = {**spec, "name": f"{spec['name']}, {sparsity:.0%} sparsity",
                        "published": float(spec["law"]) / (1 - sparsity)}
            full = _lookup(full_cmp, spec["key"])
            if "ablation" not in spec:
                checks.append(_check(spec, full, group["source"]))
                continue
            overrides = spec["ablation"]["overrides"]
            key = repr(sorted(overrides.items()))
            if key not in ablated:
                ablated[key] = _compare_with(design, baseline, net, overrides)
            checks.append(_check(spec, _lookup(ablated[key], spec["key"]), group["source"],
                                 full))
    return checks


def validate(arch: str | Path = "fat", baseline: str | Path = "parapim",
             seed: int = 0) -> dict[str, Any]:
    """Every published figure beside the simulated one: {"files": the configs used,
    "checks": [...]}. `arch` and `baseline`: paths, or shipped designs by name."""
    from imcsim.shipped import resolve_design

    design_file, baseline_file = resolve_design(arch), resolve_design(baseline)
    ref = published()
    checks = []
    for name in ("fat_vs_parapim", "fat_vs_parapim_laws"):
        checks += _comparison_checks(ref[name], design_file, baseline_file, seed)
    net = load_network(ref["fat_vs_parapim"]["network"], seed=seed)
    totals = {"total_macs": net.total_macs, "total_params": net.total_params}
    checks += [_check(spec, _lookup(totals, spec["key"]), ref["resnet18"]["source"])
               for spec in ref["resnet18"]["checks"]]
    return {"files": {"design": str(design_file), "baseline": str(baseline_file)},
            "checks": checks}
