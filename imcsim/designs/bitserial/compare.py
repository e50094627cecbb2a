"""Comparing two bit-serial designs: the SA-level figure (one addition in one column)
and the exact decomposition of the network ratios into factors."""

from __future__ import annotations

from typing import Any

from imcsim.ratios import ratios
from imcsim.report.result import RunResult


def sa_level_ratios(design: RunResult, baseline: RunResult) -> dict[str, float]:
    """Speedup, power, energy and area efficiency of one accumulator-wide addition in
    one column (the area: one sense amplifier)."""
    sa_d, sa_b = design.details["sa_level"], baseline.details["sa_level"]
    sa = ratios(sa_b["add_time_s"], sa_d["add_time_s"], sa_b["add_energy_j"],
                sa_d["add_energy_j"])
    sa["area_efficiency"] = sa_b["sa_area_um2"] / sa_d["sa_area_um2"]
    return sa


def _work(res: RunResult) -> tuple[dict[str, float], dict[str, float]] | None:
    """Subarray busy cycles and dynamic energy by kind of work, summed over layers."""
    if not res.layers or any("work_cycles" not in la.details for la in res.layers):
        return None
    cycles: dict[str, float] = {}
    energy: dict[str, float] = {}
    for la in res.layers:
        for k, v in la.details["work_cycles"].items():
            cycles[k] = cycles.get(k, 0.0) + v
        for k, v in la.details["work_energy_j"].items():
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
    sd, sb = design.details["sa_level"], baseline.details["sa_level"]
    if wd is None or wb is None or not sd or not sb:
        return None
    (cd, ed), (cb, eb) = wd, wb
    if not (cd["add"] and cb["add"] and ed["add"] and eb["add"]):
        return None
    subs_d, subs_b = design.details["subarrays"], baseline.details["subarrays"]

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
