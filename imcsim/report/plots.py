"""Matplotlib figures of run, compare and sweep documents (drawing only, nothing computed).

Each ``plot_*`` function draws from the JSON-able documents (`RunResult.to_dict()`,
`imcsim.comparison.compare()`, sweep rows) or from the engine `JobRecord`, renders every
file first, then writes each atomically (temp name, then rename) into `out_dir`, and
returns the paths written. The ``_figure_*`` functions return the `Figure` so tests can
read the plotted values back.

Output is deterministic: figures are built on `matplotlib.figure.Figure` directly (no
pyplot, no GUI backend, no global state touched; PNG is rendered by Agg), SVG ids are
salted with a constant and no date or software version is written into the metadata, so
the same document gives byte-identical files.

matplotlib is imported inside the functions: ``import imcsim`` stays light.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imcsim.atomic import check_dir_target, write_or_collect
from imcsim.errors import ImcsimError, UsageError
from imcsim.report.plot_names import DEFAULT_FORMATS, FORMATS, RUN_FIGURES  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_DPI = 150
_SVG_SALT = "imcsim"


# ---------------------------------------------------------------- writing


def render(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG, SVG or PDF bytes, without dates or versions (reproducible)."""
    import matplotlib

    if fmt not in FORMATS:
        raise UsageError(f"unknown plot format {fmt!r} (choose from {', '.join(FORMATS)})",
                         key="formats")
    metadata: dict[str, Any] = {"svg": {"Date": None, "Creator": None},
                                "png": {"Software": None},
                                "pdf": {"Creator": None, "Producer": None,
                                        "CreationDate": None}}[fmt]
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": _SVG_SALT}):
        fig.savefig(buf, format=fmt, dpi=_DPI, metadata=metadata)
    return buf.getvalue()


def _save(figures: dict[str, Figure], out_dir: str | Path, formats: Iterable[str],
          sink: dict[Path, bytes] | None = None) -> list[Path]:
    """Render every figure in every format first, then write them (or add them to
    `sink`, for the caller to write with the rest of its output set); the paths."""
    out = check_dir_target(out_dir, ImcsimError)
    files = {out / f"{stem}.{fmt}": render(fig, fmt)
             for stem, fig in figures.items() for fmt in formats}
    return write_or_collect(files, sink)


# ---------------------------------------------------------------- helpers


def _new_figure(n_bars: int, height: float = 4.5, rows: int = 1) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(6.0, 1.5 + 0.32 * n_bars), height), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def _layer_axis(ax: Axes, names: Sequence[str]) -> None:
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_xlabel("layer")


