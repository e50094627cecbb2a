"""Plain-text tables of run, compare and validate results (formatting only)."""

from __future__ import annotations

from typing import Any

from imcsim.report.result import RunResult


def si(value: float, unit: str) -> str:
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


def _mapping_cell(details: dict[str, Any]) -> str:
    mapping = details.get("mapping") or {}
    return "/".join(str(v) for v in mapping.values())


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def run_text(res: RunResult, kind_lines: list[str] | None = None) -> str:
    """The run's table and totals; `kind_lines`: what its design kind adds."""
    first = res.layers[0].details.get("mapping", {}) if res.layers else {}
    rows = [[la.name, "arrays", f"{la.macs:,}", f"{la.weight_sparsity:.2f}", f"{la.cycles:,}",
             si(la.time_s, "s"), si(la.energy_j, "J"), f"{la.utilisation:.2f}",
             _mapping_cell(la.details)] for la in res.layers]
    # the nodes timed beside the weight layers (a vector unit, or attention on the arrays)
    rows += [[op.name, op.unit, f"{op.macs:,}" if op.macs else "-", "-", f"{op.cycles:,}",
              si(op.time_s, "s"), si(op.energy_j, "J"), "-", f"{op.op} ({op.kind})"]
             for op in res.ops]
    table = _table(["layer", "unit", "MACs", "w.sparsity", "cycles", "time", "energy",
                    "util", "/".join(first) or "mapping"], rows)
    e = res.energy_breakdown_j
    a = res.area_breakdown_mm2
    lines = [
        f"arch: {res.arch} ({res.arch_source}, {res.kind})   net: {res.net}   "
        f"weights: {res.quantizer}",
        "", table, "",
        f"total: {res.cycles:,} cycles = {si(res.time_s, 's')} at "
        f"{res.frequency_hz / 1e9:g} GHz; energy {si(res.energy_j, 'J')}; "
        f"average power {si(res.power_w, 'W')}; utilisation {res.utilisation:.2f} "
        f"(busy lane-cycles / lane-cycles; lanes: {res.lanes})",
        "energy by component: " + ", ".join(f"{k} {si(v, 'J')} ({v / res.energy_j:.1%})"
                                            for k, v in e.items() if v),
    ]
    if a:
        lines.append(f"area: {res.area_mm2:.3f} mm^2 ("
                     + ", ".join(f"{k} {v:.3f}" for k, v in a.items()) + ")")
    else:
        lines.append("area: not modelled for this kind of design")
    lines += batch_lines(res) + vector_lines(res)
    lines += kind_lines or []
    for key, value in res.details.items():
        if not _scalar(value):
            continue
        lines.append(f"{key.replace('_', ' ')}: {value:.4g}" if isinstance(value, float)
                     else f"{key.replace('_', ' ')}: {value}")
    return "\n".join(lines)


def vector_lines(res: RunResult) -> list[str]:
    """Each unit's share of the run (the vector unit by kind of work), and what matmuls
    written into the arrays wrote."""
    lines = []
    for unit, label in (("vector_unit", "vector unit"), ("arrays", "on the arrays")):
        ops = [op for op in res.ops if op.unit == unit]
        if not ops:
            continue
        total = sum(op.cycles for op in ops)
        by_kind: dict[str, list[int]] = {}
        for op in ops:
            by_kind.setdefault(op.kind, [0, 0])
            by_kind[op.kind][0] += 1
            by_kind[op.kind][1] += op.cycles
        parts = ", ".join(f"{kind} {n} nodes {cyc:,} cycles"
                          for kind, (n, cyc) in by_kind.items())
        energy = sum(op.energy_j for op in ops)
        lines.append(f"{label}: {len(ops)} nodes, {total:,} cycles "
                     f"({total / res.cycles:.1%} of the run), {si(energy, 'J')}; {parts}")
        if unit == "arrays":
            lines += _written_lines(ops)
    return lines


def _written_lines(ops: list) -> list[str]:
    """Dynamic operands written into the arrays, and the endurance this uses up."""
    bits = sum(op.details.get("written_bits", 0) for op in ops)
    per_cell = max(op.details.get("writes_per_cell", 0) for op in ops)
    line = (f"dynamic operands written into the arrays: {bits / 8:,.0f} bytes per run; "
            f"the most-written cell {per_cell:,} times per node")
    limits = [op.details["inferences_to_endurance"] for op in ops
              if op.details.get("inferences_to_endurance")]
    if limits:
        endurance = ops[0].details["endurance_writes"]
        cell_per_run = sum(op.details.get("writes_per_cell", 0) for op in ops)
        line += (f", {cell_per_run:,} per run at most; endurance {endurance:.3g} writes: "
                 f"{endurance / cell_per_run:.3g} runs")
    return [line]


