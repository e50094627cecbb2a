"""Report files with stable column names, written atomically (temp name, then rename).

    summary.json          the run document (same as `imcsim run --format json`)
    layers.csv            one row per layer (columns: LAYER_COLUMNS)
    energy_breakdown.csv  one row per layer and component (columns: ENERGY_COLUMNS)
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from imcsim.atomic import atomic_write, atomic_write_bytes
from imcsim.errors import ImcsimError
from imcsim.report.result import RunResult

__all__ = ["ENERGY_COLUMNS", "LAYER_COLUMNS", "atomic_write", "atomic_write_bytes",
           "energy_csv", "layers_csv", "write_run_outputs"]

LAYER_COLUMNS = ("layer", "kind", "macs", "weight_sparsity", "cycles", "time_s", "energy_j",
                 "utilisation", "adds", "skipped", "split", "tiles", "items")
ENERGY_COLUMNS = ("layer", "component", "energy_j")


def _csv(header: tuple[str, ...], rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def layers_csv(res: RunResult) -> str:
    return _csv(LAYER_COLUMNS, [[la.name, la.kind, la.macs, la.weight_sparsity, la.cycles,
                                 la.time_s, la.energy_j, la.utilisation, la.adds, la.skipped,
                                 la.split, la.tiles, la.items] for la in res.layers])


def energy_csv(res: RunResult) -> str:
    rows = [[la.name, comp, e] for la in res.layers for comp, e in la.energy_breakdown_j.items()]
    return _csv(ENERGY_COLUMNS, rows)


def write_run_outputs(out_dir: str | Path, res: RunResult) -> list[Path]:
    """Render every file first, then write each atomically; returns the paths written."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ImcsimError("output path exists and is not a directory", source=str(out),
                          key="--out")
    files = {
        out / "summary.json": json.dumps(res.to_dict(), indent=2) + "\n",
        out / "layers.csv": layers_csv(res),
        out / "energy_breakdown.csv": energy_csv(res),
    }
    for path, text in files.items():
        atomic_write(path, text)
    return list(files)
