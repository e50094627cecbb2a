"""Contiguous partition of a layer's units into work items of near-equal cost.

Units (one output channel of one segment) are cut into at most `items` contiguous
ranges so that the costliest range is as cheap as possible. A range pays, besides its
units, the activation load of every segment it touches: once if the part is
activation-stationary, else once per round of `stream` resident accumulators. The
minimal makespan is found by bisection over a greedy fill, which is optimal for
contiguous partitions with such monotone costs (numba kernel, compiled once and cached).

With `cut` allowed, a range may end inside a unit: its first k additions (in fan-in
order) go to one item and the rest to the next, each piece paying its own accumulator
readout (the pieces' partial sums meet in the reduction phase). The greedy then fills
every item up to the limit, so items no longer differ by up to a whole unit.

        units:   | u0 | u1 | u2      | u3 |        whole units only: item 1 ends
        items:   |   item 0  |  item 1 ...          where a unit ends
        cut:     |   item 0     |item 1 ...         u2 shared: k adds | the rest
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _fill(adds, fixed, add_cost, seg, load_cost, stream, cut, limit, out_unit, out_taken):
    """Greedy: close an item when the next unit (or piece of one) would exceed `limit`.
    Writes each item's first unit and the additions of it earlier items took; returns the
    number of items, or len(out_unit) + 1 as soon as they would not fit in out_unit."""
    cap = out_unit.shape[0]
    count = 0
    cost = 0.0
    chans = 0
    cur_seg = -1
    for u in range(adds.shape[0]):
        s = seg[u]
        rest = adds[u]
        taken = 0
        if count > 0:
            if s != cur_seg:
                extra = load_cost[s]
            elif stream[s] > 0 and chans % stream[s] == 0:
                extra = load_cost[s]  # a new round of resident accumulators
            else:
                extra = 0.0
            piece = rest * add_cost + fixed[u]
            if cost + piece + extra <= limit:
                cost += extra + piece
                chans = chans + 1 if s == cur_seg else 1
                cur_seg = s
                continue
            if cut and rest >= 2:  # the current item takes what fits of the unit
                k = int((limit - cost - extra - fixed[u]) // add_cost)
                if 1 <= k < rest:
                    taken = k
        while True:  # new items for the rest of the unit, cut again while too big
            if count == cap:
                return cap + 1
            out_unit[count] = u
            out_taken[count] = taken
            count += 1
            first = load_cost[s] + (rest - taken) * add_cost + fixed[u]
            k = int((limit - load_cost[s] - fixed[u]) // add_cost) if cut else 0
            if first <= limit or k < 1 or k >= rest - taken:
                cost = first
                chans = 1
                cur_seg = s
                break
            taken += k
    return count


@njit(cache=True)
def _bisect(adds, fixed, add_cost, seg, load_cost, stream, cut, items, hi):
    n = adds.shape[0]
    out_unit = np.empty(items, dtype=np.int64)
    out_taken = np.empty(items, dtype=np.int64)
    lo = 0.0  # a lower bound: the costliest unit, or with cuts its least piece
    for u in range(n):
        if cut:
            v = fixed[u] + load_cost[seg[u]] + (add_cost if adds[u] > 0 else 0.0)
        else:
            v = adds[u] * add_cost + fixed[u] + load_cost[seg[u]]
        if v > lo:
            lo = v
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _fill(adds, fixed, add_cost, seg, load_cost, stream, cut, mid, out_unit,
                 out_taken) <= items:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 0.5:
            break
    count = _fill(adds, fixed, add_cost, seg, load_cost, stream, cut, hi, out_unit, out_taken)
    return out_unit[:count].copy(), out_taken[:count].copy()


def min_makespan_cut(adds: np.ndarray, fixed: np.ndarray, add_cost: float, seg: np.ndarray,
                     load_cost: np.ndarray, stream: np.ndarray, items: int, cut: bool = False
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The best contiguous partition into at most `items` items, as each item's first
    unit and the additions of that unit earlier items took (0 unless `cut`), plus an
    end entry (len(adds), 0).

    Unit u costs adds[u] x add_cost + fixed[u] cycles; seg[u] is its segment;
    load_cost[s] the cycles of one load of segment s; stream[s] the channels per load
    round of segment s (0 = stationary, one load whatever the channel count).
    """
    adds = np.asarray(adds, dtype=np.float64)
    fixed = np.asarray(fixed, dtype=np.float64)
    load_cost = np.asarray(load_cost, dtype=np.float64)
    hi = (adds * add_cost + fixed).sum() + load_cost.sum() * (1.0 + len(adds))
    first, taken = _bisect(adds, fixed, float(add_cost), np.asarray(seg, dtype=np.int64),
                           load_cost, np.asarray(stream, dtype=np.int64), bool(cut),
                           int(items), float(hi))
    return (np.append(first, len(adds)).astype(np.int64),
            np.append(taken, 0).astype(np.int64))
