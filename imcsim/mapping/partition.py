"""Contiguous partition of a layer's units into work items of near-equal cost.

Units (one output channel of one segment) are cut into at most `items` contiguous
ranges so that the costliest range is as cheap as possible. A range pays, besides its
units, the activation load of every segment it touches: once if the part is
activation-stationary, else once per round of `stream` resident accumulators. The
minimal makespan is found by bisection over a greedy fill, which is optimal for
contiguous partitions with such monotone costs (numba kernel, compiled once and cached).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _fill(unit_cost, seg, load_cost, stream, limit, out):
    """Greedy: start a new range when the next unit would exceed `limit`.
    Writes range starts into `out`, returns the number of ranges."""
    n = unit_cost.shape[0]
    count = 0
    cost = 0.0
    chans = 0
    cur_seg = -1
    for u in range(n):
        s = seg[u]
        if count == 0:
            extra = load_cost[s]
            new_chans = 1
        elif s != cur_seg:
            extra = load_cost[s]
            new_chans = 1
        else:
            new_chans = chans + 1
            extra = (
                load_cost[s]
                if (stream[s] > 0 and (new_chans - 1) % stream[s] == 0 and new_chans > 1)
                else 0.0
            )
        if count == 0 or cost + unit_cost[u] + extra > limit:
            out[count] = u
            count += 1
            cost = load_cost[s] + unit_cost[u]
            chans = 1
            cur_seg = s
        else:
            cost += unit_cost[u] + extra
            chans = new_chans
            cur_seg = s
    return count


@njit(cache=True)
def _bisect(unit_cost, seg, load_cost, stream, items):
    n = unit_cost.shape[0]
    out = np.empty(n, dtype=np.int64)
    lo = 0.0
    for u in range(n):
        v = unit_cost[u] + load_cost[seg[u]]
        if v > lo:
            lo = v
    hi = unit_cost.sum() + load_cost.sum() * (1.0 + n)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _fill(unit_cost, seg, load_cost, stream, mid, out) <= items:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 0.5:
            break
    count = _fill(unit_cost, seg, load_cost, stream, hi, out)
    return out[:count].copy()


def min_makespan_cut(
    unit_cost: np.ndarray, seg: np.ndarray, load_cost: np.ndarray, stream: np.ndarray, items: int
) -> np.ndarray:
    """Range bounds (starts + end) of the best contiguous cut into at most `items` ranges.

    unit_cost[u]: cycles of unit u; seg[u]: its segment; load_cost[s]: cycles of one load
    of segment s; stream[s]: channels per load round of segment s (0 = stationary, one
    load whatever the channel count).
    """
    starts = _bisect(
        unit_cost.astype(np.float64),
        seg.astype(np.int64),
        load_cost.astype(np.float64),
        stream.astype(np.int64),
        int(items),
    )
    return np.append(starts, len(unit_cost)).astype(np.int64)
