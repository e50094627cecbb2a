"""Evaluate sweep points (in a worker process, local or on a Dask cluster).

A point carries its validated archs, so a worker needs imcsim but no arch files. Work
is sent in batches of points sharing a network (same net, sparsity and seed: built
once); a worker keeps the last networks and the metrics of the runs it made, so a
baseline is simulated once per batch, and not at all when the point's design is the
baseline itself. The simulator is deterministic: a cached and a fresh result are the
same numbers.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from imcsim.arch import Arch
from imcsim.errors import ImcsimError
from imcsim.sweep.spec import Point, canonical_json

if TYPE_CHECKING:
    from imcsim.workload.layer import Network

DESCRIPTOR_COLUMNS = ("point", "design", "net", "sparsity", "seed", "batch")
METRIC_COLUMNS = ("cycles", "time_s", "energy_j", "power_w", "area_mm2", "utilisation",
                  "latency_s", "throughput_per_s", "energy_per_input_j")
RATIO_COLUMNS = ("baseline", "speedup", "energy_efficiency", "power_efficiency")


@lru_cache(maxsize=2)
def _network(name: str, sparsity: float | None, seed: int) -> Network:
    from imcsim.workload.loader import load_network

    return load_network(name, sparsity=sparsity, seed=seed)


@lru_cache(maxsize=256)
def _metrics(arch: Arch, net: str, sparsity: float | None, seed: int,
             batch: int = 1) -> dict[str, Any]:
    from imcsim.app import run  # the Python API, as the command line uses it

    totals = run(arch, _network(net, sparsity, seed), batch=batch).totals
    return {key: totals[key] for key in METRIC_COLUMNS}


def clear_caches() -> None:
    """Forget cached networks and results (for benchmarks that time cold runs)."""
    _network.cache_clear()
    _metrics.cache_clear()


def evaluate(point: Point) -> dict[str, Any]:
    """The flat result row of `point`: descriptors, swept values, metrics, ratios."""
    from imcsim.comparison import ratios

    design = _metrics(point.arch, point.net, point.sparsity, point.seed, point.batch)
    row: dict[str, Any] = {"point": point.id, "design": point.design, "net": point.net,
                           "sparsity": point.sparsity, "seed": point.seed,
                           "batch": point.batch}
    row.update(point.columns)
    row.update(design)
    row.update(dict.fromkeys(RATIO_COLUMNS))
    if point.baseline is not None:
        base = _metrics(point.baseline, point.net, point.sparsity, point.seed, point.batch)
        row["baseline"] = point.baseline_name
        row.update(ratios(base["time_s"], design["time_s"], base["energy_j"],
                          design["energy_j"]))
    return row


def evaluate_many(points: Sequence[Point]) -> list[dict[str, Any]]:
    """The rows of `points`, in order; an error says which point it came from."""
    rows = []
    for p in points:
        try:
            rows.append(evaluate(p))
        except ImcsimError as exc:
            raise ImcsimError(f"point {p.id} ({p.describe()}): {exc}") from exc
        except Exception as exc:
            if sys.version_info >= (3, 11):  # add_note is new in 3.11
                exc.add_note(f"while evaluating sweep point {p.id} ({p.describe()})")
            raise
    return rows


MAX_BATCH = 8  # points; a killed worker loses at most one batch of work


def batches(points: Sequence[Point], parallelism: int) -> list[list[Point]]:
    """Cut `points` into batches of one network (net, sparsity, seed) each, the points
    of one swept configuration (hence one baseline run) side by side; a batch is at
    most MAX_BATCH points and short enough to give every worker two batches. In order of
    first point. With parallelism 1: one point per batch, in that same order."""
    limit = max(1, min(MAX_BATCH, math.ceil(len(points) / (2 * parallelism))))
    groups: dict[tuple, list[Point]] = {}
    for p in points:
        groups.setdefault((p.net, p.sparsity, p.seed), []).append(p)
    out = []
    for g in groups.values():
        g.sort(key=lambda p: canonical_json(p.overrides))
        out += [g[i:i + limit] for i in range(0, len(g), limit)]
    out.sort(key=lambda b: b[0].index)
    return [[p] for b in out for p in b] if parallelism == 1 else out
