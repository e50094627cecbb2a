"""Throughput of `run_sweep` on a small sweep (FAT and ParaPIM, ParaPIM as baseline, on
resnet20 (or --net) over N sparsities: 2N points), inline, on a process pool of 2 and on a Dask
LocalCluster of 2 workers.

Run: python benchmarks/bench_sweep.py [--sparsities 12] [--workers 2] [--net resnet20]
Prints, per backend: points, wall seconds from call to CSV (worker / cluster start-up
included: what a user waits for), points per second, and whether the CSV is the same
bytes as the inline run's. The inline run starts cold (its caches cleared; numba kernels
already loaded by a warm-up), each pool / cluster starts its workers from nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def write_spec(path: Path, n: int, net: str) -> Path:
    sparsities = [round(i / n, 4) for i in range(n)]
    path.write_text(yaml.safe_dump({
        "designs": [{"name": "FAT", "arch": str(ROOT / "arch_configs" / "fat.yaml")},
                    {"name": "ParaPIM", "arch": str(ROOT / "arch_configs" / "parapim.yaml")}],
        "baseline": "ParaPIM", "networks": [net], "grid": {"sparsity": sparsities}}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sparsities", type=int, default=12, help="grid size (points / 2)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--net", default="resnet20", help="zoo network (default resnet20)")
    args = parser.parse_args()

    from imcsim.sweep import load_spec, run_sweep
    from imcsim.sweep.evaluate import clear_caches, evaluate

    with tempfile.TemporaryDirectory() as tmp:
        spec = write_spec(Path(tmp) / "bench.yaml", args.sparsities, args.net)
        n = len(load_spec(spec).points)
        evaluate(load_spec(spec).points[0])  # warm-up: numba kernels loaded in-process
        clear_caches()
        backends = [("inline (workers=1)", {"workers": 1}),
                    (f"process pool (workers={args.workers})", {"workers": args.workers})]
        try:
            import dask.distributed  # noqa: F401

            backends.append((f"dask LocalCluster ({args.workers} workers)",
                             {"workers": args.workers, "dask": "local"}))
        except ImportError:
            print("dask LocalCluster: skipped (pip install 'imcsim[dask]')")
        reference = None
        print(f"{'backend':<32} {'points':>6} {'wall s':>8} {'points/s':>9}  same CSV")
        for i, (label, kwargs) in enumerate(backends):
            t0 = time.perf_counter()
            csv = run_sweep(spec, Path(tmp) / f"out{i}", progress=False, plots=False,
                            **kwargs)
            wall = time.perf_counter() - t0
            data = csv.read_bytes()
            reference = reference if reference is not None else data
            print(f"{label:<32} {n:>6} {wall:>8.2f} {n / wall:>9.2f}  {data == reference}")


if __name__ == "__main__":
    main()
