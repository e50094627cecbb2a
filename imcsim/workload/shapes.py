"""Shape inference over a `Graph` (NCHW, batch 1), ONNX semantics, no ONNX dependency.

Spatial output size of a Conv or pooling window along one axis (ONNX):

    out = floor((in + pad_begin + pad_end - ((k - 1) * d + 1)) / s) + 1

with `ceil` instead of `floor` for pools with ceil_mode=1, in which case a window that
would start inside the end padding is dropped (ONNX/PyTorch rule). auto_pad SAME_UPPER /
SAME_LOWER gives out = ceil(in / s) with the total padding split evenly (the odd one at
the end / beginning); VALID means no padding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.graph import Graph, Node, Shape, node_key
from imcsim.workload.shape_move import MOVE_OPS
from imcsim.workload.shape_ops import EXTRA_OPS, MULTI_OUTPUT_OPS, ShapeFn

__all__ = ["SUPPORTED_OPS", "Shape", "Window", "infer_node", "infer_shapes", "node_key",
           "window"]


@dataclass(frozen=True)
class Window:
    """Resolved 2-D sliding-window geometry of a Conv or pool."""

    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    dilations: tuple[int, int]
    out_hw: tuple[int, int]


def _pair(node: Node, attr: str, default: int, source: str) -> tuple[int, int]:
    value = node.attrs.get(attr, [default, default])
    try:
        vals = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise WorkloadError(f"attribute {attr} must be a list of ints, got {value!r}",
                            source=source, key=node_key(node)) from None
    if len(vals) != 2 or min(vals) < 1:
        raise WorkloadError(f"attribute {attr} must be 2 positive ints, got {list(value)}",
                            source=source, key=node_key(node))
    return vals[0], vals[1]


def window(node: Node, in_hw: tuple[int, int], kernel: tuple[int, int] | None,
           source: str, *, ceil_mode: bool = False) -> Window:
    """Resolve kernel_shape/strides/pads/dilations/auto_pad of `node` for input `in_hw`.

    `kernel` is the weight's (kh, kw) for a Conv (checked against kernel_shape if given),
    None for a pool (kernel_shape then required).
    """
    key = node_key(node)
    if "kernel_shape" in node.attrs:
        ks = _pair(node, "kernel_shape", 1, source)
        if kernel is not None and ks != tuple(kernel):
            raise WorkloadError(f"kernel_shape {list(ks)} does not match weight kernel "
                                f"{list(kernel)}", source=source, key=key)
        kernel = ks
    if kernel is None:
        raise WorkloadError("attribute kernel_shape is required", source=source, key=key)
    strides = _pair(node, "strides", 1, source)
    dil = _pair(node, "dilations", 1, source)
    auto_pad = node.attrs.get("auto_pad", "NOTSET")
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    pads = [0, 0, 0, 0]
    if auto_pad == "NOTSET":
        raw = node.attrs.get("pads", [0, 0, 0, 0])
        try:
            pads = [int(p) for p in raw]
        except (TypeError, ValueError):
            pads = []
        if len(pads) != 4 or min(pads) < 0:
            raise WorkloadError(f"attribute pads must be 4 non-negative ints "
                                f"[top, left, bottom, right], got {raw!r}",
                                source=source, key=key)
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        for ax in range(2):
            out = -(-in_hw[ax] // strides[ax])
            total = max((out - 1) * strides[ax] + (kernel[ax] - 1) * dil[ax] + 1 - in_hw[ax], 0)
            small, big = total // 2, total - total // 2
            pads[ax], pads[ax + 2] = (small, big) if auto_pad == "SAME_UPPER" else (big, small)
    elif auto_pad != "VALID":
        raise WorkloadError(f"unsupported auto_pad {auto_pad!r}", source=source, key=key)
    out_hw = []
    for ax in range(2):
        span = in_hw[ax] + pads[ax] + pads[ax + 2] - ((kernel[ax] - 1) * dil[ax] + 1)
        if span < 0:
            raise WorkloadError(f"window {kernel[ax]} (dilation {dil[ax]}) is larger than "
                                f"the padded input {in_hw[ax] + pads[ax] + pads[ax + 2]}",
                                source=source, key=key)
        if ceil_mode:
            out = -(-span // strides[ax]) + 1
            if (out - 1) * strides[ax] >= in_hw[ax] + pads[ax]:
                out -= 1  # last window would start in the end padding
        else:
            out = span // strides[ax] + 1
        out_hw.append(out)
    return Window((kernel[0], kernel[1]), strides, (pads[0], pads[1], pads[2], pads[3]), dil,
                  (out_hw[0], out_hw[1]))


def _conv(node: Node, s: list[Shape], src: str, _g: Graph) -> Shape:
    x, w = s[0], s[1]
    key = node_key(node)
    if len(x) != 4 or len(w) != 4:
        raise WorkloadError(f"only 2-D Conv (rank-4 input and weight) is supported, got "
                            f"input {list(x)}, weight {list(w)}", source=src, key=key)
    group = int(node.attrs.get("group", 1))
    if group < 1 or x[1] != w[1] * group or w[0] % group:
        raise WorkloadError(f"input channels {x[1]} != weight in-channels {w[1]} x group "
                            f"{group} (or out-channels {w[0]} not divisible by group)",
                            source=src, key=key)
    if len(s) > 2 and s[2] != (w[0],):
        raise WorkloadError(f"bias shape {list(s[2])} != [{w[0]}]", source=src, key=key)
    win = window(node, (x[2], x[3]), (w[2], w[3]), src)
    return (x[0], w[0], *win.out_hw)


def _pool(node: Node, s: list[Shape], src: str, _g: Graph) -> Shape:
    x = s[0]
    if len(x) != 4:
        raise WorkloadError(f"only 2-D pooling (rank-4 input) is supported, got {list(x)}",
                            source=src, key=node_key(node))
    win = window(node, (x[2], x[3]), None, src,
                 ceil_mode=bool(int(node.attrs.get("ceil_mode", 0))))
    return (x[0], x[1], *win.out_hw)


def _global_pool(node: Node, s: list[Shape], src: str, _g: Graph) -> Shape:
    x = s[0]
    if len(x) < 3:
        raise WorkloadError(f"needs a rank >= 3 input, got {list(x)}", source=src,
                            key=node_key(node))
    return (x[0], x[1]) + (1,) * (len(x) - 2)


def _bn(node: Node, s: list[Shape], src: str, _g: Graph) -> Shape:
    x = s[0]
    if len(s) != 5 or len(x) < 2 or any(p != (x[1],) for p in s[1:]):
        raise WorkloadError(f"needs input and 4 parameters of shape [{x[1] if len(x) > 1 else '?'}]"
                            f", got {[list(p) for p in s]}", source=src, key=node_key(node))
    return x


def _flatten(node: Node, s: list[Shape], src: str, _g: Graph) -> Shape:
    x = s[0]
    axis = int(node.attrs.get("axis", 1))
    if axis < 0:
        axis += len(x)
    if not 0 <= axis <= len(x):
        raise WorkloadError(f"axis {node.attrs.get('axis')} out of range for rank {len(x)}",
                            source=src, key=node_key(node))
    return (math.prod(x[:axis]), math.prod(x[axis:]))


def _gemm(node: Node, s: list[Shape], src: str, _g: Graph) -> Shape:
    a, b = s[0], s[1]
    key = node_key(node)
    if len(a) != 2 or len(b) != 2:
        raise WorkloadError(f"Gemm needs rank-2 A and B, got {list(a)}, {list(b)}",
                            source=src, key=key)
    m, k = (a[1], a[0]) if int(node.attrs.get("transA", 0)) else a
    kb, n = (b[1], b[0]) if int(node.attrs.get("transB", 0)) else b
    if k != kb:
        raise WorkloadError(f"inner dimensions differ: A {list(a)}, B {list(b)} "
                            f"(transA={node.attrs.get('transA', 0)}, "
                            f"transB={node.attrs.get('transB', 0)})", source=src, key=key)
    if len(s) > 2:
        try:
            np.broadcast_shapes(s[2], (m, n))
        except ValueError:
            raise WorkloadError(f"bias C {list(s[2])} does not broadcast to [{m}, {n}]",
                                source=src, key=key) from None
    return (m, n)


def _matmul(node: Node, s: list[Shape], src: str, _g: Graph) -> Shape:
    """numpy matmul: [..., M, K] x [..., K, N] -> [..., M, N], batch axes broadcast; a
    rank-1 operand gains (and loses) a size-1 axis."""
    a, b = s[0], s[1]
    aa = (1,) + a if len(a) == 1 else a
    bb = b + (1,) if len(b) == 1 else b
    try:
        if not a or not b or aa[-1] != bb[-2]:
            raise ValueError
        lead = tuple(int(d) for d in np.broadcast_shapes(aa[:-2], bb[:-2]))
    except ValueError:
        raise WorkloadError(f"MatMul shapes {list(a)} x {list(b)} do not match",
                            source=src, key=node_key(node)) from None
    return lead + ((aa[-2],) if len(a) > 1 else ()) + ((bb[-1],) if len(b) > 1 else ())


# op -> (shape function, minimum inputs, maximum inputs or None = any)
_OPS: dict[str, tuple[ShapeFn, int, int | None]] = {
    "Conv": (_conv, 2, 3),
    "Gemm": (_gemm, 2, 3),
    "MatMul": (_matmul, 2, 2),
    "BatchNormalization": (_bn, 5, 5),
    "MaxPool": (_pool, 1, 1),
    "AveragePool": (_pool, 1, 1),
    "GlobalAveragePool": (_global_pool, 1, 1),
    "GlobalMaxPool": (_global_pool, 1, 1),
    "Flatten": (_flatten, 1, 1),
    **EXTRA_OPS,
    **MOVE_OPS,
}

SUPPORTED_OPS = tuple(_OPS)


MAX_ELEMENTS = 2 ** 31  # elements of one tensor: 8 GiB of float32 at batch 1


def _bounded(shape: Shape, src: str, key: str) -> Shape:
    """`shape`, if its dimensions are non-negative and its tensor at most MAX_ELEMENTS."""
    if any(d < 0 for d in shape):
        raise WorkloadError(f"negative dimension in shape {list(shape)}", source=src, key=key)
    if math.prod(shape) > MAX_ELEMENTS:
        raise WorkloadError(f"tensor of shape {list(shape)} has more than {MAX_ELEMENTS:,} "
                            "elements", source=src, key=key)
    return shape


def infer_shapes(graph: Graph, *, source: str | None = None) -> dict[str, Shape]:
    """Shapes of every tensor in `graph` (inputs, initializers, node outputs).

    Raises WorkloadError(source=<source or graph name>, key="node <name> (<op>)") for an
    unsupported op or inconsistent shapes, key "input <name>" for a bad graph input.
    """
    src = source or graph.name
    shapes: dict[str, Shape] = {}
    for t in graph.inputs:
        shp = t.known_shape
        if shp is None or len(shp) < 1 or shp[0] != 1 or min(shp) < 1:
            raise WorkloadError(f"graph input needs a fully known shape with batch 1, got "
                                f"{None if shp is None else list(shp)}",
                                source=src, key=f"input {t.name}")
        shapes[t.name] = _bounded(shp, src, f"input {t.name}")
    for name, t in graph.initializers.items():
        shp = t.known_shape
        if shp is None:
            raise WorkloadError("initializer has neither data nor shape", source=src,
                                key=f"initializer {name}")
        shapes[name] = _bounded(shp, src, f"initializer {name}")
    for node in graph.nodes:
        infer_node(graph, node, shapes, src)
        for out in node.outputs:
            if out in shapes:
                _bounded(shapes[out], src, node_key(node))
    for name in graph.outputs:
        if name not in shapes:
            raise WorkloadError("graph output is never produced", source=src,
                                key=f"output {name}")
    return shapes


def infer_node(graph: Graph, node: Node, shapes: dict[str, Shape], src: str) -> None:
    """Check one node's inputs and record the shapes of its outputs in `shapes`."""
    key = node_key(node)
    if node.op not in _OPS:
        raise WorkloadError(f"unsupported operator {node.op!r} (supported: "
                            f"{', '.join(SUPPORTED_OPS)})", source=src, key=key)
    fn, lo, hi = _OPS[node.op]
    names = list(node.inputs)
    while names and not names[-1]:
        names.pop()  # trailing omitted optional inputs
    if len(names) < lo or (hi is not None and len(names) > hi) or not all(names[:lo]):
        raise WorkloadError(f"expects {lo}..{'' if hi is None else hi} inputs, got "
                            f"{node.inputs}", source=src, key=key)
    missing = [n for n in names if n and n not in shapes]
    if missing:
        raise WorkloadError(f"input {missing[0]!r} is not a graph input, an initializer "
                            f"or the output of an earlier node", source=src, key=key)
    multi = node.op in MULTI_OUTPUT_OPS
    if not node.outputs or (len(node.outputs) != 1 and not multi) or not all(node.outputs):
        raise WorkloadError(f"expects {'1 or more outputs' if multi else '1 output'}, got "
                            f"{node.outputs}", source=src, key=key)
    result = fn(node, [shapes[n] if n else None for n in names], src, graph)
    for out, shape in zip(node.outputs, result if multi else [result], strict=True):
        if out in shapes:
            raise WorkloadError(f"output {out!r} is already defined", source=src, key=key)
        shapes[out] = shape