def _legend_outside(ax: Axes, title: str | None = None) -> None:
    """Legend right of the axes, where it never hides a bar."""
    ax.legend(title=title, fontsize=8, title_fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def _time_unit(seconds: float) -> tuple[float, str]:
    """Scale from seconds and unit name that keep `seconds` readable."""
    for scale, unit in ((1e9, "ns"), (1e6, "µs"), (1e3, "ms")):
        if seconds * scale < 1e4:
            return scale, unit
    return 1.0, "s"


def _finite(values: Iterable[float]) -> list[float]:
    """Non-finite ratios (a zero denominator) are left out of the bars (NaN)."""
    return [float(v) if np.isfinite(v) else float("nan") for v in values]


def _subtitle(doc: dict[str, Any]) -> str:
    return f"{doc['net']}, weights: {doc['quantizer']}"


# ---------------------------------------------------------------- run


UNIT_COLOURS = {"arrays": "tab:blue", "vector_unit": "tab:orange"}


def _figure_run_cycles(doc: dict[str, Any]) -> Figure:
    """Cycles per layer, then per node timed beside the layers, coloured by the unit each
    ran on (weight layers on the arrays)."""
    layers = [*doc["layers"], *doc.get("ops", [])]
    names = [la["name"] for la in layers]
    units = [la.get("unit", "arrays") for la in layers]
    fig, (ax,) = _new_figure(len(names))
    for unit in dict.fromkeys(units):
        x = [i for i, u in enumerate(units) if u == unit]
        ax.bar(x, [layers[i]["cycles"] for i in x], label=unit.replace("_", " "),
               color=UNIT_COLOURS.get(unit, "tab:gray"))
    _layer_axis(ax, names)
    if len(set(units)) > 1:
        _legend_outside(ax, "ran on")
    f = float(doc["frequency_hz"])
    ax.set_ylabel(f"cycles (clock {f / 1e9:g} GHz)")
    ax.yaxis.set_major_formatter("{x:,.0f}")
    scale, unit = _time_unit(max((la["cycles"] for la in layers), default=0) / f)
    sec = ax.secondary_yaxis("right", functions=(lambda c: np.asarray(c) / f * scale,
                                                 lambda t: np.asarray(t) / scale * f))
    sec.set_ylabel(f"time ({unit})")
    total = doc["total"]
    ax.set_title(f"{doc['arch']}: cycles per layer (total {total['cycles']:,} cycles)")
    fig.suptitle(_subtitle(doc), fontsize=8)
    return fig


def _figure_run_energy(doc: dict[str, Any]) -> Figure:
    layers = doc["layers"]
    names = [la["name"] for la in layers]
    components: list[str] = []
    for la in layers:
        components += [c for c in la["energy_breakdown_j"] if c not in components]
    fig, (ax,) = _new_figure(len(names))
    bottom = np.zeros(len(layers))
    x = range(len(names))
    for comp in components:
        uj = np.array([la["energy_breakdown_j"].get(comp, 0.0) * 1e6 for la in layers])
        if not uj.any():
            continue  # a component that spends nothing gets no legend entry
        ax.bar(x, uj, bottom=bottom, label=comp.replace("_", " "))
        bottom += uj
    _layer_axis(ax, names)
    ax.set_ylabel("energy (µJ)")
    _legend_outside(ax, title="component")
    ax.set_title(f"{doc['arch']}: energy per layer by component "
                 f"(total {doc['total']['energy_j'] * 1e6:.4g} µJ)")
    fig.suptitle(_subtitle(doc), fontsize=8)
    return fig


def _figure_run_utilisation(doc: dict[str, Any]) -> Figure:
    layers = doc["layers"]
    names = [la["name"] for la in layers]
    fig, (ax,) = _new_figure(len(names))
    util = [la["utilisation"] for la in layers]
    ax.bar(range(len(names)), util, color="tab:green", label="layer")
    net = doc["total"]["utilisation"]
    ax.axhline(net, color="black", linestyle="--", linewidth=1,
               label=f"network (cycle-weighted): {net:.2f}")
    _layer_axis(ax, names)
    ax.set_ylim(0, max(1.0, *util) * 1.05)
    lanes = doc.get("utilisation", {}).get("lanes", "lanes")
    ax.set_ylabel(f"utilisation\n(busy lane-cycles / lane-cycles;\nlanes: {lanes})")
    _legend_outside(ax)
    ax.set_title(f"{doc['arch']}: utilisation per layer")
    fig.suptitle(_subtitle(doc), fontsize=8)
    return fig


def plot_run(doc: dict[str, Any], out_dir: str | Path,
             formats: Sequence[str] = DEFAULT_FORMATS,
             sink: dict[Path, bytes] | None = None) -> list[Path]:
    """Cycles, stacked energy by component (µJ) and utilisation per layer of a run
    document (`RunResult.to_dict()`): ``run_cycles``, ``run_energy``, ``run_utilisation``."""
    return _save({"run_cycles": _figure_run_cycles(doc),
                  "run_energy": _figure_run_energy(doc),
                  "run_utilisation": _figure_run_utilisation(doc)}, out_dir, formats, sink)


# ---------------------------------------------------------------- compare


def _figure_compare(doc: dict[str, Any]) -> Figure:
    layers = doc["layers"]
    names = [la["name"] for la in layers]
    fig, axes = _new_figure(len(names), height=7.0, rows=2)
    panels = (("speedup", "speedup (×)\nbaseline time / design time", "tab:blue"),
              ("energy_efficiency", "energy efficiency (×)\nbaseline energy / design energy",
               "tab:orange"))
    for ax, (key, ylabel, color) in zip(axes, panels, strict=True):
        ax.bar(range(len(names)), _finite(la[key] for la in layers), color=color,
               label="layer")
        ax.axhline(doc[key], color="black", linestyle="--", linewidth=1,
                   label=f"network: {doc[key]:.2f}×")
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=1,
                   label=f"{doc['baseline']} (1×)")
        ax.set_ylabel(ylabel)
        _legend_outside(ax)
    axes[0].set_title(f"{doc['arch']} vs {doc['baseline']}: per-layer speedup and "
                      "energy efficiency")
    _layer_axis(axes[-1], names)
    axes[0].set_xlabel("")
    fig.suptitle(_subtitle(doc), fontsize=8)
    return fig


