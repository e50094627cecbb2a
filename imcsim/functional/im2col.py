"""Receptive fields (im2col) of a batch of NCHW inputs, the one implementation used by the
bit-exact layer check and by the graph executor."""

from __future__ import annotations

import numpy as np


def im2col_nchw(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int],
                dilations: tuple[int, int], pads: tuple[int, int, int, int],
                out_hw: tuple[int, int], groups: int) -> np.ndarray:
    """(groups, N * out_pixels, fan_in) windows of x (N, C, H, W), zero padded.

    Rows are ordered (image, output pixel); fan-in is ordered (in channel of the group,
    ky, kx), matching weights.reshape(out_channels, -1). pads = (top, left, bottom, right).
    """
    n, c = x.shape[:2]
    top, left, bottom, right = pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilations, out_hw
    taps = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            taps[:, :, ky, kx] = xp[:, :, y0:y0 + sh * (oh - 1) + 1:sh,
                                    x0:x0 + sw * (ow - 1) + 1:sw]
    cg = c // groups
    cols = taps.reshape(n, groups, cg * kh * kw, oh * ow).transpose(1, 0, 3, 2)
    return np.ascontiguousarray(cols.reshape(groups, n * oh * ow, cg * kh * kw))
