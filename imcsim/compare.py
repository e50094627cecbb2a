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


def _work(res: RunResult) -> tuple[dict[str, float], dict[str, float]] | None:
    """Subarray busy cycles and dynamic energy by kind of work, summed over layers."""
    if not res.layers or any("work_cycles" not in la.extra for la in res.layers):
        return None
    cycles: dict[str, float] = {}
    energy: dict[str, float] = {}
    for la in res.layers:
        for k, v in la.extra["work_cycles"].items():
            cycles[k] = cycles.get(k, 0.0) + v
        for k, v in la.extra["work_energy_j"].items():
            energy[k] = energy.get(k, 0.0) + v
    return cycles, energy


def decompose(design: RunResult, baseline: RunResult) -> dict[str, Any] | None:
    """Where the network speedup and energy efficiency come from (bit-serial designs).

    With A the subarray cycles spent in the main phase's additions, B all subarray busy
    cycles, S the subarrays and T the run's cycles (so B = u S T, u the busy fraction):

        speedup = T_b / T_d = (c_b / c_d) (n_b / n_d) [(B/A)_b / (B/A)_d] (u_d / u_b) (S_d / S_b)

    c: cycles of one addition (the SA-level speedup), n: additions issued (zero skipping),
    B/A: all subarray work per addition cycle (loads, resets, readouts, reduction), u:
    scheduling (idle subarrays, imbalance, barriers, bus waits). Likewise

        energy efficiency = (e_b / e_d) (m_b / m_d) [(E/E_add)_b / (E/E_add)_d]

    e: energy of one addition in one column, m: lane-additions, E/E_add: all energy (other
    subarray work, buffers, bus, controller, leakage) per addition energy. The factors
    multiply to the totals exactly; none is an input, all come from the runs.
    """
    wd, wb = _work(design), _work(baseline)
    sd, sb = design.sa_level, baseline.sa_level
    if wd is None or wb is None or not sd or not sb:
        return None
    (cd, ed), (cb, eb) = wd, wb
    if not (cd["add"] and cb["add"] and ed["add"] and eb["add"]):
        return None
    subs_d, subs_b = design.extra["subarrays"], baseline.extra["subarrays"]

    def busy_fraction(res: RunResult, work: dict[str, float], subs: int) -> float:
        return sum(work.values()) / (subs * res.cycles)

    def other(work: dict[str, float]) -> dict[str, float]:
        return {k: v / work["add"] for k, v in work.items() if k != "add"}

    speed = {
        "sa_level": sb["add_cycles"] / sd["add_cycles"],
        "additions": (cb["add"] / sb["add_cycles"]) / (cd["add"] / sd["add_cycles"]),
        "other_work": (sum(cb.values()) / cb["add"]) / (sum(cd.values()) / cd["add"]),
        "scheduling": busy_fraction(design, cd, subs_d) / busy_fraction(baseline, cb, subs_b),
        "chip": subs_d / subs_b,
    }
    energy = {
        "sa_level": sb["add_energy_j"] / sd["add_energy_j"],
        "additions": (eb["add"] / sb["add_energy_j"]) / (ed["add"] / sd["add_energy_j"]),
        "other_energy": (baseline.energy_j / eb["add"]) / (design.energy_j / ed["add"]),
    }

    def side(res: RunResult, cycles: dict[str, float], energy_j: dict[str, float],
             subs: int) -> dict[str, Any]:
        e_other = {k: v / energy_j["add"] for k, v in energy_j.items() if k != "add"}
        non_array = res.energy_j - sum(energy_j.values())
        return {"work_per_add_cycle": other(cycles), "busy_fraction":
                busy_fraction(res, cycles, subs), "energy_per_add_energy": {
                    **e_other, "buffers_bus_controller_leakage": non_array / energy_j["add"]}}

    return {"speedup": speed, "energy_efficiency": energy,
            "design": side(design, cd, ed, subs_d), "baseline": side(baseline, cb, eb, subs_b)}


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
        "decomposition": decompose(design, baseline),
        "design_total": design.to_dict()["total"],
        "baseline_total": baseline.to_dict()["total"],
        "layers": layers,
    }
