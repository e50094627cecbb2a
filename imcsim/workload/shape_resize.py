"""Resize (ONNX opsets 11-19; the importer rewrites opset-10 Resize and Upsample to this
form): output shape, and the per-axis scales its coordinate transform uses.

Inputs X, roi, scales, sizes (an omitted or empty tensor is absent; exactly one of scales
and sizes is given, both constant as constant folding leaves them), attribute `axes` (the
axes they refer to; default all). Per resized axis a of input length n (ONNX's shape
inference and reference evaluator):

* scales: out = floor(n * scale), and the coordinate transform uses `scale` (the spec's
  text multiplies by roi_end - roi_start too; onnx's own shape inference and reference
  evaluator do not, and neither do we);
* sizes, keep_aspect_ratio_policy "stretch": out = size, scale = size / n;
  "not_larger" / "not_smaller": one scale s = min / max over the axes of size / n, and
  out = floor(s * n + 0.5) (halves rounded up).

Modes nearest (nearest_mode round_prefer_floor, round_prefer_ceil, floor, ceil), linear
and cubic; coordinate transforms half_pixel, half_pixel_symmetric, pytorch_half_pixel,
align_corners, asymmetric, tf_crop_and_resize (which needs roi), and opset 11's
tf_half_pixel_for_nn. The values are
`functional.resize_exec`'s; what it costs is data movement, its output elements
(`op_kinds`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.graph import Graph, Node, Shape, node_key

MODES = ("nearest", "linear", "cubic")
TRANSFORMS = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
              "asymmetric", "tf_crop_and_resize", "tf_half_pixel_for_nn")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
POLICIES = ("stretch", "not_larger", "not_smaller")


@dataclass(frozen=True)
class ResizePlan:
    """What a Resize does per axis of its input (every axis; 1.0 and the same length on
    the axes it does not resize)."""

    out: Shape
    scales: tuple[float, ...]
    roi: tuple[tuple[float, float], ...] | None  # (start, end) per axis, tf_crop_and_resize


def _err(node: Node, src: str, msg: str) -> WorkloadError:
    return WorkloadError(msg, source=src, key=node_key(node))


def _optional(node: Node, i: int, graph: Graph, src: str, what: str) -> np.ndarray | None:
    """Input `i` as a float64 vector, None when omitted or empty; it must be constant."""
    name = node.input(i)
    if name is None:
        return None
    data = graph.weight(name)
    if data is None:
        raise _err(node, src, f"{what} (input {name!r}) must be a constant")
    values = np.asarray(data, np.float64).ravel()
    return values if values.size else None


def _choice(node: Node, attr: str, default: str, allowed: tuple[str, ...], src: str) -> str:
    value = node.attrs.get(attr, default)
    if value not in allowed:
        raise _err(node, src, f"unsupported {attr} {value!r} (supported: "
                              f"{', '.join(allowed)})")
    return str(value)


def resize_plan(node: Node, x: Shape, graph: Graph, src: str) -> ResizePlan:
    """Output shape, per-axis scales and roi of Resize `node` on input shape `x`; a
    WorkloadError naming the node for anything the spec does not allow."""
    rank = len(x)
    _choice(node, "mode", "nearest", MODES, src)
    transform = _choice(node, "coordinate_transformation_mode", "half_pixel", TRANSFORMS,
                        src)
    _choice(node, "nearest_mode", "round_prefer_floor", NEAREST_MODES, src)
    policy = _choice(node, "keep_aspect_ratio_policy", "stretch", POLICIES, src)
    try:
        axes = [int(a) for a in node.attrs.get("axes", range(rank))]
    except (TypeError, ValueError):
        raise _err(node, src, f"attribute axes must be ints, got "
                              f"{node.attrs.get('axes')!r}") from None
    if any(not -rank <= a < rank for a in axes) or len({a % rank for a in axes}) < len(axes):
        raise _err(node, src, f"axes {axes} out of range or repeated for rank {rank}")
    axes = [a % rank for a in axes]
    roi = _optional(node, 1, graph, src, "roi")
    scales = _optional(node, 2, graph, src, "scales")
    sizes = _optional(node, 3, graph, src, "sizes")
    if (scales is None) == (sizes is None):
        raise _err(node, src, "exactly one of scales and sizes must be given")
    given = scales if scales is not None else sizes
    assert given is not None
    if len(given) != len(axes):
        raise _err(node, src, f"{'scales' if scales is not None else 'sizes'} "
                              f"{given.tolist()} need one value per axis ({len(axes)})")
    out, per_axis = list(x), [1.0] * rank
    if scales is not None:
        if min(scales) <= 0 or not np.all(np.isfinite(scales)):
            raise _err(node, src, f"scales {scales.tolist()} must be positive")
        for a, s in zip(axes, scales, strict=True):
            out[a], per_axis[a] = int(math.floor(x[a] * float(s))), float(s)
    else:
        assert sizes is not None
        if min(sizes) < 1 or np.any(sizes != np.round(sizes)) or min(x[a] for a in axes) < 1:
            raise _err(node, src, f"sizes {sizes.tolist()} must be positive integers for "
                                  f"a non-empty input")
        ratios = [float(n) / x[a] for a, n in zip(axes, sizes, strict=True)]
        if policy == "stretch":
            for a, n, r in zip(axes, sizes, ratios, strict=True):
                out[a], per_axis[a] = int(n), r
        else:
            common = min(ratios) if policy == "not_larger" else max(ratios)
            for a in axes:
                out[a], per_axis[a] = int(common * x[a] + 0.5), common
    if min(out) < 1:
        raise _err(node, src, f"the output {out} would be empty")
    boxes = None
    if transform == "tf_crop_and_resize":
        if roi is None or len(roi) != 2 * len(axes):
            raise _err(node, src, f"tf_crop_and_resize needs roi with 2 values per axis "
                                  f"({2 * len(axes)})")
        full = [(0.0, 1.0)] * rank
        for k, a in enumerate(axes):
            full[a] = (float(roi[k]), float(roi[k + len(axes)]))
        boxes = tuple(full)
    return ResizePlan(tuple(out), tuple(per_axis), boxes)


def resize(node: Node, s: list[Shape | None], src: str, g: Graph) -> Shape:
    """Shape function of Resize (see the module docstring)."""
    x = s[0]
    assert x is not None  # input 0 is required: infer_node checks it is present
    if int(node.attrs.get("antialias", 0)) and node.attrs.get("mode", "nearest") == "nearest":
        raise _err(node, src, "antialias applies to linear and cubic modes only")
    return resize_plan(node, x, g, src).out