def _figure_latency_throughput(doc: dict[str, Any]) -> Figure:
    from matplotlib.figure import Figure

    names = [doc["baseline"], doc["arch"]]
    totals = [doc["baseline_total"], doc["design_total"]]
    fig = Figure(figsize=(8.0, 4.0), layout="constrained")
    axes = fig.subplots(1, 2)
    panels = (("latency_s", "latency of the first input (s)", "tab:purple",
               f"{_num_ratio(doc['latency_speedup'])} lower"),
              ("throughput_per_s", "throughput (inputs / s)", "tab:green",
               f"{_num_ratio(doc['throughput_ratio'])}"))
    for ax, (key, label, color, ratio) in zip(axes, panels, strict=True):
        ax.bar(range(2), _finite(t[key] for t in totals), color=color)
        ax.set_xticks(range(2), names)
        ax.set_ylabel(label)
        ax.set_title(f"{doc['arch']}: {ratio}", fontsize=10)
    fig.suptitle(f"batch {doc['batch']}: latency and throughput\n{_subtitle(doc)}", fontsize=9)
    return fig


def _num_ratio(v: float | None) -> str:
    return f"{v:.2f}×" if v is not None else "n/a"


def plot_compare(doc: dict[str, Any], out_dir: str | Path,
                 formats: Sequence[str] = DEFAULT_FORMATS) -> list[Path]:
    """Per-layer speedup and energy efficiency of a `compare()` document, network values
    as dashed lines: ``compare``; the two designs' latency and throughput:
    ``compare_latency_throughput``."""
    return _save({"compare": _figure_compare(doc),
                  "compare_latency_throughput": _figure_latency_throughput(doc)},
                 out_dir, formats)


# ---------------------------------------------------------------- timeline


