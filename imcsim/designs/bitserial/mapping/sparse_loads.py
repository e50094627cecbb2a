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

BLOCK_ELEMENTS = 1 << 20  # weights per block: int64 temporaries of 8 MiB


def needed_positions(weights: np.ndarray, order: np.ndarray, row0: np.ndarray,
                     row1: np.ndarray, col0: np.ndarray, col1: np.ndarray,
                     head0: np.ndarray | None = None, tail1: np.ndarray | None = None
                     ) -> np.ndarray:
    """Per round k: fan-in positions in [col0, col1) where one of the channels
    order[row0:row1] of the (channels, fan_in) `weights` is nonzero. The round's first
    channel counts only from head0 on and its last only before tail1 (a channel cut
    between two items); by default they count over the whole range.

    Per column range, the nonzero masks of the channels (in `order`) are packed eight
    positions a byte; a round's union is the bitwise OR of its rows (one `reduceat`
    for all rounds of the range), its count the set bits."""
    weights = np.asarray(weights)
    order = np.asarray(order, dtype=np.int64)
    row0, row1, col0, col1 = (np.asarray(v, dtype=np.int64) for v in (row0, row1, col0, col1))
    head0 = col0 if head0 is None else np.maximum(np.asarray(head0, dtype=np.int64), col0)
    tail1 = col1 if tail1 is None else np.minimum(np.asarray(tail1, dtype=np.int64), col1)
    out = np.zeros(len(row0), dtype=np.int64)
    use = np.flatnonzero((row1 > row0) & (col1 > col0))
    if use.size == 0:
        return out
    ranges, which = np.unique(np.stack([col0[use], col1[use]], axis=1), axis=0,
                              return_inverse=True)
    for (c0, c1), mine in zip(ranges.tolist(), _members(which.ravel(), len(ranges)),
                              strict=True):
        k = use[mine]
        packed = np.packbits(weights[order, c0:c1] != 0, axis=1)
        out[k] = _union_bits(packed, row0[k], row1[k], head0[k] - c0, tail1[k] - c0,
                             c1 - c0)
    return out


def _members(which: np.ndarray, groups: int) -> list[np.ndarray]:
    """Indices of each group's members (`which` gives each member's group)."""
    by = np.argsort(which, kind="stable")
    return np.split(by, np.cumsum(np.bincount(which, minlength=groups))[:-1])


def _union_bits(packed: np.ndarray, r0: np.ndarray, r1: np.ndarray, head: np.ndarray,
                tail: np.ndarray, width: int) -> np.ndarray:
    """Set bits of the OR of rows [r0, r1) of `packed` (rows of packed bits), the first
    row's bits only from `head` on and the last row's only before `tail`."""
    padded = np.concatenate([packed, np.zeros((1, packed.shape[1]), dtype=np.uint8)])
    whole = (head <= 0) & (tail >= width)
    union = np.zeros((len(r0), packed.shape[1]), dtype=np.uint8)
    # rounds counted over their whole range: OR of [r0, r1) (reduceat over start/end pairs)
    if np.any(whole):
        pairs = np.stack([r0[whole], r1[whole]], axis=1).ravel()
        union[whole] = np.bitwise_or.reduceat(padded, pairs, axis=0)[::2]
    cut = np.flatnonzero(~whole)
    if cut.size:  # first and last rows masked, the rows between them whole
        bit = np.arange(packed.shape[1] * 8)
        head_mask = np.packbits(bit >= head[cut, None], axis=1)
        tail_mask = np.packbits(bit < tail[cut, None], axis=1)
        a, b = r0[cut], r1[cut]
        single = b - a == 1
        u = np.where(single[:, None], padded[a] & head_mask & tail_mask,
                     (padded[a] & head_mask) | (padded[b - 1] & tail_mask))
        inner = np.flatnonzero(b - a > 2)
        if inner.size:
            pairs = np.stack([a[inner] + 1, b[inner] - 1], axis=1).ravel()
            u[inner] |= np.bitwise_or.reduceat(padded, pairs, axis=0)[::2]
        union[cut] = u
    return _POPCOUNT[union].sum(axis=1, dtype=np.int64)


_POPCOUNT = np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)


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
