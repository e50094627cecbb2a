"""Sliding-window geometry of Conv, ConvTranspose and the pools (ONNX semantics).

Spatial output size of a Conv or pooling window along one axis (ONNX):

    out = floor((in + pad_begin + pad_end - ((k - 1) * d + 1)) / s) + 1

with `ceil` instead of `floor` for pools with ceil_mode=1, in which case a window that
would start inside the end padding is dropped (ONNX/PyTorch rule). auto_pad SAME_UPPER /
SAME_LOWER gives out = ceil(in / s) with the total padding split evenly (the odd one at
the end / beginning); VALID means no padding.

ConvTranspose (`transpose_window`), per axis (ONNX):

    out = s * (in - 1) + output_padding + ((k - 1) * d + 1) - pad_begin - pad_end

or, with `output_shape` given (or auto_pad SAME_*: output_shape = in * s), the pads that
give it: total = s * (in - 1) + output_padding + ((k - 1) * d + 1) - output_shape, split
total // 2 at the beginning for SAME_UPPER, at the end otherwise.

A 1-D node (rank-3 input [N, C, L]) is computed as the 2-D one over a height-1 input:
`lift_1d` rewrites its attributes (kernel_shape [k] -> [1, k], pads [b, e] -> [0, b, 0,
e], ...), `spatial` does that by the input's rank.
"""

from __future__ import annotations

from dataclasses import dataclass

from imcsim.errors import WorkloadError
from imcsim.workload.graph import Node, Shape, node_key


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


def _pads(node: Node, source: str, key: str) -> list[int]:
    """The `pads` attribute: 4 non-negative ints [top, left, bottom, right] (default 0)."""
    raw = node.attrs.get("pads", [0, 0, 0, 0])
    try:
        pads = [int(p) for p in raw]
    except (TypeError, ValueError):
        pads = []
    if len(pads) != 4 or min(pads) < 0:
        raise WorkloadError(f"attribute pads must be 4 non-negative ints "
                            f"[top, left, bottom, right], got {raw!r}", source=source, key=key)
    return pads


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
        pads = _pads(node, source, key)
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


_LIFT = {"kernel_shape": (1,), "strides": (1,), "dilations": (1,), "output_padding": (0,),
         "output_shape": (1,)}


def lift_1d(node: Node, source: str) -> Node:
    """A copy of the 1-D `node` whose spatial attributes have the 2-D form with a height
    of 1 (kernel 1, stride 1, dilation 1, no padding along the height)."""
    attrs = dict(node.attrs)
    for name, value in node.attrs.items():
        if name not in _LIFT and name != "pads":
            continue
        try:
            vals = [int(v) for v in value]
        except (TypeError, ValueError):
            raise WorkloadError(f"attribute {name} must be a list of ints, got {value!r}",
                                source=source, key=node_key(node)) from None
        want = 2 if name == "pads" else 1
        if name == "output_shape" and len(vals) == 3:
            vals = vals[2:]  # an output_shape given with batch and channels
        if len(vals) != want:
            raise WorkloadError(f"attribute {name} must have {want} value(s) for a 1-D "
                                f"{node.op}, got {list(value)}", source=source,
                                key=node_key(node))
        attrs[name] = [0, vals[0], 0, vals[1]] if name == "pads" else [*_LIFT[name], *vals]
    return Node(node.name, node.op, node.inputs, node.outputs, attrs)


def spatial(node: Node, x: Shape, source: str) -> tuple[Node, tuple[int, int]]:
    """(`node` in its 2-D form, the input's (height, width)) for a rank-3 (1-D) or rank-4
    (2-D) input; WorkloadError naming the node for any other rank."""
    if len(x) == 4:
        return node, (x[2], x[3])
    if len(x) == 3:
        return lift_1d(node, source), (1, x[2])
    raise WorkloadError(f"only 1-D and 2-D {node.op} (rank-3 or rank-4 input) is "
                        f"supported, got input {list(x)}", source=source, key=node_key(node))


@dataclass(frozen=True)
class TransposeWindow:
    """Resolved 2-D geometry of a ConvTranspose: output position of input pixel (y, x)
    and tap (ky, kx) is (y * s_h + ky * d_h - pad_top, x * s_w + kx * d_w - pad_left)."""

    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right (negative: output grows)
    dilations: tuple[int, int]
    out_hw: tuple[int, int]


def transpose_window(node: Node, in_hw: tuple[int, int], kernel: tuple[int, int],
                     source: str) -> TransposeWindow:
    """Resolve strides/dilations/pads/output_padding/output_shape/auto_pad of a 2-D
    ConvTranspose `node` (see the module docstring) for input `in_hw` and the weight's
    (kh, kw)."""
    key = node_key(node)
    if "kernel_shape" in node.attrs and _pair(node, "kernel_shape", 1, source) != kernel:
        raise WorkloadError(f"kernel_shape {list(node.attrs['kernel_shape'])} does not match "
                            f"weight kernel {list(kernel)}", source=source, key=key)
    strides = _pair(node, "strides", 1, source)
    dil = _pair(node, "dilations", 1, source)
    extra = [int(v) for v in node.attrs.get("output_padding", [0, 0])]
    if len(extra) != 2 or min(extra) < 0:
        raise WorkloadError(f"attribute output_padding must be 2 non-negative ints, got "
                            f"{extra}", source=source, key=key)
    auto_pad = node.attrs.get("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"):
        raise WorkloadError(f"unsupported auto_pad {auto_pad!r}", source=source, key=key)
    full = [strides[a] * (in_hw[a] - 1) + extra[a] + (kernel[a] - 1) * dil[a] + 1
            for a in range(2)]
    target = None
    if "output_shape" in node.attrs:
        target = [int(v) for v in node.attrs["output_shape"]][-2:]
        if len(target) != 2 or min(target) < 1:
            raise WorkloadError(f"attribute output_shape must be 2 positive ints, got "
                                f"{node.attrs['output_shape']!r}", source=source, key=key)
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        target = [in_hw[a] * strides[a] for a in range(2)]
    if target is not None:
        total = [full[a] - target[a] for a in range(2)]
        if auto_pad == "SAME_UPPER":
            begin = [t // 2 for t in total]
        else:
            begin = [t - t // 2 for t in total]
        pads = (begin[0], begin[1], total[0] - begin[0], total[1] - begin[1])
    elif auto_pad == "VALID":
        pads = (0, 0, 0, 0)
    else:
        top, left, bottom, right = _pads(node, source, key)
        pads = (top, left, bottom, right)
    out = (full[0] - pads[0] - pads[2], full[1] - pads[1] - pads[3])
    if min(out) < 1:
        raise WorkloadError(f"pads {list(pads)} leave no output of the {full} computed",
                            source=source, key=key)
    return TransposeWindow(kernel, strides, pads, dil, out)
