"""Put a design beside its baseline: speedup, power, energy and area efficiency, per layer
and in total, plus what the design kind adds when both runs are of one kind (bit-serial:
the SA-level figure and the decomposition of the ratios into factors).

Readings (published-figures.md, "How we read the ratios"): see `imcsim.ratios`; area
efficiency = A_base / A_design.
"""

from __future__ import annotations

from typing import Any

from imcsim.designs.registry import design_kind
from imcsim.errors import UsageError
from imcsim.ratios import ratios
from imcsim.report.result import RunResult


def compare(design: RunResult, baseline: RunResult) -> dict[str, Any]:
    if [la.name for la in design.layers] != [la.name for la in baseline.layers]:
        raise UsageError("design and baseline ran different networks", key="net")
    total = ratios(baseline.time_s, design.time_s, baseline.energy_j, design.energy_j)
    layers = []
    for d, b in zip(design.layers, baseline.layers, strict=True):
        row = {"name": d.name, "design_cycles": d.cycles, "baseline_cycles": b.cycles,
               "design_energy_j": d.energy_j, "baseline_energy_j": b.energy_j}
        row.update(ratios(b.time_s, d.time_s, b.energy_j, d.energy_j))
        layers.append(row)
    details = (design_kind(design.kind).compare_details(design, baseline)
               if design.kind == baseline.kind else {})
    return {
        "arch": design.arch, "baseline": baseline.arch, "net": design.net,
        "kind": design.kind, "baseline_kind": baseline.kind,
        "quantizer": design.quantizer,
        **total,
        "batch": design.batch,
        "latency_speedup": baseline.latency_s / design.latency_s if design.latency_s else None,
        "throughput_ratio": (design.throughput_per_s / baseline.throughput_per_s
                             if baseline.throughput_per_s else None),
        "area_efficiency": (baseline.area_mm2 / design.area_mm2
                            if design.area_mm2 and baseline.area_mm2 else None),
        "details": details,
        "design_total": design.to_dict()["total"],
        "baseline_total": baseline.to_dict()["total"],
        "layers": layers,
    }
