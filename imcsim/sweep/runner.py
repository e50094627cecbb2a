"""`run_sweep`: evaluate every point of a spec, resumably, into one CSV.

    out_dir/sweep.jsonl   journal: one line per finished point, fsynced as its batch
                          comes back (inline: point by point; pools: <= 8 points)
    out_dir/sweep.csv     every point once, in point order (rewritten atomically)
    out_dir/plots/...     speedup / energy efficiency vs sparsity (when plots exist)

A restart skips the points already in the journal. The CSV is made from the journal
only, so the same sweep gives the same bytes whatever ran it (inline, process pool,
Dask) and however often it was interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from contextlib import closing
from pathlib import Path
from typing import Any

from imcsim.errors import UsageError
from imcsim.report.progress import progress as progress_bar
from imcsim.sweep.backends import Backend, check_dask, check_workers, open_backend
from imcsim.sweep.evaluate import batches, evaluate_many
from imcsim.sweep.journal import Journal
from imcsim.sweep.spec import Point, SweepSpec, load_spec
from imcsim.sweep.table import plot_sparsity, write_csv

JOURNAL = "sweep.jsonl"
CSV = "sweep.csv"


def _out_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError("output path exists and is not a directory", source=str(out),
                         key="out")
    return out


def pending_points(spec: SweepSpec, out_dir: str | Path) -> tuple[int, int]:
    """(points done, points left) of `spec` in the journal under `out_dir`."""
    done = Journal(Path(out_dir) / JOURNAL).completed({p.id: p.config for p in spec.points})
    return len(done), len(spec.points) - len(done)


def _rows(backend: Backend, points: list[Point]
          ) -> Generator[tuple[Point, dict[str, Any]], None, None]:
    """(point, row) as the backend finishes batches of `points`."""
    with closing(backend.map(evaluate_many, batches(points, backend.parallelism))) as done:
        for batch, rows in done:
            yield from zip(batch, rows, strict=True)


def run_sweep(spec_path: str | Path, out_dir: str | Path, workers: int | None = None,
              dask: str | None = None, progress: bool = True, *, limit: int | None = None,
              connect_timeout: float = 10.0, plots: bool = True, batch: int = 1) -> Path:
    """Run the sweep at `spec_path` into `out_dir`; returns the path of sweep.csv.

    workers: processes (default os.cpu_count(); 1 runs inline; with dask="local", the
    cluster's workers). dask: None, "local" (a LocalCluster) or a scheduler address
    ("tcp://HOST:PORT", reached within `connect_timeout` seconds or UsageError).
    limit: evaluate at most this many of the points left, then stop (the CSV then holds
    the points done so far). batch: inputs per run of the points that do not sweep it.
    Raises ImcsimError on a bad spec or argument before
    anything is written. Worker processes start with forkserver (else spawn): a script
    calling this with workers > 1 needs the usual `if __name__ == "__main__":` guard.
    """
    spec = load_spec(spec_path, batch)
    workers = check_workers(workers)
    dask = check_dask(dask)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 0):
        raise UsageError(f"limit must be a non-negative integer, got {limit!r}")
    out = _out_dir(out_dir)
    journal = Journal(out / JOURNAL)
    done = journal.completed({p.id: p.config for p in spec.points})
    if journal.bad_lines:
        lines = ", ".join(map(str, journal.bad_lines[:10]))
        print(f"imcsim: {journal.path}: line(s) {lines} are not sweep records; ignored "
              "(their points run again)", file=sys.stderr)
    todo = [p for p in spec.points if p.id not in done]
    if limit is not None:
        todo = todo[:limit]
    if todo:
        with open_backend(workers, dask, connect_timeout) as backend, \
                journal.writer() as log, \
                closing(_rows(backend, todo)) as results:
            bar = progress_bar(results, total=len(todo), desc="sweep", enabled=progress,
                               unit="pt", initial=len(done))
            for point, row in bar:
                log.append(point.id, point.config, row)
                done[point.id] = row
    csv_path = write_csv(spec, done, out / CSV)
    if plots and len(done) == len(spec.points):
        plot_sparsity(spec, done, out)
    return csv_path


__all__ = ["CSV", "JOURNAL", "pending_points", "run_sweep"]
