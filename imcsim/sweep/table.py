"""The sweep's CSV (fixed columns, point order, floats as repr) and its sparsity plots."""

from __future__ import annotations

import csv
import importlib
import inspect
import io
import json
import re
from pathlib import Path
from typing import Any

from imcsim.atomic import atomic_write
from imcsim.sweep.evaluate import DESCRIPTOR_COLUMNS, METRIC_COLUMNS, RATIO_COLUMNS
from imcsim.sweep.spec import Point, SweepSpec


def columns(spec: SweepSpec) -> tuple[str, ...]:
    """point, design, net, sparsity, seed, <swept arch keys>, metrics, baseline, ratios."""
    return DESCRIPTOR_COLUMNS + spec.override_keys + METRIC_COLUMNS + RATIO_COLUMNS


def cell(value: Any) -> str:
    """One spelling per value: repr for floats, true/false, empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def render_csv(spec: SweepSpec, rows: dict[str, dict[str, Any]]) -> str:
    """The rows of the points done (`rows`: point id -> row), in point order."""
    header = columns(spec)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for p in spec.points:
        if p.id in rows:
            writer.writerow([cell(rows[p.id].get(c)) for c in header])
    return buf.getvalue()


def write_csv(spec: SweepSpec, rows: dict[str, dict[str, Any]], path: Path) -> Path:
    atomic_write(path, render_csv(spec, rows))
    return path


def _published_points(design: Point) -> dict[str, tuple[float, float]]:
    """(sparsity, value) of the published figures for this design pair and network: the
    reference design named as the arch (lower case) and its comparisons with the
    baseline (`validate.published_points`), keyed "speedup" and "energy_efficiency"."""
    from imcsim.validate import published_points

    if design.baseline is None:
        return {}
    points = published_points(design.arch.name.lower(), design.baseline.name.lower(),
                              design.net)
    return {k: v for k, v in points.items() if k in ("speedup", "energy_efficiency")}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", text)


def plot_sparsity(spec: SweepSpec, rows: dict[str, dict[str, Any]], out_dir: Path
                  ) -> list[Path]:
    """Speedup and energy efficiency vs sparsity, one figure per design (not the
    baseline), network, seed and swept values, when imcsim.report.plots provides
    `plot_sparsity_sweep` and the sweep has at least two sparsities of it."""
    if spec.baseline is None:
        return []
    try:
        plots = importlib.import_module("imcsim.report.plots")
    except ImportError:
        return []
    plot = getattr(plots, "plot_sparsity_sweep", None)
    if plot is None:
        return []
    groups: dict[tuple, list[Point]] = {}
    for p in spec.points:
        if p.design != spec.baseline and p.sparsity is not None and p.id in rows:
            groups.setdefault((p.design, p.net, p.seed, p.columns), []).append(p)
    params = inspect.signature(plot).parameters
    written: list[Path] = []
    for (design, net, seed, cols), pts in groups.items():
        if len({p.sparsity for p in pts}) < 2:
            continue
        data = [{"sparsity": p.sparsity, "speedup": rows[p.id]["speedup"],
                 "energy_efficiency": rows[p.id]["energy_efficiency"]} for p in pts]
        pub = _published_points(pts[0])
        kwargs: dict[str, Any] = {"published_point": pub.get("speedup")}
        if "published_energy_point" in params:
            kwargs["published_energy_point"] = pub.get("energy_efficiency")
        if "title" in params:
            kwargs["title"] = f"{design} vs {spec.baseline}, {net}"
        name = "_".join([f"{design}-vs-{spec.baseline}", net, f"seed{seed}",
                         *(f"{k}={cell(v)}" for k, v in cols)])
        written += plot(data, out_dir / "plots" / _slug(name), **kwargs)
    return written
