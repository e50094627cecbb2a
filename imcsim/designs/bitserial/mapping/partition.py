"""Contiguous partition of a layer's units into work items of near-equal cost.

Units (one output channel of one segment) are cut into at most `items` contiguous
ranges so that the costliest range is as cheap as possible. A range pays, besides its
units, the activation load of every segment it touches: once if the part is
activation-stationary, else once per round of `stream` resident accumulators.

The units are laid end to end on a cost line: unit u takes

    c_u = e_u + adds_u x add_cost + fixed_u,   e_u = the segment's load if a round
                                               starts at u (rounds counted from the
                                               segment's first channel), else 0,

and an item covering the line from X to Y costs Y - X, plus its segment's load when it
starts where no round starts, plus the cut unit's `fixed` when it ends inside a unit.
A greedy fill (each item as long as the limit allows, found by a binary search of the
line's prefix sums: one step per item, not per unit) tells whether a limit fits in
`items` items; the least limit that fits is bracketed and bisected. Counting rounds from
the segment's first channel rather than from the item's can only overcount an item's
loads by one per segment it touches; the items' real costs are counted afterwards
(`tiling.main_items`) from their own rounds.

With `cut` allowed, a range may end inside a unit: its first k additions (in fan-in
order) go to one item and the rest to the next, each piece paying its own accumulator
readout (the pieces' partial sums meet in the reduction phase). The greedy then fills
every item up to the limit, so items no longer differ by up to a whole unit.

        units:   | u0 | u1 | u2      | u3 |        whole units only: item 1 ends
        items:   |   item 0  |  item 1 ...          where a unit ends
        cut:     |   item 0     |item 1 ...         u2 shared: k adds | the rest
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from math import floor

import numpy as np

RELATIVE_TOLERANCE = 1e-4  # the bisection stops within this fraction of the limit (or 0.5)


@dataclass(frozen=True)
class _Line:
    """The units on the cost line, as Python lists (the greedy steps item by item)."""

    line: list[float]  # line[u]: where unit u starts on the cost line; line[n]: its length
    plain: list[float]  # the same without loads: prefix of adds x add_cost + fixed
    round_load: list[float]  # e_u
    load: list[float]  # the load of unit u's segment
    stream: list[int]  # channels per round in unit u's segment (0: stationary)
    seg_end: list[int]  # the unit after the last of unit u's segment
    adds: list[int]
    fixed: list[float]
    add_cost: float
    cut: bool


def _line(adds: np.ndarray, fixed: np.ndarray, add_cost: float, seg: np.ndarray,
          load_cost: np.ndarray, stream: np.ndarray, cut: bool) -> _Line:
    n = len(adds)
    new_seg = np.ones(n, dtype=bool)
    new_seg[1:] = seg[1:] != seg[:-1]
    starts = np.flatnonzero(new_seg)
    run_start = np.repeat(starts, np.diff(np.append(starts, n)))
    channel = np.arange(n) - run_start  # position of the unit in its segment
    per_round = stream[seg]
    round_start = new_seg | ((per_round > 0) & (channel % np.maximum(per_round, 1) == 0))
    load = load_cost[seg]
    e = np.where(round_start, load, 0.0)
    unit = adds * add_cost + fixed
    return _Line(np.concatenate([[0.0], np.cumsum(e + unit)]).tolist(),
                 np.concatenate([[0.0], np.cumsum(unit)]).tolist(),
                 e.tolist(), load.tolist(), per_round.tolist(),
                 np.repeat(np.append(starts[1:], n), np.diff(np.append(starts, n))).tolist(),
                 adds.astype(np.int64).tolist(), fixed.tolist(), float(add_cost), cut)


def _in_first_segment(line: _Line, u0: int, t0: int, budget: float) -> int:
    """The last unit v of u0's segment such that units u0..v-1 (u0 without its first t0
    additions) fit in `budget` with the loads of the item's own rounds (at u0, u0 +
    stream, ...). With m rounds the cost is plain[v] - plain[u0] - t0 x add + m x load:
    the last round that can start is found first, then v within it."""
    p, st, load = line.plain, line.stream[u0], line.load[u0]
    base = p[u0] + t0 * line.add_cost
    end = line.seg_end[u0]
    if not st:
        return max(u0, bisect_right(p, base + budget - load, u0 + 1, end + 1) - 1)
    lo, hi = 0, -(-(end - u0) // st)  # rounds whose first unit fits: lo does (0: none)
    while lo < hi:
        m = (lo + hi + 1) // 2
        if p[u0 + (m - 1) * st + 1] - base + m * load <= budget:
            lo = m
        else:
            hi = m - 1
    if lo == 0:
        return u0
    first = u0 + (lo - 1) * st + 1
    return bisect_right(p, base + budget - lo * load, first, min(end, u0 + lo * st) + 1) - 1


@dataclass(frozen=True)
class _Filled:
    """A greedy fill: each item's first unit and the additions of it earlier items took,
    and its costliest item (first is None if the limit does not fit). `excess`: the
    line left over once every item is used (> 0), or minus the capacity left unused."""

    first: list[int] | None
    taken: list[int]
    worst: float
    excess: float
    limit: float

    def excess_at_worst(self, items: int) -> float:
        """The excess of the same items at the limit of their costliest one."""
        return min(0.0, self.excess + items * (self.limit - self.worst))


def _fill(line: _Line, limit: float, items: int) -> _Filled:
    """Greedy: each item runs as far as `limit` allows, over at most `items` items (a
    unit, or with cuts one addition of it, that alone exceeds the limit: excess inf).

    An item's first segment is counted with its own rounds (from its first unit on);
    the segments it enters at their first unit are read off the cost line."""
    g, p, e, adds, fixed, add = (line.line, line.plain, line.round_load, line.adds,
                                 line.fixed, line.add_cost)
    n = len(adds)
    first, taken = [0], [0]
    worst = 0.0
    while True:
        u0, t0 = first[-1], taken[-1]
        st, load, end0 = line.stream[u0], line.load[u0], line.seg_end[u0]
        rounds = -(-(end0 - u0) // st) if st else 1
        whole = p[end0] - p[u0] - t0 * add + rounds * load  # the rest of its first segment
        if whole <= limit:  # on into the next segments, read off the line
            if end0 == n or g[n] - g[end0] <= limit - whole:
                last = whole + g[n] - g[end0]
                spare = (items - len(first)) * limit + limit - last
                return _Filled(first, taken, max(worst, last), -spare, limit)
            y = g[end0] + limit - whole
            v = bisect_right(g, y) - 1
            used = whole + g[v] - g[end0]
            extra = e[v]  # a round starts at v if it starts a segment or a round
            t_v = 0
        else:
            v = _in_first_segment(line, u0, t0, limit)
            rounds = -(-(v - u0) // st) if st else (1 if v > u0 else 0)
            used = p[v] - p[u0] - t0 * add + rounds * load if v > u0 else 0.0
            extra = load if (v == u0 or (st and (v - u0) % st == 0)) else 0.0
            t_v = t0 if v == u0 else 0
        if len(first) == items:
            return _Filled(None, taken, worst, g[n] - g[v] + e[v], limit)
        k = 0
        if line.cut and adds[v] >= 2:  # the item takes unit v's additions up to the k-th
            k = floor((limit - used - extra - fixed[v]) / add) + t_v
            if k >= adds[v] or k <= t_v:
                k = 0
        if k:
            used += extra + (k - t_v) * add + fixed[v]
        elif v == u0:  # not even the rest of the item's first unit fits
            return _Filled(None, taken, worst, float("inf"), limit)
        worst = max(worst, used)
        first.append(v)
        taken.append(k)


def min_makespan_cut(adds: np.ndarray, fixed: np.ndarray, add_cost: float, seg: np.ndarray,
                     load_cost: np.ndarray, stream: np.ndarray, items: int, cut: bool = False
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The best contiguous partition into at most `items` items (to RELATIVE_TOLERANCE),
    as each item's first unit and the additions of that unit earlier items took (0
    unless `cut`), plus an end entry (len(adds), 0).

    Unit u costs adds[u] x add_cost + fixed[u] cycles; seg[u] is its segment (a segment's
    units are consecutive); load_cost[s] the cycles of one load of segment s; stream[s]
    the channels per load round of segment s (0 = stationary, one load whatever the
    channel count).
    """
    adds = np.asarray(adds, dtype=np.int64)
    n = len(adds)
    if n == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    fixed = np.asarray(fixed, dtype=np.float64)
    load_cost = np.asarray(load_cost, dtype=np.float64)
    seg = np.asarray(seg, dtype=np.int64)
    line = _line(adds, fixed, float(add_cost), seg, load_cost,
                 np.asarray(stream, dtype=np.int64), bool(cut))
    alone = load_cost[seg] + fixed + np.where(cut, np.minimum(adds, 1), adds) * add_cost
    lo = max(line.line[-1] / max(1, items), float(alone.max()))
    step = float(load_cost.max(initial=0.0)) + float((fixed + adds * add_cost).max()) + 1.0
    best = _fill(line, lo + step, items)
    while best.first is None:  # bracket: the least limit known to fit
        step *= 2
        best = _fill(line, lo + step, items)
    first, taken = _least_limit(line, items, lo, best)
    return (np.asarray(first + [n], dtype=np.int64), np.asarray(taken + [0], dtype=np.int64))


