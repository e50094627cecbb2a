"""Ternary weight quantizers: float weights -> int8 levels in {-1, 0, +1} and scales.

Both work on one layer's weight array `w` whose axis 0 is the output channel (ONNX Conv
layout (O, I/g, kh, kw), or (O, I) for a fully connected layer), and return

    levels : int8, same shape as w, values in {-1, 0, +1}
    scale  : float32, shape (O,)      so that  w[o] ~= scale[o] * levels[o]

Scale rule (TWN, Li & Liu 2016, "Ternary Weight Networks", arXiv:1605.04711, eq. 9-10):
the per-output-channel scale is the mean magnitude of the weights kept nonzero,

    alpha_o = sum_{i in I_o} |w_oi| / |I_o|,   I_o = {i : levels_oi != 0}   (0 if I_o empty).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from imcsim.errors import WorkloadError

TWN_DELTA_FACTOR = 0.7


def _alpha(absw: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """alpha_o = mean of |w| over channel o's kept positions (0 if none). 2-D inputs (O, -1).

    `absw` is overwritten (|w| where kept, 0 elsewhere): callers pass a temporary.
    """
    keep = np.reshape(keep, absw.shape)
    sums = np.multiply(absw, keep, out=absw).sum(axis=1, dtype=np.float64)
    # per-row counts: summing the bool bytes is ~2x faster than count_nonzero(axis=1)
    counts = keep.view(np.uint8).sum(axis=1, dtype=np.uint32 if keep.shape[1] < 2**32
                                     else np.int64)
    alpha = np.zeros(absw.shape[0], dtype=np.float64)
    np.divide(sums, counts, out=alpha, where=counts > 0)
    return alpha.astype(np.float32)


def _levels(w: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """sign(w) where kept, 0 elsewhere, as int8."""
    levels = (w > 0).view(np.int8) - (w < 0).view(np.int8)
    levels *= keep.reshape(w.shape)
    return levels


def _outside(w2: np.ndarray, t: np.floating) -> tuple[np.ndarray, np.ndarray]:
    """Levels sign(w) * [|w| > t] (int8) and the mask |w| > t, for a float w, t >= 0.

    Same values as `_levels(w2, abs(w2) > t)` with one pass fewer: for t >= 0,
    |w| > t <=> w > t or w < -t, and a kept w is nonzero so its sign is +-1.
    """
    levels = np.empty(w2.shape, np.int8)
    np.greater(w2, t, out=levels.view(np.bool_))
    mask = np.less(w2, -t)
    levels -= mask.view(np.int8)
    return levels, np.not_equal(levels, 0, out=mask)


def _as_2d(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w)
    if w.ndim < 1 or w.size == 0:
        raise WorkloadError(f"cannot quantize an empty or scalar weight array {w.shape}")
    return w.reshape(w.shape[0], -1)


def ternarize_twn(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TWN ternarization (Li & Liu 2016, eq. 14-15), threshold over the whole layer:

        delta   = 0.7 * mean_i |w_i|            (layer-wise)
        level_i = sign(w_i) * [|w_i| > delta]
        alpha_o = mean of |w| over channel o's nonzero levels (0 if none)

    On Gaussian weights this zeroes P(|z| < 0.7*sqrt(2/pi)) ~= 0.42 of the entries.
    """
    w = np.asarray(w)
    w2 = _as_2d(w)
    if w2.size > LARGE and np.issubdtype(w.dtype, np.floating):
        levels, alpha = _twn_by_blocks(w2)
        return levels.reshape(w.shape), alpha
    absw = np.abs(w2)
    mean = float(absw.mean(dtype=np.float64))
    if not np.isfinite(mean):
        raise WorkloadError("weights contain NaN or inf")
    t = np.float32(TWN_DELTA_FACTOR * mean)
    if np.issubdtype(w.dtype, np.floating):
        levels, keep = _outside(w2, t)
        return levels.reshape(w.shape), _alpha(absw, keep)
    keep = absw > t
    return _levels(w, keep), _alpha(absw, keep)


LARGE = 2 ** 25  # elements: above this, TWN works through blocks of rows
BLOCK = 2 ** 22  # elements per block


