"""Shape functions of the tensor-manipulation and periphery ops (ONNX opset 17 semantics).

Each takes (node, input shapes, source file, graph) and returns the output shape, or a
list of shapes for multi-output ops (Split). Omitted optional inputs in the middle of
the input list (e.g. Clip's min) arrive as None. Reshape's shape, Split's split and
Gather's indices must be initializers (constant), as the importer arranges.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.graph import Graph, Node, Shape, node_key

ShapeFn = Callable[[Node, list[Any], str, Graph], Any]


def _err(node: Node, src: str, msg: str) -> WorkloadError:
    return WorkloadError(msg, source=src, key=node_key(node))


def _axis(node: Node, rank: int, src: str, default: int = 0) -> int:
    axis = int(node.attrs.get("axis", default))
    if not -rank <= axis < rank:
        raise _err(node, src, f"axis {axis} out of range for rank {rank}")
    return axis % rank


def _const(node: Node, i: int, graph: Graph, src: str, what: str) -> np.ndarray:
    data = graph.weight(node.input(i))
    if data is None:
        raise _err(node, src, f"{what} (input {node.input(i)!r}) must be a constant "
                              f"initializer")
    return np.asarray(data)


def same_shape(node: Node, s: list[Shape | None], src: str, g: Graph) -> Shape:
    """Elementwise unary ops (Relu, Sigmoid, Tanh, Clip, Quant, ...): output = input 0."""
    for i, p in enumerate(s[1:], start=1):
        if p is not None and math.prod(p) != 1 and node.op == "Clip":
            raise _err(node, src, f"Clip bound (input {i}) must be a scalar, got {list(p)}")
    x = s[0]
    assert x is not None  # input 0 is required: _infer_node checks it is present
    return x


def broadcast(node: Node, s: list[Shape], src: str, g: Graph) -> Shape:
    """Add, Sum, Mul, Sub, Div: numpy broadcasting of all inputs."""
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*s))
    except ValueError:
        raise _err(node, src, f"shapes {[list(p) for p in s]} do not broadcast") from None


def concat(node: Node, s: list[Shape], src: str, g: Graph) -> Shape:
    """Concat along `axis` (required); all other dimensions must agree."""
    if "axis" not in node.attrs:
        raise _err(node, src, "attribute axis is required")
    axis = _axis(node, len(s[0]), src)
    for p in s[1:]:
        if len(p) != len(s[0]) or any(p[i] != s[0][i] for i in range(len(p)) if i != axis):
            raise _err(node, src, f"shapes {[list(p) for p in s]} differ outside axis {axis}")
    return s[0][:axis] + (sum(p[axis] for p in s),) + s[0][axis + 1:]


def split(node: Node, s: list[Shape | None], src: str, g: Graph) -> list[Shape]:
    """Split along `axis` into the sizes of input `split`, else into equal parts."""
    x = s[0]
    assert x is not None  # input 0 is required: _infer_node checks it is present
    axis = _axis(node, len(x), src)
    n = len(node.outputs)
    if node.input(1) is not None:
        sizes = [int(v) for v in _const(node, 1, g, src, "split").ravel()]
        if len(sizes) != n or min(sizes) < 0 or sum(sizes) != x[axis]:
            raise _err(node, src, f"split {sizes} does not divide dimension {x[axis]} into "
                                  f"{n} outputs")
    else:
        if x[axis] % n:
            raise _err(node, src, f"dimension {x[axis]} does not split evenly into {n}")
        sizes = [x[axis] // n] * n
    return [x[:axis] + (k,) + x[axis + 1:] for k in sizes]


def gather(node: Node, s: list[Shape], src: str, g: Graph) -> Shape:
    """Gather: data[:axis] + indices.shape + data[axis+1:]; constant indices are checked
    against the dimension (activation indices: an embedding lookup)."""
    x, idx = s
    axis = _axis(node, len(x), src)
    ind = g.weight(node.input(1))
    if ind is not None and ind.size and (ind.min() < -x[axis] or ind.max() >= x[axis]):
        raise _err(node, src, f"indices out of range for dimension {x[axis]}")
    return x[:axis] + tuple(idx) + x[axis + 1:]


def reshape(node: Node, s: list[Shape], src: str, g: Graph) -> Shape:
    """Reshape to a constant shape: 0 copies the input dimension, -1 is inferred."""
    x = s[0]
    target = [int(v) for v in _const(node, 1, g, src, "shape").ravel()]
    allow_zero = int(node.attrs.get("allowzero", 0))
    out = [x[i] if d == 0 and not allow_zero and i < len(x) else d
           for i, d in enumerate(target)]
    known = math.prod(d for d in out if d != -1)
    if out.count(-1) > 1 or min(out, default=0) < -1:
        raise _err(node, src, f"bad target shape {target}")
    if -1 in out:
        if known == 0 or math.prod(x) % known:
            raise _err(node, src, f"cannot reshape {list(x)} to {target}")
        out[out.index(-1)] = math.prod(x) // known
    if math.prod(out) != math.prod(x):
        raise _err(node, src, f"cannot reshape {list(x)} ({math.prod(x)} elements) to "
                              f"{target}")
    return tuple(out)


def reduce(node: Node, s: list[Shape], src: str, g: Graph) -> Shape:
    """ReduceMean, ReduceSum, ... over attribute `axes` (default: all), keepdims default 1."""
    x = s[0]
    axes = node.attrs.get("axes")
    try:
        axes = range(len(x)) if axes is None else [int(a) for a in axes]
    except (TypeError, ValueError):
        raise _err(node, src, f"attribute axes must be a list of ints, got {axes!r}") from None
    if any(not -len(x) <= a < len(x) for a in axes):
        raise _err(node, src, f"axes {list(axes)} out of range for rank {len(x)}")
    red = {a % len(x) for a in axes}
    if int(node.attrs.get("keepdims", 1)):
        return tuple(1 if i in red else d for i, d in enumerate(x))
    return tuple(d for i, d in enumerate(x) if i not in red)


def layer_norm(node: Node, s: list[Shape | None], src: str, g: Graph) -> list[Shape]:
    """LayerNormalization over the axes from `axis` (default -1) on; the optional Mean and
    InvStdDev outputs keep the leading axes, size 1 after."""
    x = s[0]
    assert x is not None  # input 0 is required: infer_node checks it is present
    axis = _axis(node, len(x), src, default=-1)
    for i, p in enumerate(s[1:], start=1):
        if p is not None:
            try:
                np.broadcast_shapes(p, x[axis:])
            except ValueError:
                raise _err(node, src, f"input {i} {list(p)} does not broadcast to the "
                                      f"normalised axes {list(x[axis:])}") from None
    stats = x[:axis] + (1,) * (len(x) - axis)
    return [x] + [stats] * (len(node.outputs) - 1)


UNARY_OPS = ("Relu", "Sigmoid", "Tanh", "LeakyRelu", "Softmax", "LogSoftmax", "Identity",
             "Erf", "Gelu", "HardSwish", "HardSigmoid", "Sqrt", "Exp", "Log", "Neg", "Abs",
             "Reciprocal", "Cast", "Elu", "Selu", "Softplus", "Softsign", "Mish", "Not",
             "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "LRN")
BINARY_OPS = ("Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Less", "Greater",
              "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "PRelu")
REDUCE_OPS = ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
              "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp")

# op -> (shape function, minimum inputs, maximum inputs or None = any)
EXTRA_OPS: dict[str, tuple[ShapeFn, int, int | None]] = {
    **{op: (same_shape, 1, 1) for op in UNARY_OPS},
    "CastLike": (same_shape, 2, 2),  # (of unknown target type: see onnx_import)
    "Clip": (same_shape, 1, 3),
    "Quant": (same_shape, 4, 4),
    "QuantizeLinear": (same_shape, 2, 3),
    "DequantizeLinear": (same_shape, 2, 3),
    **{op: (broadcast, 2, 2) for op in BINARY_OPS},
    "Where": (broadcast, 3, 3),
    "Sum": (broadcast, 1, None),
    "Max": (broadcast, 1, None),
    "Min": (broadcast, 1, None),
    "Concat": (concat, 1, None),
    "Split": (split, 1, 2),
    "Gather": (gather, 2, 2),
    "Reshape": (reshape, 2, 2),
    **{op: (reduce, 1, 1) for op in REDUCE_OPS},
    "LayerNormalization": (layer_norm, 1, 3),
}
MULTI_OUTPUT_OPS = frozenset({"Split", "LayerNormalization"})