def _least_limit(line: _Line, items: int, lo: float, fits: _Filled
                 ) -> tuple[list[int], list[int]]:
    """The fill of the least limit that fits, between `lo` (a lower bound) and the fill
    `fits`, to RELATIVE_TOLERANCE: regula falsi on the fill's excess, which falls about
    `items` cycles per cycle of limit (Illinois rule: a side kept twice has its excess
    halved), bisection while the excess at `lo` is unknown or infinite."""
    hi, f_hi = fits.worst, fits.excess_at_worst(items)
    f_lo = float("inf")
    kept = 0  # +1: lo kept last time, -1: hi kept
    best = fits
    while hi - lo > max(0.5, RELATIVE_TOLERANCE * hi):
        if f_lo == float("inf"):
            mid = 0.5 * (lo + hi)
        else:
            mid = lo + (hi - lo) * f_lo / (f_lo - f_hi)
            pad = 0.25 * max(0.5, RELATIVE_TOLERANCE * hi)
            mid = min(max(mid, lo + pad), hi - pad)
        tried = _fill(line, mid, items)
        if tried.first is None:
            lo, f_lo = mid, tried.excess
            if kept == -1:
                f_hi *= 0.5
            kept = -1
        else:
            best, hi, f_hi = tried, tried.worst, tried.excess_at_worst(items)
            if kept == 1:
                f_lo *= 0.5
            kept = 1
    assert best.first is not None
    return best.first, best.taken
