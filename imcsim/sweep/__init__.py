"""Design-space sweeps: a YAML spec of designs x networks x axes, run on all cores or on
a Dask cluster, resumable, into one CSV (`imcsim sweep SPEC.yaml`).

    from imcsim.sweep import load_spec, run_sweep
    csv_path = run_sweep("workloads/sweeps/fat_sparsity.yaml", "out/fat_sparsity")

Submodules: `spec` (read, validate, expand), `evaluate` (one point, in a worker),
`journal` (the resumable record), `backends` (inline, process pool, Dask), `table`
(CSV and plots), `runner` (`run_sweep`). Dask is imported only when asked for.
"""

from imcsim.sweep.runner import CSV, JOURNAL, pending_points, run_sweep
from imcsim.sweep.spec import Point, SweepSpec, load_spec

__all__ = ["CSV", "JOURNAL", "Point", "SweepSpec", "load_spec", "pending_points", "run_sweep"]
