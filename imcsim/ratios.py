"""The comparison ratios (published-figures.md, "How we read the ratios"): speedup =
T_base / T_design; energy efficiency = E_base / E_design; power efficiency = P_base /
P_design with P = E / T over the same work (= energy efficiency / speedup)."""

from __future__ import annotations


def ratios(t_base: float, t_design: float, e_base: float, e_design: float) -> dict[str, float]:
    speedup = t_base / t_design if t_design else float("inf")
    energy_eff = e_base / e_design if e_design else float("inf")
    return {"speedup": speedup, "energy_efficiency": energy_eff,
            "power_efficiency": energy_eff / speedup if speedup else float("inf")}
