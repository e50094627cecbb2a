"""Shape functions of the data-movement ops of any rank (ONNX opset 17 semantics):
Transpose, Unsqueeze, Squeeze, Expand, Slice, Pad, Tile, ScatterND.

Their shape-giving inputs (axes, shape, starts/ends, pads, repeats) must be constants,
as constant folding leaves them (see `const_fold`). Each function takes (node, input
shapes, source file, graph) like those of `shape_ops`.
"""

from __future__ import annotations

from imcsim.workload.graph import Graph, Node, Shape
from imcsim.workload.shape_ops import ShapeFn, _const, _err, broadcast


def _ints(node: Node, i: int, g: Graph, src: str, what: str) -> list[int]:
    return [int(v) for v in _const(node, i, g, src, what).ravel()]


def _axes(node: Node, axes: list[int], rank: int, src: str) -> list[int]:
    if any(not -rank <= a < rank for a in axes) or len(set(a % rank for a in axes)) < len(axes):
        raise _err(node, src, f"axes {axes} out of range or repeated for rank {rank}")
    return [a % rank for a in axes]


def transpose(node: Node, s: list[Shape], src: str, g: Graph) -> Shape:
    """Transpose by `perm` (default: reversed axes)."""
    x = s[0]
    perm = [int(p) for p in node.attrs.get("perm", range(len(x) - 1, -1, -1))]
    if sorted(perm) != list(range(len(x))):
        raise _err(node, src, f"perm {perm} is not a permutation of the {len(x)} axes")
    return tuple(x[p] for p in perm)


def unsqueeze(node: Node, s: list[Shape], src: str, g: Graph) -> Shape:
    """Insert size-1 axes at `axes` (positions in the output)."""
    x = s[0]
    rank = len(x) + len(_ints(node, 1, g, src, "axes"))
    axes = set(_axes(node, _ints(node, 1, g, src, "axes"), rank, src))
    rest = iter(x)
    return tuple(1 if i in axes else next(rest) for i in range(rank))


def squeeze(node: Node, s: list[Shape | None], src: str, g: Graph) -> Shape:
    """Remove the size-1 axes `axes` (default: every size-1 axis)."""
    x = s[0]
    assert x is not None  # input 0 is required: infer_node checks it is present
    if node.input(1) is None:
        return tuple(d for d in x if d != 1)
    axes = set(_axes(node, _ints(node, 1, g, src, "axes"), len(x), src))
    if any(x[a] != 1 for a in axes):
        raise _err(node, src, f"cannot squeeze axes {sorted(axes)} of {list(x)}: not size 1")
    return tuple(d for i, d in enumerate(x) if i not in axes)


def expand(node: Node, s: list[Shape], src: str, g: Graph) -> Shape:
    """Broadcast the input against the constant `shape` (both ways, numpy rules)."""
    shape = tuple(_ints(node, 1, g, src, "shape"))
    if min(shape, default=1) < 0:
        raise _err(node, src, f"negative dimension in shape {list(shape)}")
    return broadcast(node, [s[0], shape], src, g)


def slice_(node: Node, s: list[Shape | None], src: str, g: Graph) -> Shape:
    """Slice by constant starts, ends, axes and steps (Python slice clamping, as ONNX)."""
    x = s[0]
    assert x is not None  # input 0 is required: infer_node checks it is present
    starts, ends = _ints(node, 1, g, src, "starts"), _ints(node, 2, g, src, "ends")
    n = len(starts)
    axes = _ints(node, 3, g, src, "axes") if node.input(3) else list(range(n))
    steps = _ints(node, 4, g, src, "steps") if node.input(4) else [1] * n
    if not len(ends) == len(axes) == len(steps) == n or 0 in steps:
        raise _err(node, src, f"starts {starts}, ends {ends}, axes {axes}, steps {steps} "
                              f"differ in length or have a zero step")
    out = list(x)
    for a, b, e, st in zip(_axes(node, axes, len(x), src), starts, ends, steps, strict=True):
        out[a] = len(range(x[a])[slice(b, e, st)])
    return tuple(out)


def pad(node: Node, s: list[Shape | None], src: str, g: Graph) -> Shape:
    """Pad by constant `pads` [begin..., end...] over all axes or the given `axes`."""
    x = s[0]
    assert x is not None  # input 0 is required: infer_node checks it is present
    pads = _ints(node, 1, g, src, "pads")
    axes = _ints(node, 3, g, src, "axes") if node.input(3) else list(range(len(x)))
    axes = _axes(node, axes, len(x), src)
    if len(pads) != 2 * len(axes):
        raise _err(node, src, f"pads {pads} need 2 values per padded axis ({len(axes)})")
    out = list(x)
    for k, a in enumerate(axes):
        out[a] = x[a] + pads[k] + pads[k + len(axes)]
    if min(out) < 0:
        raise _err(node, src, f"pads {pads} remove more than {list(x)}")
    return tuple(out)


def tile(node: Node, s: list[Shape], src: str, g: Graph) -> Shape:
    """Repeat each axis `repeats` times."""
    x = s[0]
    reps = _ints(node, 1, g, src, "repeats")
    if len(reps) != len(x) or min(reps, default=0) < 0:
        raise _err(node, src, f"repeats {reps} must be {len(x)} non-negative ints")
    return tuple(int(d) * r for d, r in zip(x, reps, strict=True))


def scatter_nd(node: Node, s: list[Shape], src: str, g: Graph) -> Shape:
    """ScatterND: a copy of data with updates written at indices [..., k]; updates must
    have shape indices.shape[:-1] + data.shape[k:]."""
    data, idx, upd = s
    k = idx[-1] if idx else 0
    if not idx or not 1 <= k <= len(data) or tuple(upd) != tuple(idx[:-1]) + data[k:]:
        raise _err(node, src, f"indices {list(idx)} and updates {list(upd)} do not fit "
                              f"data {list(data)}")
    if node.attrs.get("reduction", "none") not in ("none", "add", "mul", "max", "min"):
        raise _err(node, src, f"unknown reduction {node.attrs['reduction']!r}")
    return data


MOVE_OPS: dict[str, tuple[ShapeFn, int, int | None]] = {
    "Transpose": (transpose, 1, 1),
    "Unsqueeze": (unsqueeze, 2, 2),
    "Squeeze": (squeeze, 1, 2),
    "Expand": (expand, 2, 2),
    "Slice": (slice_, 3, 5),
    "Pad": (pad, 1, 4),
    "Tile": (tile, 2, 2),
    "ScatterND": (scatter_nd, 3, 3),
}
