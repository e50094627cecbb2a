"""The compiled kernel (numba, `cache=True`): whether it is in the on-disk cache, and a
visible line before the first run compiles it.

Only the functional check's micro-program executor (`circuits.executor.run_fast`) is
compiled; a run without --functional imports no numba at all (the mapping's partition and
sparse-load counts are plain Python and numpy). numba keys its cache on a hash of the
kernel's source file (numba >= 0.68), so reinstalling or checking out the same code does
not recompile; a first functional run after a new version compiles once (a few seconds)
and says so instead of sitting silent.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any


def uncached(kernels: Sequence[Any]) -> list[str]:
    """Names of the `kernels` (numba dispatchers) without a cache index on disk."""
    missing = []
    for kernel in kernels:
        cache_file = getattr(getattr(kernel, "_cache", None), "_cache_file", None)
        index = getattr(cache_file, "_index_path", None)
        if index is not None and not os.path.exists(index):
            missing.append(getattr(kernel, "__name__", str(kernel)))
    return missing


def announce_compilation(kernels: Sequence[Any], stream: Any = None) -> bool:
    """Print one line if some of `kernels` will be compiled now; True if so."""
    missing = uncached(kernels)
    if missing:
        what = "1 kernel" if len(missing) == 1 else f"{len(missing)} kernels"
        print(f"imcsim: compiling {what} once (a few seconds; cached for later runs)",
              file=stream or sys.stderr, flush=True)
    return bool(missing)
