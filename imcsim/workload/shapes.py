"""Shape inference over a `Graph` (batch 1), ONNX semantics, no ONNX dependency.

The shape function of each op lives with its kind: sliding windows (`shape_conv`, their
geometry in `window`), tensor and periphery ops (`shape_ops`), data movement
(`shape_move`), Resize (`shape_resize`), the recurrent ops (`recurrent`), Einsum
(`einsum`); this module holds the table and the graph walk.
"""

from __future__ import annotations

import math

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.einsum import einsum_shape
from imcsim.workload.graph import Graph, Node, Shape, node_key
from imcsim.workload.recurrent import MAX_INPUTS, recurrent_shape
from imcsim.workload.shape_conv import conv, conv_transpose, pool
from imcsim.workload.shape_move import MOVE_OPS
from imcsim.workload.shape_ops import EXTRA_OPS, MULTI_OUTPUT_OPS, ShapeFn
from imcsim.workload.shape_resize import resize
from imcsim.workload.window import Window, window

__all__ = ["SUPPORTED_OPS", "Shape", "Window", "infer_node", "infer_shapes", "node_key",
           "window"]


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
    "Conv": (conv, 2, 3),
    "ConvTranspose": (conv_transpose, 2, 3),
    "Gemm": (_gemm, 2, 3),
    "MatMul": (_matmul, 2, 2),
    "BatchNormalization": (_bn, 5, 5),
    "MaxPool": (pool, 1, 1),
    "AveragePool": (pool, 1, 1),
    "GlobalAveragePool": (_global_pool, 1, 1),
    "GlobalMaxPool": (_global_pool, 1, 1),
    "Flatten": (_flatten, 1, 1),
    "Einsum": (einsum_shape, 1, None),  # 2 operands: `einsum` refuses others by name
    "Resize": (resize, 1, 4),
    **{op: (recurrent_shape, 3, n) for op, n in MAX_INPUTS.items()},
    **EXTRA_OPS,
    **MOVE_OPS,
}
# ops whose optional outputs may be omitted (an empty name)
OPTIONAL_OUTPUT_OPS = frozenset(MAX_INPUTS)

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
    multi = node.op in MULTI_OUTPUT_OPS or node.op in OPTIONAL_OUTPUT_OPS
    named = any(node.outputs) if node.op in OPTIONAL_OUTPUT_OPS else all(node.outputs)
    if not node.outputs or (len(node.outputs) != 1 and not multi) or not named:
        raise WorkloadError(f"expects {'1 or more outputs' if multi else '1 output'}, got "
                            f"{node.outputs}", source=src, key=key)
    result = fn(node, [shapes[n] if n else None for n in names], src, graph)
    for out, shape in zip(node.outputs, result if multi else [result], strict=True):
        if not out:
            continue  # an omitted optional output
        if out in shapes:
            raise WorkloadError(f"output {out!r} is already defined", source=src, key=key)
        shapes[out] = shape
