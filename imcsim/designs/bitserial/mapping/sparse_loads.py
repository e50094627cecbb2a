"""Which activations a round of resident channels needs (sparse-aware loading).

With sparse addition control the controller knows every weight before it issues an
operation, so it also knows which fan-in positions of a part no channel of the resident
set adds (all their weights there are zero): those activations are not loaded. For a
round of channels C over the fan-in positions [f0, f1) of a part,

    loaded positions = #{ f in [f0, f1) : w[c, f] != 0 for some c in C }.

With independent weights of density d this is (f1 - f0) (1 - (1 - d)^|C|) on average,
the estimate the mapping search uses; the work items count it exactly from the weights.
"""

from __future__ import annotations

import numpy as np
from numba import njit

BLOCK_ELEMENTS = 1 << 20  # weights per block: int64 temporaries of 8 MiB


@njit(cache=True)
def _needed(weights, order, row0, row1, col0, col1, head0, tail1):
    """Rows scanned in turn, keeping the positions still unseen (about part / density
    reads per round on random weights, each row read in increasing column order)."""
    out = np.zeros(row0.shape[0], dtype=np.int64)
    left = np.empty(weights.shape[1], dtype=np.int64)
    for k in range(row0.shape[0]):
        n_left = col1[k] - col0[k]
        for i in range(n_left):
            left[i] = col0[k] + i
        for r in range(row0[k], row1[k]):
            row = order[r]
            kept = 0
            if r == row0[k] or r == row1[k] - 1:  # maybe a cut channel: its own range
                lo = head0[k] if r == row0[k] else col0[k]
                hi = tail1[k] if r == row1[k] - 1 else col1[k]
                for i in range(n_left):
                    f = left[i]
                    left[kept] = f  # branch-free: keep f if this channel does not add it
                    kept += (weights[row, f] == 0) | (f < lo) | (f >= hi)
            else:
                for i in range(n_left):
                    f = left[i]
                    left[kept] = f
                    kept += weights[row, f] == 0
            n_left = kept
            if n_left == 0:
                break
        out[k] = col1[k] - col0[k] - n_left
    return out


def needed_positions(weights: np.ndarray, order: np.ndarray, row0: np.ndarray,
                     row1: np.ndarray, col0: np.ndarray, col1: np.ndarray,
                     head0: np.ndarray | None = None, tail1: np.ndarray | None = None
                     ) -> np.ndarray:
    """Per round k: fan-in positions in [col0, col1) where one of the channels
    order[row0:row1] of the (channels, fan_in) `weights` is nonzero. The round's first
    channel counts only from head0 on and its last only before tail1 (a channel cut
    between two items); by default they count over the whole range."""
    head0 = col0 if head0 is None else head0
    tail1 = col1 if tail1 is None else tail1
    return _needed(np.ascontiguousarray(weights), np.ascontiguousarray(order, dtype=np.int64),
                   *(np.ascontiguousarray(v, dtype=np.int64)
                     for v in (row0, row1, col0, col1, head0, tail1)))


def nonzeros_by_part(weights: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(channels, parts) nonzero counts of (channels, fan_in) `weights` over the fan-in
    parts [bounds[p], bounds[p + 1]) (a sum per part, `np.add.reduceat`, over blocks of
    channels so that its int64 temporaries stay small)."""
    weights = np.asarray(weights)
    bounds = np.asarray(bounds, dtype=np.int64)
    channels, fan_in = weights.shape
    out = np.zeros((channels, len(bounds) - 1), dtype=np.int64)
    sized = np.flatnonzero(bounds[1:] > bounds[:-1])
    if channels == 0 or sized.size == 0:
        return out
    starts = bounds[:-1][sized]
    tail_end = int(bounds[sized[-1] + 1])
    rows = max(1, BLOCK_ELEMENTS // max(fan_in, 1))
    for r in range(0, channels, rows):
        block = weights[r:r + rows]
        sums = np.add.reduceat(block != 0, starts, axis=1, dtype=np.int64)
        # reduceat's last sum runs to the end of the row: take off what lies past the part
        if tail_end < fan_in:
            sums[:, -1] -= np.count_nonzero(block[:, tail_end:], axis=1)
        out[r:r + rows, sized] = sums
    return out


def after_kth_nonzero(weights: np.ndarray, rows: np.ndarray, col0: np.ndarray,
                      col1: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Per entry j: the position right after the k[j]-th nonzero of weights[rows[j]] in
    [col0[j], col1[j]) (col1[j] if there are fewer).

    With P[f] the nonzeros of the row before position f, the k-th nonzero from col0 ends
    at the first f with P[f] = P[col0] + k: one search of P, which is sorted (the rows
    laid end to end, each shifted above the last, make one sorted array)."""
    weights = np.asarray(weights)
    rows, col0, col1, k = (np.asarray(v, dtype=np.int64) for v in (rows, col0, col1, k))
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    used, where = np.unique(rows, return_inverse=True)
    width = weights.shape[1] + 1
    prefix = np.zeros((len(used), width), dtype=np.int64)
    np.cumsum(weights[used] != 0, axis=1, out=prefix[:, 1:])
    shift = np.arange(len(used), dtype=np.int64) * width
    flat = (prefix + shift[:, None]).ravel()
    target = prefix[where, col0] + k + shift[where]
    after = np.searchsorted(flat, target, side="left") - shift[where]
    return np.where((k >= 1) & (after <= col1), after, col1)


def expected_fraction(density: float, channels: np.ndarray | float) -> np.ndarray | float:
    """Mean fraction of a part's positions a round of `channels` channels needs."""
    return 1.0 - (1.0 - density) ** np.asarray(channels, dtype=np.float64)


def round_bounds(first: np.ndarray, length: np.ndarray, per_round: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split channel ranges [first, first + length) into rounds of at most per_round
    channels: (owner range index, round start, round end) per round."""
    rounds = -(-length // per_round)
    owner = np.repeat(np.arange(len(first)), rounds)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(rounds) - rounds, rounds)
    start = first[owner] + offset * per_round[owner]
    end = np.minimum(start + per_round[owner], first[owner] + length[owner])
    return owner, start, end