def _figure_utilisation_timeline(record: Any, frequency_hz: float, lanes: str = "lanes",
                                 bins: int = 200) -> Figure:
    from imcsim.report.trace import binned_integral, busy_steps

    lanes_total, units = record.compute_lanes(), record.compute_units()
    if lanes_total <= 0 or not frequency_hz > 0 or bins <= 0:
        raise UsageError("the record needs compute units, and frequency_hz and bins must be "
                         "positive", key="utilisation timeline")
    end = max(record.end, default=0)
    edges = np.linspace(0.0, float(end), max(1, min(bins, end)) + 1)
    width = np.diff(edges) if end else np.ones(1)
    lane_steps, unit_steps = busy_steps(record)
    busy_lanes = binned_integral(*lane_steps, edges) if end else np.zeros(1)
    busy_units = binned_integral(*unit_steps, edges) if end else np.zeros(1)
    fraction = busy_lanes / (lanes_total * width)
    scale, unit = _time_unit(end / frequency_hz)
    to_time = scale / frequency_hz
    fig, (ax,) = _new_figure(24, height=4.0)
    ax.stairs(fraction, edges * to_time, fill=True, alpha=0.6, color="tab:green",
              label=f"utilisation\n(busy lanes / {lanes_total:,})")
    ax.stairs(busy_units / (units * width), edges * to_time, color="tab:blue",
              linewidth=0.8, label=f"units busy / {units:,}")
    starts: dict[int, int] = {}
    for layer, s in zip(record.layer, record.start, strict=True):
        starts[layer] = min(s, starts.get(layer, s))
    for i, (_layer, s) in enumerate(sorted(starts.items(), key=lambda kv: kv[1])[1:]):
        ax.axvline(s * to_time, color="grey", linewidth=0.5, linestyle=":",
                   label="layer start" if i == 0 else None)
    ax.set_xlim(0, end * to_time if end else 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(f"time ({unit}); mean per bin of {width[0]:,.0f} cycles")
    ax.set_ylabel(f"fraction busy\n(lanes: {lanes})")
    _legend_outside(ax)
    ax.set_title("Utilisation over time")
    return fig


def plot_utilisation_timeline(record: Any, frequency_hz: float, out_dir: str | Path,
                              formats: Sequence[str] = DEFAULT_FORMATS, bins: int = 200,
                              lanes: str = "lanes",
                              sink: dict[Path, bytes] | None = None) -> list[Path]:
    """Utilisation over time, binned, from the `JobRecord`'s compute steps on compute
    units: busy lanes / all lanes (the report's utilisation), and busy units / all
    units as a second series: ``utilisation_timeline``."""
    return _save({"utilisation_timeline": _figure_utilisation_timeline(
        record, frequency_hz, lanes, bins)}, out_dir, formats, sink)


def _figure_pipeline(schedule: Any, stage_names: Sequence[str], frequency_hz: float) -> Figure:
    from matplotlib.figure import Figure

    end = int(schedule.cycles)
    scale, unit = _time_unit(end / frequency_hz)
    to_time = scale / frequency_hz
    n = len(stage_names)
    fig = Figure(figsize=(12.0, max(3.0, 0.22 * n + 1.5)), layout="constrained")
    ax = fig.subplots()
    colors = ("tab:blue", "tab:orange")
    for k in range(n):
        spans = [(float(schedule.start[k, i]) * to_time,
                  float(schedule.end[k, i] - schedule.start[k, i]) * to_time)
                 for i in range(schedule.inputs)]
        ax.broken_barh(spans, (k - 0.4, 0.8),
                       facecolors=[colors[i % 2] for i in range(schedule.inputs)])
    ax.set_yticks(range(n), stage_names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, end * to_time if end else 1)
    ax.set_xlabel(f"time ({unit}); inputs alternate in colour")
    ax.set_title(f"Pipeline: {schedule.inputs} inputs through {n} stages, one per "
                 f"{schedule.interval_cycles:,.0f} cycles")
    return fig


def plot_pipeline(schedule: Any, stage_names: Sequence[str], frequency_hz: float,
                  out_dir: str | Path, formats: Sequence[str] = DEFAULT_FORMATS,
                  sink: dict[Path, bytes] | None = None) -> list[Path]:
    """A pipelined batch (`imcsim.pipeline.Schedule`): stages as rows, each input's time on
    each stage as a bar: ``pipeline``."""
    return _save({"pipeline": _figure_pipeline(schedule, stage_names, frequency_hz)},
                 out_dir, formats, sink)


# ---------------------------------------------------------------- sparsity sweep


def _figure_sparsity_sweep(rows: Sequence[dict[str, Any]],
                           published_point: tuple[float, float] | None = None,
                           published_energy_point: tuple[float, float] | None = None,
                           published_label: str = "published",
                           title: str | None = None) -> Figure:
    rows = sorted(rows, key=lambda r: r["sparsity"])
    x = [r["sparsity"] for r in rows]
    fig, (ax,) = _new_figure(23, height=4.5)  # 9 inches: room for the legend
    curves = (("speedup", "speedup", "tab:blue", "o", published_point),
              ("energy_efficiency", "energy efficiency", "tab:orange", "s",
               published_energy_point))
    for key, label, color, marker, point in curves:
        ax.plot(x, _finite(r[key] for r in rows), marker=marker, color=color,
                label=f"{label} (simulated)")
        if point is not None:
            px, py = float(point[0]), float(point[1])
            ax.plot([px], [py], marker="*", markersize=14, linestyle="none", color=color,
                    markeredgecolor="black", label=f"{label} ({published_label})")
            ax.annotate(f"{py:g}×", (px, py), textcoords="offset points",
                        xytext=(-12, 0), ha="right", va="center", fontsize=8)
    ax.set_xlabel("weight sparsity (fraction of zero weights)")
    ax.set_ylabel("ratio to baseline (×)")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.08)
    ax.grid(True, linewidth=0.3)
    _legend_outside(ax)
    ax.set_title(title or "Speedup and energy efficiency vs weight sparsity")
    return fig


def plot_sparsity_sweep(rows: Sequence[dict[str, Any]], out_dir: str | Path,
                        published_point: tuple[float, float] | None = None, *,
                        published_energy_point: tuple[float, float] | None = None,
                        published_label: str = "published", title: str | None = None,
                        formats: Sequence[str] = DEFAULT_FORMATS) -> list[Path]:
    """Speedup and energy efficiency vs sparsity (rows with keys ``sparsity``,
    ``speedup``, ``energy_efficiency``); published (sparsity, value) points, passed in by
    the caller, are starred and labelled `published_label`: ``sparsity_sweep``."""
    return _save({"sparsity_sweep": _figure_sparsity_sweep(
        rows, published_point, published_energy_point, published_label, title)},
        out_dir, formats)
