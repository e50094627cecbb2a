"""Sparse-aware activation loading: exact counts against brute force, and its estimate."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imcsim.designs.bitserial.mapping.sparse_loads import (
    after_kth_nonzero,
    expected_fraction,
    needed_positions,
    nonzeros_by_part,
    round_bounds,
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 1.0))
def test_needed_positions_match_brute_force(seed, density):
    rng = np.random.default_rng(seed)
    mask = rng.random((12, 30)) < density
    first = rng.integers(0, 12, size=8)
    length = rng.integers(1, 13, size=8)
    length = np.minimum(length, 12 - first)
    length[length < 1] = 1
    first = np.minimum(first, 12 - length)
    per_round = rng.integers(1, 5, size=8)
    owner, r0, r1 = round_bounds(first, length, per_round)
    c0 = rng.integers(0, 30, size=len(owner))
    c1 = np.minimum(c0 + rng.integers(0, 30, size=len(owner)), 30)
    order = rng.permutation(12)
    got = needed_positions(mask.astype(np.int8), order, r0, r1, c0, c1)
    want = [int(mask[order[a:b], c:d].any(axis=0).sum()) for a, b, c, d in zip(r0, r1, c0, c1, strict=True)]
    assert list(got) == want
    # the rounds tile each range exactly, none longer than per_round
    for k in range(len(first)):
        mine = owner == k
        assert r0[mine][0] == first[k] and r1[mine][-1] == first[k] + length[k]
        assert np.all(r1[mine] - r0[mine] <= per_round[k])
        assert np.all(r0[mine][1:] == r1[mine][:-1])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1))
def test_a_cut_channel_counts_only_over_its_own_range(seed):
    """The round's first channel counts from head0 on, its last before tail1."""
    rng = np.random.default_rng(seed)
    mask = rng.random((10, 25)) < 0.3
    r0 = rng.integers(0, 10, size=6)
    r1 = r0 + rng.integers(1, 11 - r0)
    c0 = rng.integers(0, 20, size=6)
    c1 = c0 + rng.integers(1, 26 - c0)
    head = c0 + rng.integers(0, c1 - c0 + 1)
    tail = c0 + rng.integers(0, c1 - c0 + 1)
    order = rng.permutation(10)
    got = needed_positions(mask.astype(np.int8), order, r0, r1, c0, c1, head, tail)
    for k in range(6):
        use = np.zeros(25, dtype=bool)
        for r in range(r0[k], r1[k]):
            lo = head[k] if r == r0[k] else c0[k]
            hi = tail[k] if r == r1[k] - 1 else c1[k]
            row = mask[order[r]].copy()
            row[:max(lo, c0[k])] = False
            row[min(hi, c1[k]):] = False
            use |= row
        assert got[k] == int(use.sum())


def test_expected_fraction_matches_random_weights():
    rng = np.random.default_rng(0)
    density, channels = 0.2, 6
    mask = rng.random((channels, 200_000)) < density
    measured = mask.any(axis=0).mean()
    assert abs(measured - expected_fraction(density, channels)) < 0.005
    assert abs(expected_fraction(density, 1) - density) < 1e-12


def test_nonzeros_by_part_matches_numpy():
    rng = np.random.default_rng(1)
    w = rng.integers(-1, 2, size=(7, 50)).astype(np.int8)
    bounds = np.array([0, 13, 13, 40, 50])
    want = np.stack([np.count_nonzero(w[:, a:b], axis=1) for a, b in zip(bounds[:-1], bounds[1:],
                                                                          strict=True)], axis=1)
    np.testing.assert_array_equal(nonzeros_by_part(w, bounds), want)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1))
def test_after_kth_nonzero_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    w = (rng.random((6, 40)) < 0.3).astype(np.int8)
    rows = rng.integers(0, 6, size=10)
    c0 = rng.integers(0, 30, size=10)
    c1 = c0 + rng.integers(1, 41 - c0)
    k = rng.integers(1, 6, size=10)
    got = after_kth_nonzero(w, rows, c0, c1, k)
    for j in range(10):
        nz = c0[j] + np.flatnonzero(w[rows[j], c0[j]:c1[j]])
        assert got[j] == (nz[k[j] - 1] + 1 if len(nz) >= k[j] else c1[j])
