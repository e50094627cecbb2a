"""Put a design beside its baseline: speedup, power, energy and area efficiency.

Readings (published-figures.md, "How we read the ratios"): speedup = T_base / T_design;
power efficiency = P_base / P_design with P = E / T over the same work; energy
efficiency = E_base / E_design = speedup x power efficiency; area efficiency =
A_base / A_design. At sense-amplifier level the work is one accumulator-wide addition
in one column and the area is one sense amplifier.
"""

from __future__ import annotations

from typing import Any

from imcsim.errors import UsageError
from imcsim.report.result import RunResult


def ratios(t_base: float, t_design: float, e_base: float, e_design: float) -> dict[str, float]:
    speedup = t_base / t_design if t_design else float("inf")
    energy_eff = e_base / e_design if e_design else float("inf")
    return {"speedup": speedup, "energy_efficiency": energy_eff,
            "power_efficiency": energy_eff / speedup if speedup else float("inf")}


def compare(design: RunResult, baseline: RunResult) -> dict[str, Any]:
    if [la.name for la in design.layers] != [la.name for la in baseline.layers]:
        raise UsageError("design and baseline ran different networks", key="--net")
    sa_d, sa_b = design.sa_level, baseline.sa_level
    sa: dict[str, float] = {}
    if sa_d and sa_b:  # both are bit-serial designs with a sense-amplifier addition
        sa = ratios(sa_b["add_time_s"], sa_d["add_time_s"], sa_b["add_energy_j"],
                    sa_d["add_energy_j"])
        sa["area_efficiency"] = sa_b["sa_area_um2"] / sa_d["sa_area_um2"]
    total = ratios(baseline.time_s, design.time_s, baseline.energy_j, design.energy_j)
    layers = []
    for d, b in zip(design.layers, baseline.layers, strict=True):
        row = {"name": d.name, "design_cycles": d.cycles, "baseline_cycles": b.cycles,
               "design_energy_j": d.energy_j, "baseline_energy_j": b.energy_j}
        row.update(ratios(b.time_s, d.time_s, b.energy_j, d.energy_j))
        layers.append(row)
    return {
        "arch": design.arch, "baseline": baseline.arch, "net": design.net,
        "quantizer": design.quantizer,
        **total,
        "area_efficiency": (baseline.area_mm2 / design.area_mm2
                            if design.area_mm2 and baseline.area_mm2 else None),
        "sa_level": sa,
        "design_total": design.to_dict()["total"],
        "baseline_total": baseline.to_dict()["total"],
        "layers": layers,
    }
