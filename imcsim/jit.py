"""The compiled kernels (numba, `cache=True`): whether they are in the on-disk cache, and
a visible line before the first run compiles them.

numba keys its cache on a hash of each kernel's source file (numba >= 0.68), so
reinstalling or checking out the same code does not recompile; a first run after a new
version compiles once (about 5 s) and says so instead of sitting silent.
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
        print(f"imcsim: compiling {len(missing)} kernels once (a few seconds; cached for "
              f"later runs)", file=stream or sys.stderr, flush=True)
    return bool(missing)
