"""Placement of work items on subarrays.

Without broadcast, items go longest first onto the least-loaded subarray, spread
round-robin across banks so that bank buses and controllers share the load. With
broadcast, items that load identical activations (same `share` id) are packed into the
same bank, so that one bank-bus transfer feeds them all.
"""

from __future__ import annotations

import heapq

import numpy as np


def place(cycles: np.ndarray, share: np.ndarray, banks: int, per_bank: int,
          broadcast: bool) -> np.ndarray:
    """Subarray index (bank * per_bank + local) for each item."""
    n = len(cycles)
    total = banks * per_bank
    slots = np.arange(total)
    if broadcast and n <= total:
        order = np.lexsort((-cycles, share))  # sharers adjacent, bank-major filling
        out = np.empty(n, dtype=np.int64)
        out[order] = slots[:n]
        return out
    order = np.argsort(-cycles, kind="stable")
    spread = (slots % banks) * per_bank + slots // banks  # bank-interleaved order
    out = np.empty(n, dtype=np.int64)
    if n <= total:
        out[order] = spread[:n]
        return out
    heap = [(0, int(k)) for k in range(total)]
    for i in order:
        load, k = heapq.heappop(heap)
        out[i] = spread[k]
        heapq.heappush(heap, (load + int(cycles[i]), k))
    return out


def sharers(share: np.ndarray, subarray: np.ndarray, per_bank: int) -> np.ndarray:
    """For each item, how many items in its bank load the same activations (itself incl.)."""
    key = share.astype(np.int64) * (subarray.max() // per_bank + 1) + subarray // per_bank
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return counts[inverse]
