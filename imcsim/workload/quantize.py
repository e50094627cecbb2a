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

import numpy as np

from imcsim.errors import WorkloadError

TWN_DELTA_FACTOR = 0.7


def _alpha(absw: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """alpha_o = mean of |w| over channel o's kept positions (0 if none). 2-D inputs (O, -1)."""
    sums = (absw * keep).sum(axis=1, dtype=np.float64)
    counts = np.count_nonzero(keep, axis=1)
    alpha = np.zeros(absw.shape[0], dtype=np.float64)
    np.divide(sums, counts, out=alpha, where=counts > 0)
    return alpha.astype(np.float32)


def _levels(w: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """sign(w) where kept, 0 elsewhere, as int8."""
    levels = (w > 0).view(np.int8) - (w < 0).view(np.int8)
    levels *= keep.reshape(w.shape)
    return levels


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
    w2 = _as_2d(w)
    absw = np.abs(w2)
    mean = float(absw.mean(dtype=np.float64))
    if not np.isfinite(mean):
        raise WorkloadError("weights contain NaN or inf")
    keep = absw > np.float32(TWN_DELTA_FACTOR * mean)
    return _levels(np.asarray(w), keep), _alpha(absw, keep)


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
    w2 = _as_2d(w)
    absw = np.abs(w2)
    flat = absw.ravel()
    if not np.isfinite(flat.sum(dtype=np.float64)):
        raise WorkloadError("weights contain NaN or inf")
    k = zero_count(sparsity, flat.size)
    if k == 0:
        keep = np.ones(flat.shape, dtype=bool)
    elif k >= flat.size:
        keep = np.zeros(flat.shape, dtype=bool)
    else:
        t = np.partition(flat, k - 1)[k - 1]  # k-th smallest |w|
        keep = flat >= t
        n_below = flat.size - int(np.count_nonzero(keep))
        ties = np.flatnonzero(flat == t)
        keep[ties[: k - n_below]] = False  # zero the lowest-index ties first
    keep = keep.reshape(absw.shape)
    return _levels(np.asarray(w), keep), _alpha(absw, keep)
