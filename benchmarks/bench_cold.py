"""First run after install against a warm run: ResNet-18 on FAT as a whole process, with
numba's kernel cache in a fresh directory (cold) and then reused (warm). Target (issue):
cold at most 2.5x warm. A run compiles nothing (no numba on the run path); the cold
run pays only for Python's bytecode cache and the page cache. `--functional` runs
compile the micro-program executor once (announced on stderr).

Run: python benchmarks/bench_cold.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "imcsim.cli", "run", "--arch", "fat", "--net", "resnet18",
           "--quiet"]


def timed(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(COMMAND, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cold, warm = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": cache}
            cold.append(timed(env))
            warm.append(min(timed(env) for _ in range(3)))
    c, w = sorted(cold)[len(cold) // 2], sorted(warm)[len(warm) // 2]
    print(f"cold (empty kernel cache), median of {args.repeat}: {c:.2f} s")
    print(f"warm, median of {args.repeat} (best of 3 each):      {w:.2f} s")
    print(f"cold / warm: {c / w:.1f}x (target <= 2.5x)")


if __name__ == "__main__":
    main()
