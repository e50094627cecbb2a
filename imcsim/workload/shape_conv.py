"""Shape functions of the sliding-window ops, 1-D (rank-3 input [N, C, L]) and 2-D
(rank-4 [N, C, H, W]): Conv, ConvTranspose, MaxPool, AveragePool (ONNX opset 17; the
geometry is `window`'s). Each takes (node, input shapes, source file, graph) like those
of `shape_ops`.
"""

from __future__ import annotations

from imcsim.errors import WorkloadError
from imcsim.workload.graph import Graph, Node, Shape, node_key
from imcsim.workload.window import spatial, transpose_window, window


def _groups(node: Node, src: str) -> int:
    group = node.attrs.get("group", 1)
    if not isinstance(group, int) or group < 1:
        raise WorkloadError(f"attribute group must be a positive int, got {group!r}",
                            source=src, key=node_key(node))
    return group


def _out(x: Shape, channels: int, out_hw: tuple[int, int]) -> Shape:
    """[N, channels, *out] in the input's rank (a 1-D node drops the height of 1)."""
    return (x[0], channels, *out_hw) if len(x) == 4 else (x[0], channels, out_hw[1])


def _operands(node: Node, s: list[Shape], src: str) -> tuple[Shape, Shape]:
    """X and W of a Conv or ConvTranspose: both rank 3 (1-D) or both rank 4 (2-D)."""
    x, w = s[0], s[1]
    if len(x) not in (3, 4) or len(w) != len(x):
        raise WorkloadError(f"only 1-D and 2-D {node.op} (rank-3 or rank-4 input and weight "
                            f"of the same rank) is supported, got input {list(x)}, weight "
                            f"{list(w)}", source=src, key=node_key(node))
    return x, w


def conv(node: Node, s: list[Shape], src: str, _g: Graph) -> Shape:
    """Conv: X [N, C, (H,) W], W [O, C/group, (kh,) kw], optional bias [O]."""
    x, w = _operands(node, s, src)
    key = node_key(node)
    group = _groups(node, src)
    if x[1] != w[1] * group or w[0] % group:
        raise WorkloadError(f"input channels {x[1]} != weight in-channels {w[1]} x group "
                            f"{group} (or out-channels {w[0]} not divisible by group)",
                            source=src, key=key)
    if len(s) > 2 and s[2] != (w[0],):
        raise WorkloadError(f"bias shape {list(s[2])} != [{w[0]}]", source=src, key=key)
    flat, in_hw = spatial(node, x, src)
    win = window(flat, in_hw, (1, w[2]) if len(w) == 3 else (w[2], w[3]), src)
    return _out(x, w[0], win.out_hw)


def conv_transpose(node: Node, s: list[Shape], src: str, _g: Graph) -> Shape:
    """ConvTranspose: X [N, C, (H,) W], W [C, O/group, (kh,) kw], optional bias [O]."""
    x, w = _operands(node, s, src)
    key = node_key(node)
    group = _groups(node, src)
    if x[1] != w[0] or w[0] % group:
        raise WorkloadError(f"input channels {x[1]} != weight in-channels {w[0]} (or not "
                            f"divisible by group {group})", source=src, key=key)
    out_ch = w[1] * group
    if len(s) > 2 and s[2] != (out_ch,):
        raise WorkloadError(f"bias shape {list(s[2])} != [{out_ch}]", source=src, key=key)
    flat, in_hw = spatial(node, x, src)
    win = transpose_window(flat, in_hw, (1, w[2]) if len(w) == 3 else (w[2], w[3]), src)
    return _out(x, out_ch, win.out_hw)


def pool(node: Node, s: list[Shape], src: str, _g: Graph) -> Shape:
    """MaxPool / AveragePool over the spatial axes of a rank-3 or rank-4 input."""
    x = s[0]
    flat, in_hw = spatial(node, x, src)
    win = window(flat, in_hw, None, src, ceil_mode=bool(int(node.attrs.get("ceil_mode", 0))))
    return _out(x, x[1], win.out_hw)