def _twn_by_blocks(w2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`ternarize_twn` of a large float (O, N) array holding no full-size float copy (the
    |w| temporaries live one block of rows at a time)."""
    rows = max(1, BLOCK // w2.shape[1])

    def block(b: int) -> tuple[slice, np.ndarray]:
        return slice(b * rows, (b + 1) * rows), w2[b * rows:(b + 1) * rows]

    return ternarize_twn_blocks(block, -(-w2.shape[0] // rows), w2.shape)


@dataclass
class _Classed:
    """One block against the band: |w| summed, per row the kept weights' |w| sum and
    count, and the weights inside the band (row, column, value)."""

    abs_sum: float
    sums: np.ndarray
    counts: np.ndarray
    near: tuple[np.ndarray, np.ndarray, np.ndarray]


def _classify(block: Callable[[int], tuple[slice, np.ndarray]], b: int,
              band: tuple[np.float32, np.float32], levels: np.ndarray) -> _Classed:
    rows, w = block(b)
    absw = np.abs(w)
    block_levels, keep = _outside(w, band[1])
    levels[rows] = block_levels
    r, c = np.nonzero((absw > band[0]) & ~keep)
    return _Classed(float(absw.sum(dtype=np.float64)),
                    np.multiply(absw, keep).sum(axis=1, dtype=np.float64),
                    keep.view(np.uint8).sum(axis=1, dtype=np.int64),
                    (r + rows.start, c, w[r, c]))


def ternarize_twn_blocks(block: Callable[[int], tuple[slice, np.ndarray]], count: int,
                         shape: tuple[int, int], threads: int | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """TWN over a float (O, N) tensor given as `count` blocks of rows, `block(b)` giving
    (row slice, block b) the same each call. Peak memory is the int8 levels, a block per
    thread and the weights near the threshold. mean|w| is accumulated block by block in
    float64, in block order, so it may differ from a one-pass mean in its last bit (then
    at most the weights within that rounding of the threshold differ).

    One pass, as a rule, its blocks on a thread pool (`parallel.map_ordered`, `threads`
    as there): the threshold t = 0.7 mean|w| is not known until every block is read, so
    each weight is classed against a band [t0 (1 - BAND), t0 (1 + BAND)] around the first
    block's estimate t0: those above it are kept, those below dropped, those inside it
    (about 0.4 % of Gaussian weights) kept aside and decided once t is known. Should t
    fall outside the band, a second pass over the blocks decides every weight (the same
    result)."""
    from imcsim.workload.parallel import map_ordered

    o, n = shape
    levels = np.empty(shape, np.int8)
    _, w0 = block(0)
    t0 = TWN_DELTA_FACTOR * float(np.abs(w0).sum(dtype=np.float64)) / max(1, w0.size)
    band = (np.float32(t0 * (1.0 - BAND)), np.float32(t0 * (1.0 + BAND)))
    del w0
    parts = map_ordered(lambda b: _classify(block, b, band, levels), range(count),
                        [1.0] * count, threads)
    total = 0.0
    for part in parts:
        total += part.abs_sum
    mean = total / (o * n)
    if not np.isfinite(mean):
        raise WorkloadError("weights contain NaN or inf")
    t = np.float32(TWN_DELTA_FACTOR * mean)
    if not band[0] <= t <= band[1]:
        return _twn_two_passes(block, count, shape, t)
    sums = np.concatenate([p.sums for p in parts])
    counts = np.concatenate([p.counts for p in parts])
    r, c, w = (np.concatenate([p.near[i] for p in parts]) for i in range(3))
    kept = np.abs(w) > t
    r, c, w = r[kept], c[kept], w[kept]
    levels[r, c] = np.where(w > 0, 1, -1).astype(np.int8)
    np.add.at(sums, r, np.abs(w).astype(np.float64))
    np.add.at(counts, r, 1)
    alpha = np.zeros(o, dtype=np.float64)
    np.divide(sums, counts, out=alpha, where=counts > 0)
    return levels, alpha.astype(np.float32)


BAND = 0.005  # relative half-width of the one-pass TWN's band around its first estimate


def _twn_two_passes(block: Callable[[int], tuple[slice, np.ndarray]], count: int,
                    shape: tuple[int, int], t: np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Levels and scales against a known threshold `t`, one more pass over the blocks."""
    levels = np.empty(shape, np.int8)
    alpha = np.empty(shape[0], np.float32)
    for b in range(count):
        rows, w = block(b)
        block_levels, keep = _outside(w, t)
        levels[rows] = block_levels
        alpha[rows] = _alpha(np.abs(w), keep)
    return levels, alpha


ternarize_twn.by_blocks = ternarize_twn_blocks  # type: ignore[attr-defined]


def zero_count(sparsity: float, n: int) -> int:
    """Number of zeros the target-sparsity quantizer makes in an n-weight layer:
    round(sparsity * n) (Python rounding, half to even)."""
    return min(n, max(0, round(sparsity * n)))


def ternarize_to_sparsity(w: np.ndarray, sparsity: float) -> tuple[np.ndarray, np.ndarray]:
    """Ternarize to an exact target sparsity with a layer-wise top-k threshold:

        k       = round(sparsity * N)           (N = weights in the layer)
        zeroed  = the k entries of smallest |w| (ties broken by flat index, lowest first)
        level_i = sign(w_i) for the other N - k entries
        alpha_o = mean of |w| over channel o's nonzero levels (0 if none)

    Gives exactly k zeros unless w holds more than k exact 0.0 entries (they stay 0; being
    the smallest |w| they are otherwise among the k zeroed).
    Cost O(N): one np.partition for the k-th smallest |w|, no full sort.
    """
    if not 0.0 <= sparsity < 1.0:  # also rejects NaN
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
    w = np.asarray(w)
    w2 = _as_2d(w)
    absw = np.abs(w2)
    flat = absw.ravel()
    if not np.isfinite(flat.max()):  # max is NaN if any |w| is (and inf if any is)
        raise WorkloadError("weights contain NaN or inf")
    k = zero_count(sparsity, flat.size)
    if 0 < k < flat.size:
        if np.issubdtype(w.dtype, np.floating) and flat.itemsize in (2, 4, 8):
            # |w| is finite and >= +0.0, so its bit patterns read as unsigned integers
            # sort like the values: an integer partition is ~2x faster than a float one.
            bits = np.partition(flat.view(f"u{flat.itemsize}"), k - 1)
            t = bits[k - 1:k].view(flat.dtype)[0]  # k-th smallest |w|
            # bits[:k] <= t <= bits[k:]. If all of bits[k:] exceed t, the k zeroed are
            # exactly {|w| <= t} (every tie at t zeroed): no tie breaking needed.
            if bits[k:].min() > bits[k - 1]:
                levels, keep = _outside(w2, t)
                return levels.reshape(w.shape), _alpha(absw, keep)
        else:
            t = np.partition(flat, k - 1)[k - 1]  # k-th smallest |w|
        keep = flat >= t
        n_below = flat.size - int(np.count_nonzero(keep))
        ties = np.flatnonzero(flat == t)
        keep[ties[: k - n_below]] = False  # zero the lowest-index ties first
    else:
        keep = np.full(flat.shape, k == 0)
    return _levels(w, keep), _alpha(absw, keep)
