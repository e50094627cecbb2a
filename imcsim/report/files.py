"""Report files with stable column names, written atomically (temp name, then rename),
all read from the one run document (`imcsim.app.Result.to_dict()`):

    summary.json          the run document (same as `imcsim run --format json`)
    layers.csv            one row per layer: LAYER_COLUMNS, then the design kind's scalar
                          details, nested keys joined with "." (e.g. mapping.split)
    energy_breakdown.csv  one row per layer and component (columns: ENERGY_COLUMNS)
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from imcsim.atomic import check_dir_target, check_file_target, write_or_collect
from imcsim.errors import UsageError

__all__ = ["ENERGY_COLUMNS", "LAYER_COLUMNS", "check_out_dir", "energy_csv", "finite",
           "flat_details", "json_text", "layers_csv", "write_run_outputs"]

LAYER_COLUMNS = ("layer", "kind", "unit", "macs", "weight_sparsity", "cycles", "time_s",
                 "energy_j", "utilisation")
ENERGY_COLUMNS = ("layer", "component", "energy_j")


def finite(doc: Any) -> Any:
    """`doc` with every non-finite float (an infinite ratio, a NaN) as None: JSON has no
    such numbers, and a report never shows one as a value."""
    if isinstance(doc, float):
        return doc if math.isfinite(doc) else None
    if isinstance(doc, dict):
        return {k: finite(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [finite(v) for v in doc]
    return doc


def json_text(doc: Any) -> str:
    """The JSON of a report document (stdout and summary.json alike)."""
    return json.dumps(finite(doc), indent=2, allow_nan=False) + "\n"


def _csv(header: tuple[str, ...], rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def flat_details(details: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalar entries of `details`, nested mappings flattened with "." in their keys."""
    out: dict[str, Any] = {}
    for key, value in details.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_details(value, f"{name}."))
        elif isinstance(value, (str, int, float, bool)):
            out[name] = value
    return out


def layers_csv(doc: dict[str, Any]) -> str:
    flat = [flat_details(la["details"]) for la in doc["layers"]]
    extra: list[str] = []
    for row in flat:
        extra += [k for k in row if k not in extra]
    rows = [[la["name"], la["kind"], la["unit"], la["macs"], la["weight_sparsity"],
             la["cycles"], la["time_s"], la["energy_j"], la["utilisation"],
             *(row.get(k, "") for k in extra)]
            for la, row in zip(doc["layers"], flat, strict=True)]
    # then the nodes timed beside them (vector unit, attention on the arrays)
    rows += [[op["name"], op["kind"], op["unit"], op["macs"], "", op["cycles"], op["time_s"],
              op["energy_j"], "", *([""] * len(extra))] for op in doc.get("ops", [])]
    return _csv((*LAYER_COLUMNS, *extra), rows)


def energy_csv(doc: dict[str, Any]) -> str:
    rows = [[la["name"], comp, e] for la in [*doc["layers"], *doc.get("ops", [])]
            for comp, e in la["energy_breakdown_j"].items()]
    return _csv(ENERGY_COLUMNS, rows)


RUN_FILES = ("summary.json", "layers.csv", "energy_breakdown.csv")


def check_out_dir(out_dir: str | Path, key: str = "out") -> Path:
    """`out_dir` may be written into: it does not exist yet or is a real directory, and
    none of the files it will hold is anything but a regular file."""
    out = check_dir_target(out_dir, UsageError, key)
    for name in RUN_FILES:
        check_file_target(out / name, UsageError, key)
    return out


def write_run_outputs(out_dir: str | Path, doc: dict[str, Any],
                      sink: dict[Path, bytes] | None = None) -> list[Path]:
    """Render every file of run document `doc` first, then write them as one set (or add
    them to `sink`); returns the paths."""
    out = check_out_dir(out_dir)
    texts = dict(zip(RUN_FILES, (json_text(doc),
                                 layers_csv(doc), energy_csv(doc)), strict=True))
    files = {out / name: text.encode("utf-8") for name, text in texts.items()}
    return write_or_collect(files, sink, UsageError)
