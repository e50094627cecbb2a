"""The partition of units into items, whole or with channels cut between items."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imcsim.designs.bitserial.mapping.partition import min_makespan_cut
from imcsim.designs.bitserial.mapping.pieces import make_pieces

ADD, READOUT = 96.0, 48.0


def _problem(seed: int, stationary: bool):
    rng = np.random.default_rng(seed)
    per_seg = int(rng.integers(1, 9))
    segs = int(rng.integers(1, 6))
    adds = rng.integers(0, 40, size=per_seg * segs)
    seg = np.repeat(np.arange(segs), per_seg)
    load = rng.integers(0, 300, size=segs).astype(float)
    stream = np.zeros(segs, dtype=np.int64) if stationary else rng.integers(1, 4, size=segs)
    return adds, seg, load, stream


def _item_costs(pieces, adds, seg, load, stream):
    """Cycles of each item, counted piece by piece (the partition's cost model)."""
    out = []
    for i in range(len(pieces.bounds) - 1):
        span = range(pieces.bounds[i], pieces.bounds[i + 1])
        cost, cur, chans = 0.0, -1, 0
        for j in span:
            s = seg[pieces.unit[j]]
            if s != cur:
                cost, cur, chans = cost + load[s], s, 0
            elif stream[s] and chans % stream[s] == 0:
                cost += load[s]
            chans += 1
            cost += pieces.adds[j] * ADD + READOUT
        out.append(cost)
    return np.array(out)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.booleans())
def test_cut_pieces_conserve_work_and_never_lengthen_the_busiest_item(seed, items, stationary):
    adds, seg, load, stream = _problem(seed, stationary)
    part = np.full(len(adds), 50)
    result = {}
    for cut in (False, True):
        first, taken = min_makespan_cut(adds, np.full(len(adds), READOUT), ADD, seg, load,
                                        stream, items, cut=cut)
        pieces = make_pieces(first, taken, adds, part, lambda u, k: k)
        assert len(pieces.bounds) - 1 <= items
        # every unit's additions are dealt exactly once, over ranges that tile its part
        assert np.array_equal(np.bincount(pieces.unit, weights=pieces.adds,
                                          minlength=len(adds)), adds)
        for u in range(len(adds)):
            mine = pieces.unit == u
            assert pieces.lo[mine][0] == 0 and pieces.hi[mine][-1] == part[u]
            assert np.array_equal(pieces.lo[mine][1:], pieces.hi[mine][:-1])
        if not cut:
            assert pieces.whole and not np.any(taken)
        assert np.all(pieces.adds[np.flatnonzero(np.diff(pieces.unit) == 0)] >= 1)
        result[cut] = _item_costs(pieces, adds, seg, load, stream).max()
    assert result[True] <= result[False]


def test_a_cut_balances_what_whole_units_cannot():
    """Three equal units on two items: whole, one item gets two; cut, each gets 1.5."""
    adds = np.array([10, 10, 10])
    kwargs = dict(seg=np.zeros(3, dtype=np.int64), load_cost=np.zeros(1),
                  stream=np.zeros(1, dtype=np.int64), items=2)
    first, taken = min_makespan_cut(adds, np.zeros(3), 1.0, **kwargs)
    assert list(first) == [0, 2, 3] and not np.any(taken)
    first, taken = min_makespan_cut(adds, np.zeros(3), 1.0, cut=True, **kwargs)
    pieces = make_pieces(first, taken, adds, np.full(3, 10), lambda u, k: k)
    assert list(pieces.unit) == [0, 1, 1, 2]
    assert list(pieces.adds) == [10, 5, 5, 10]
    assert list(pieces.bounds) == [0, 2, 4]