def batch_lines(res: RunResult) -> list[str]:
    """Batch, latency and throughput; the pipeline's stages where layers overlap."""
    lines = [f"batch {res.batch}: latency {si(res.latency_s, 's')} (the first input's), "
             f"throughput {res.throughput_per_s:,.4g} inputs/s, energy per input "
             f"{si(res.energy_j / res.batch, 'J')}"]
    p = res.pipeline
    if p is None:
        if res.batch > 1:
            lines.append("layers run one after another, the batch's inputs side by side")
        return lines
    lines.append(
        f"pipeline: {len(p['stages'])} stages, one input per {p['interval_cycles']:,.0f} "
        f"cycles (bound by {p['bound_by']}); slowest stage {p['bottleneck']}; "
        f"inter-stage buffers {p['inter_stage_buffer_kib']:,.1f} KiB "
        f"({p['stages'][0].get('buffer_inputs', 0)} inputs each); "
        f"stalled on full buffers {p['blocked_cycles']:,} stage-cycles")
    return lines


def compare_text(cmp: dict[str, Any], kind_lines: list[str] | None = None) -> str:
    """The comparison's table and ratios; `kind_lines`: what the design kind adds."""
    rows = [[r["name"], f"{r['baseline_cycles']:,}", f"{r['design_cycles']:,}",
             f"{r['speedup']:.2f}x", f"{r['energy_efficiency']:.2f}x",
             f"{r['power_efficiency']:.2f}x"] for r in cmp["layers"]]
    table = _table(["layer", f"{cmp['baseline']} cycles", f"{cmp['arch']} cycles", "speedup",
                    "energy eff.", "power eff."], rows)
    area = cmp["area_efficiency"]
    lines = [
        f"{cmp['arch']} vs {cmp['baseline']} on {cmp['net']} ({cmp['quantizer']})", "", table, "",
        f"network: speedup {cmp['speedup']:.2f}x, energy efficiency "
        f"{cmp['energy_efficiency']:.2f}x, power efficiency {cmp['power_efficiency']:.2f}x, "
        "area efficiency " + (f"{area:.2f}x" if area is not None else "n/a"),
        f"batch {cmp['batch']}: latency {si(cmp['baseline_total']['latency_s'], 's')} -> "
        f"{si(cmp['design_total']['latency_s'], 's')} ({_ratio(cmp['latency_speedup'])} "
        f"faster), throughput {cmp['baseline_total']['throughput_per_s']:,.4g} -> "
        f"{cmp['design_total']['throughput_per_s']:,.4g} inputs/s "
        f"({_ratio(cmp['throughput_ratio'])})",
    ]
    lines += kind_lines or []
    return "\n".join(lines)



def _ratio(v: float | None) -> str:
    return f"{v:.2f}x" if v is not None else "n/a"


def _num(v: float) -> str:
    """Counts with thousands separators, ratios with 4 significant digits."""
    return f"{int(v):,}" if float(v).is_integer() and abs(v) >= 1e4 else f"{v:.4g}"


def validate_text(checks: list[dict[str, Any]],
                  reported: list[dict[str, Any]] | None = None) -> str:
    """One table: design, figure, published, simulated, tolerance, kind, result; then the
    explained checks' ablations beside the full model's figure, and the published figures
    the model does not reproduce (reported, not checked)."""
    def published(c: dict[str, Any]) -> str:
        bound = c.get("bound")
        if not bound:
            return _num(c["published"])
        return " ".join(f"{'<=' if k == 'max' else '>='} {_num(v)}" for k, v in bound.items())

    def tolerance(c: dict[str, Any]) -> str:
        if c.get("bound"):
            return f"bound +{c['tolerance']:.0%}" if c["tolerance"] else "bound"
        return f"{c['tolerance']:.0%}" if c["tolerance"] else "exact"

    rows = [[c["design"], c["name"], published(c), _num(c["simulated"]), tolerance(c),
             c["basis"], "PASS" if c["pass"] else "FAIL"] for c in checks]
    n_fail = sum(not c["pass"] for c in checks)
    notes = [f"{c['design']}: {c['name']}: checked under the ablation "
             f"{c['explanation']['ablation']}; the full model gives "
             f"{_num(c['explanation']['full_model'])} "
             f"({c['explanation']['full_model_error']:+.1%}): "
             f"{c['explanation']['explanation']}"
             for c in checks if "explanation" in c]
    notes += [f"{r['design']}: {r['name']}: NOT REPRODUCED (reported, not checked): "
              f"published {_num(r['published'])}, model {_num(r['simulated'])}: {r['reason']}"
              for r in reported or []]
    designs = len({c["design"] for c in checks})
    return _table(["design", "check", "published", "simulated", "tolerance", "kind",
                   "result"], rows) + \
        "".join(f"\n{note}" for note in ["", *notes] if notes) + \
        f"\n\n{len(checks) - n_fail} passed, {n_fail} failed, over {designs} designs"
