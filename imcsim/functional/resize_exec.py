"""Value-level Resize for `graph_exec` (ONNX semantics, as onnx's reference evaluator),
numpy only. Resize is separable: each resized axis is a (out, in) interpolation matrix M
applied along that axis, row i holding the coefficients of output i's neighbours:

* the output coordinate i maps to x = T(i) in the input (the coordinate transform:
  half_pixel (i + 0.5) / s - 0.5, asymmetric i / s, align_corners i (n - 1) / (s n - 1),
  pytorch_half_pixel, half_pixel_symmetric, tf_crop_and_resize with its roi, opset 11's
  tf_half_pixel_for_nn (i + 0.5) / s; s the
  axis's scale, n its input length);
* r = x - floor(x) (1 when x is an integer: the left pixel is preferred);
* coefficients of the n_taps neighbours nearest x (edge-clamped): nearest [1, 0] or
  [0, 1] by nearest_mode, linear [1 - r, r], cubic Keys' kernel with cubic_coeff_a;
  antialias (linear, cubic, when downscaling) stretches the kernel by 1 / s and
  normalises it; exclude_outside zeroes the taps outside the input and renormalises;
  tf_crop_and_resize writes extrapolation_value where x falls outside [0, n - 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from imcsim.workload.graph import Graph, Node
from imcsim.workload.shape_resize import resize_plan

Coeffs = Callable[[float, float], np.ndarray]


def _nearest(mode: str) -> Coeffs:
    def coeffs(r: float, s: float) -> np.ndarray:
        if float(r).is_integer():
            return np.array([0.0, 1.0])
        up = {"round_prefer_floor": r > 0.5, "round_prefer_ceil": r >= 0.5,
              "floor": False, "ceil": True}[mode]
        return np.array([0.0, 1.0]) if up else np.array([1.0, 0.0])
    return coeffs


def _linear(antialias: bool) -> Coeffs:
    def coeffs(r: float, s: float) -> np.ndarray:
        if not antialias:
            return np.array([1 - r, r])
        s = min(s, 1.0)
        start = int(np.floor(-1 / s) + 1)
        args = (np.arange(start, start + 2 - 2 * start) - r) * s
        c = np.clip(1 - np.abs(args), 0, 1)
        return c / c.sum()
    return coeffs


def _keys(x: float, a: float) -> float:
    x = abs(x)
    if x <= 1:
        return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
    if x < 2:
        return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a
    return 0.0


def _cubic(a: float, antialias: bool) -> Coeffs:
    def coeffs(r: float, s: float) -> np.ndarray:
        if not antialias:
            return np.array([_keys(r + 1, a), _keys(r, a), _keys(1 - r, a),
                             _keys(2 - r, a)])
        s = min(s, 1.0)
        start = int(np.floor(-2 / s) + 1)
        c = np.array([_keys(s * (i - r), a) for i in range(start, 2 - start)])
        return c / c.sum()
    return coeffs


def _source(i: np.ndarray, transform: str, s: float, n: int, n_out: int,
            roi: tuple[float, float] | None) -> np.ndarray:
    """Input coordinate of output positions `i` along one axis."""
    width = s * n  # the target length, fractional when it comes from a scale
    if transform == "align_corners":
        return np.zeros(n_out) if width == 1 else i * (n - 1) / (width - 1)
    if transform == "asymmetric":
        return i / s
    if transform == "tf_crop_and_resize":
        assert roi is not None
        lo, hi = roi
        if width == 1:
            return np.full(n_out, (hi - lo) * (n - 1) / 2 + lo * (n - 1))
        return i * (hi - lo) * (n - 1) / (width - 1) + lo * (n - 1)
    if transform == "pytorch_half_pixel":
        return np.full(n_out, -0.5) if width == 1 else (i + 0.5) / s - 0.5
    if transform == "half_pixel_symmetric":
        offset = n / 2 * (1 - n_out / width)
        return offset + (i + 0.5) / s - 0.5
    if transform == "tf_half_pixel_for_nn":  # opset 11 only
        return (i + 0.5) / s
    return (i + 0.5) / s - 0.5  # half_pixel


def axis_matrix(n: int, n_out: int, s: float, node: Node,
                roi: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(M (n_out, n), mask of outputs to extrapolate or None) of one axis."""
    a = node.attrs
    mode = a.get("mode", "nearest")
    antialias = bool(int(a.get("antialias", 0)))
    coeffs = (_nearest(a.get("nearest_mode", "round_prefer_floor")) if mode == "nearest"
              else _linear(antialias) if mode == "linear"
              else _cubic(float(a.get("cubic_coeff_a", -0.75)), antialias))
    transform = a.get("coordinate_transformation_mode", "half_pixel")
    x = _source(np.arange(n_out, dtype=np.float64), transform, s, n, n_out, roi)
    floor = np.floor(x)
    ratios = np.where(x == floor, 1.0, x - floor)
    table = np.array([coeffs(float(r), s) for r in ratios])
    taps = table.shape[1]
    pad = math.ceil(taps / 2)
    xp = x + pad
    p = np.floor(xp).astype(np.int64)
    frac = xp - p
    if taps % 2 == 0:  # window centres at half-integers, ties to the smaller one
        offset = np.where(frac == 0, -(taps // 2), -(taps // 2) + 1)
    else:
        offset = np.where(frac <= 0.5, -((taps - 1) // 2), -((taps - 1) // 2) + 1)
    idx = (p + offset)[:, None] + np.arange(taps)[None, :] - pad
    if int(a.get("exclude_outside", 0)):
        table = np.where((idx < 0) | (idx >= n), 0.0, table)
        sums = table.sum(axis=1, keepdims=True)
        table = table / np.where(sums == 0, 1.0, sums)
    m = np.zeros((n_out, n))
    np.add.at(m, (np.repeat(np.arange(n_out), taps), np.clip(idx, 0, n - 1).ravel()),
              table.ravel())
    outside = (x < 0) | (x > n - 1) if transform == "tf_crop_and_resize" else None
    return m, outside


def resize(graph: Graph, node: Node, x: np.ndarray, src: str) -> np.ndarray:
    """Resize `x` (input 0 of `node`; roi, scales, sizes constant inputs)."""
    plan = resize_plan(node, tuple(x.shape), graph, src)
    y = np.asarray(x, np.float64)
    value = float(node.attrs.get("extrapolation_value", 0.0))
    for axis, (n, n_out, s) in enumerate(zip(x.shape, plan.out, plan.scales, strict=True)):
        roi = None if plan.roi is None else plan.roi[axis]
        if n_out == n and math.isclose(s, 1.0) and (roi is None or (
                math.isclose(roi[0], 0.0) and math.isclose(roi[1], 1.0))):
            continue  # identity along this axis
        m, outside = axis_matrix(n, n_out, s, node, roi)
        y = np.moveaxis(np.tensordot(m, y, axes=([1], [axis])), 0, axis)
        if outside is not None and outside.any():
            shape = [1] * y.ndim
            shape[axis] = n_out
            y = np.where(outside.reshape(shape), value, y)
    return y
