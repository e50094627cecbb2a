"""Plain-text tables of run, compare and validate results (formatting only)."""

from __future__ import annotations

from typing import Any

from imcsim.report.result import RunResult


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, "")):
        if abs(value) < scale * 1000 or prefix == "":
            return f"{value / scale:.3f} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(c.rjust(w) if i else c.ljust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(out)


def run_text(res: RunResult) -> str:
    rows = [[la.name, f"{la.macs:,}", f"{la.weight_sparsity:.2f}", f"{la.cycles:,}",
             _si(la.time_s, "s"), _si(la.energy_j, "J"), f"{la.utilisation:.2f}",
             f"{la.split}/{la.tiles}/{la.items}"] for la in res.layers]
    table = _table(["layer", "MACs", "w.sparsity", "cycles", "time", "energy", "util",
                    "split/tiles/items"], rows)
    e = res.energy_breakdown_j
    a = res.area_breakdown_mm2
    sa = res.sa_level
    lines = [
        f"arch: {res.arch} ({res.arch_source})   net: {res.net}   weights: {res.quantizer}",
        "", table, "",
        f"total: {res.cycles:,} cycles = {_si(res.time_s, 's')} at "
        f"{res.frequency_hz / 1e9:g} GHz; energy {_si(res.energy_j, 'J')}; "
        f"average power {_si(res.power_w, 'W')}; utilisation {res.utilisation:.2f}",
        "energy by component: " + ", ".join(f"{k} {_si(v, 'J')} ({v / res.energy_j:.1%})"
                                            for k, v in e.items() if v),
    ]
    if a:
        lines.append(f"area: {res.area_mm2:.3f} mm^2 ("
                     + ", ".join(f"{k} {v:.3f}" for k, v in a.items()) + ")")
    else:
        lines.append("area: not modelled for this kind of design")
    if sa:
        lines.append(f"one {sa['add_bits']}-bit addition per column: {sa['add_cycles']} "
                     f"cycles, {_si(sa['add_energy_j'], 'J')}, SA area {sa['sa_area_um2']} um^2")
    for key, value in res.extra.items():
        lines.append(f"{key.replace('_', ' ')}: {value:.4g}" if isinstance(value, float)
                     else f"{key.replace('_', ' ')}: {value}")
    return "\n".join(lines)


def compare_text(cmp: dict[str, Any]) -> str:
    rows = [[r["name"], f"{r['baseline_cycles']:,}", f"{r['design_cycles']:,}",
             f"{r['speedup']:.2f}x", f"{r['energy_efficiency']:.2f}x",
             f"{r['power_efficiency']:.2f}x"] for r in cmp["layers"]]
    table = _table(["layer", f"{cmp['baseline']} cycles", f"{cmp['arch']} cycles", "speedup",
                    "energy eff.", "power eff."], rows)
    sa = cmp["sa_level"]
    area = cmp["area_efficiency"]
    lines = [
        f"{cmp['arch']} vs {cmp['baseline']} on {cmp['net']} ({cmp['quantizer']})", "", table, "",
        f"network: speedup {cmp['speedup']:.2f}x, energy efficiency "
        f"{cmp['energy_efficiency']:.2f}x, power efficiency {cmp['power_efficiency']:.2f}x, "
        "area efficiency " + (f"{area:.2f}x" if area is not None else "n/a"),
    ]
    if sa:
        lines.append(f"SA level (one addition): speedup {sa['speedup']:.2f}x, power efficiency "
                     f"{sa['power_efficiency']:.2f}x, energy efficiency "
                     f"{sa['energy_efficiency']:.2f}x, area efficiency "
                     f"{sa['area_efficiency']:.2f}x")
    dec = cmp.get("decomposition")
    if dec:
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
    return "\n".join(lines)


SPEED_FACTORS = (("sa_level", "SA-level"), ("additions", "additions issued"),
                 ("other_work", "other subarray work"), ("scheduling", "scheduling"),
                 ("chip", "subarrays"))
ENERGY_FACTORS = (("sa_level", "SA-level"), ("additions", "lane-additions"),
                  ("other_energy", "other energy"))


def _num(v: float) -> str:
    """Counts with thousands separators, ratios with 4 significant digits."""
    return f"{int(v):,}" if float(v).is_integer() and abs(v) >= 1e4 else f"{v:.4g}"


def validate_text(checks: list[dict[str, Any]]) -> str:
    rows = [[c["name"], _num(c["published"]), _num(c["simulated"]),
             f"{c['tolerance']:.0%}" if c["tolerance"] else "exact",
             "calibrated" if c["calibrated"] else "emergent",
             "PASS" if c["pass"] else "FAIL"] for c in checks]
    n_fail = sum(not c["pass"] for c in checks)
    return _table(["check", "published", "simulated", "tolerance", "kind", "result"], rows) + \
        f"\n\n{len(checks) - n_fail} passed, {n_fail} failed"
