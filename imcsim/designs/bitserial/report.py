"""The bit-serial lines of the text reports: one addition at sense-amplifier level, and
where a comparison's ratios come from (formatting only)."""

from __future__ import annotations

from typing import Any

from imcsim.report.text import si

SPEED_FACTORS = (("sa_level", "SA-level"), ("additions", "additions issued"),
                 ("other_work", "other subarray work"), ("scheduling", "scheduling"),
                 ("chip", "subarrays"))
ENERGY_FACTORS = (("sa_level", "SA-level"), ("additions", "lane-additions"),
                  ("other_energy", "other energy"))


def run_lines(result: Any) -> list[str]:
    sa = result.details["sa_level"]
    return [f"one {sa['add_bits']}-bit addition per column: {sa['add_cycles']} cycles, "
            f"{si(sa['add_energy_j'], 'J')}, SA area {sa['sa_area_um2']} um^2"]


def compare_lines(cmp: dict[str, Any]) -> list[str]:
    details = cmp["details"]
    sa = details["sa_level"]
    lines = [f"SA level (one addition): speedup {sa['speedup']:.2f}x, power efficiency "
             f"{sa['power_efficiency']:.2f}x, energy efficiency "
             f"{sa['energy_efficiency']:.2f}x, area efficiency {sa['area_efficiency']:.2f}x"]
    dec = details.get("decomposition")
    if not dec:
        return lines
    lines += ["", "where the ratios come from (factors multiply to the network figures):"]
    for total, names in (("speedup", SPEED_FACTORS), ("energy_efficiency", ENERGY_FACTORS)):
        f = dec[total]
        lines.append(f"  {total.replace('_', ' ')} {cmp[total]:.2f}x = " + " x ".join(
            f"{label} {f[key]:.3f}" for key, label in names))
    for who, name in (("design", cmp["arch"]), ("baseline", cmp["baseline"])):
        d = dec[who]
        lines.append(
            f"  {name}: per addition cycle also " + ", ".join(
                f"{k} {v:.1%}" for k, v in d["work_per_add_cycle"].items())
            + f"; subarrays busy {d['busy_fraction']:.1%} of the run; per addition "
            "energy also " + ", ".join(f"{k.replace('_', '/')} {v:.1%}" for k, v in
                                       d["energy_per_add_energy"].items()))
    return lines
