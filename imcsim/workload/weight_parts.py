"""The weight layers of ConvTranspose, LSTM/GRU/RNN and Einsum (`WeightPart`): how
`lower` maps them onto `ComputeLayer`s, and how `functional.graph_exec` feeds the same
arrangement of the same weights to its linear hook. Every array a design maps holds
stationary weights and streams input rows, so each is written that way:

* ConvTranspose (weight [C, O/g, kh, kw], X [N, C, H, W]) in its scatter form: every
  input pixel's C/g channels times a [C/g -> O/g x kh x kw] matrix per group gives that
  pixel's contribution to every tap, which the periphery adds into the output at (y s_h
  + ky d_h - pad_top, x s_w + kx d_w - pad_left) (col2im). So it is a 1x1 convolution
  over the H x W input with `group` groups, C input channels and g x O/g x kh x kw
  output channels (ordered group, output channel, ky, kx): MACs = H W x C/g x g O/g kh kw
  = in_pixels x in_channels x out_channels/group x kh x kw, weights = C x O/g x kh x kw
  (the ONNX weight's count). The layer's output is those per-tap partial products
  (`out_channels` = O kh kw over H x W); the op's output [N, O, H_out, W_out] is their
  overlap-add, whose additions are the accumulations of these MACs. A 1-D ConvTranspose
  is the same with H = kh = 1.
* LSTM/GRU/RNN (W [D, G H, I], R [D, G H, H]): layer "<node>.W", the input products of
  every direction at once (a Linear with I inputs and D G H outputs over seq x batch
  rows; the rows do not depend on each other), and per direction d a layer "<node>.R"
  ("<node>.R.forward" / ".R.reverse" when bidirectional), the recurrent products (H
  inputs, G H outputs, seq x batch rows). MACs = seq batch D G H (I + H). The R rows
  are `seq` sequential groups of `batch` rows (step t reads H_{t-1}); the designs map
  a layer's rows as independent, so the R layers' timing is a lower bound on the
  recurrence. The bias (Wb + Rb) is the W layer's.
* Einsum with a constant [K, N] (or [N, K]) operand: a Linear with K inputs and N
  outputs over the other operand's rows (`einsum.WeightView`).

`arrange` maps the stored weight (or its broadcast quantization scale) to (out, in/g,
kh, kw); a quantized weight's scale must then be constant along each row (one scale per
output channel of the layer). A float weight is quantized per layer output channel (a
ConvTranspose per (output channel, tap), an LSTM per gate row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.einsum import parse, weight_view
from imcsim.workload.graph import Graph, Node, Shape, node_key
from imcsim.workload.recurrent import GATES, Recurrent, recurrent_spec
from imcsim.workload.window import spatial, transpose_window

Arrange = Callable[[np.ndarray], np.ndarray]
_ONE = ((1, 1), (1, 1), (0, 0, 0, 0), (1, 1))  # kernel, strides, pads, dilations of 1x1


@dataclass(frozen=True)
class WeightPart:
    """One weight layer of a node: its name, the node input holding the weight, the
    cache key (parts with the same key share their quantized levels), the layer's
    geometry and how the stored weight maps onto it."""

    name: str
    input: int
    key: str
    kind: str  # "conv" | "fc"
    groups: int
    in_channels: int
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    arrange: Arrange
    has_bias: bool
    # a per-output-channel vector of the op (BN multiplier) -> one per layer row; None:
    # a following BatchNormalization is not folded
    channel_rows: Callable[[np.ndarray], np.ndarray] | None = None

    def window(self) -> tuple:
        """(kernel, strides, pads, dilations, out_hw): a 1x1 layer."""
        return (*_ONE, self.out_hw)


def transpose_rows(groups: int) -> Arrange:
    """ConvTranspose weight [C, O/g, (kh,) kw] -> (g O/g kh kw, C/g, 1, 1)."""
    def arrange(w: np.ndarray) -> np.ndarray:
        w4 = w if w.ndim == 4 else w[:, :, None, :]
        c, og, kh, kw = w4.shape
        per = w4.reshape(groups, c // groups, og, kh, kw).transpose(0, 2, 3, 4, 1)
        return per.reshape(groups * og * kh * kw, c // groups, 1, 1)
    return arrange


def _conv_transpose(graph: Graph, node: Node, shapes: dict[str, Shape], src: str
                    ) -> list[WeightPart]:
    x, w = shapes[node.inputs[0]], shapes[node.inputs[1]]
    groups = int(node.attrs.get("group", 1))
    flat, in_hw = spatial(node, x, src)
    kh, kw = (1, w[2]) if len(w) == 3 else (w[2], w[3])
    transpose_window(flat, in_hw, (kh, kw), src)  # checked by shape inference too
    og = w[1]

    def rows(m: np.ndarray) -> np.ndarray:
        per = np.broadcast_to(np.asarray(m).reshape(groups, og, 1, 1), (groups, og, kh, kw))
        return per.reshape(-1)

    return [WeightPart(node.name, 1, f"ConvTranspose/{groups}/{node.inputs[1]}", "conv",
                       groups, x[1], in_hw, in_hw, transpose_rows(groups),
                       node.input(2) is not None, rows)]


def recurrent_rows(direction: int | None) -> Arrange:
    """W [D, G H, I] -> (D G H, I, 1, 1) (direction None: all), R[d] -> (G H, H, 1, 1)."""
    def arrange(w: np.ndarray) -> np.ndarray:
        part = w if direction is None else w[direction:direction + 1]
        return part.reshape(-1, part.shape[-1], 1, 1)
    return arrange


def recurrent_names(node: Node, directions: int) -> list[str]:
    """Layer names of the R products, one per direction."""
    if directions == 1:
        return [f"{node.name}.R"]
    return [f"{node.name}.R.forward", f"{node.name}.R.reverse"]


def recurrent_parts(node: Node, spec: Recurrent) -> list[WeightPart]:
    """The W layer and the R layer of each direction of a resolved recurrent node."""
    rows = (spec.rows, 1)
    parts = [WeightPart(f"{node.name}.W", 1, f"{node.op}.W/{node.inputs[1]}", "fc", 1,
                        spec.inputs, rows, rows, recurrent_rows(None), spec.bias)]
    for d, name in enumerate(recurrent_names(node, spec.directions)):
        parts.append(WeightPart(name, 2, f"{node.op}.R{d}/{node.inputs[2]}", "fc", 1,
                                spec.hidden, rows, rows, recurrent_rows(d), False))
    return parts


def einsum_rows(k_first: bool) -> Arrange:
    """The constant operand [K, N] (k_first) or [N, K] -> (N, K, 1, 1)."""
    def arrange(w: np.ndarray) -> np.ndarray:
        return (w.T if k_first else w)[:, :, None, None]
    return arrange


def _einsum(graph: Graph, node: Node, shapes: dict[str, Shape], src: str
            ) -> list[WeightPart]:
    c = parse(node, [shapes[n] for n in node.inputs], src)
    view = weight_view(node, c, (graph.weight(node.input(0)) is not None,
                                 graph.weight(node.input(1)) is not None), src)
    if view is None:
        return []
    rows = (view.rows, 1)
    return [WeightPart(node.name, view.weight, f"Einsum/{view.k_first}/"
                       f"{node.inputs[view.weight]}", "fc", 1, view.in_features, rows,
                       rows, einsum_rows(view.k_first), False)]


def weight_parts(graph: Graph, node: Node, shapes: dict[str, Shape], src: str
                 ) -> list[WeightPart]:
    """The weight layers of a ConvTranspose, LSTM/GRU/RNN or Einsum node (none for an
    Einsum of two activations)."""
    if node.op == "ConvTranspose":
        return _conv_transpose(graph, node, shapes, src)
    if node.op in GATES:
        spec = recurrent_spec(node, [shapes[n] if n else None for n in node.inputs], src)
        return recurrent_parts(node, spec)
    if node.op == "Einsum":
        return _einsum(graph, node, shapes, src)
    raise WorkloadError(f"{node.op} has no weight parts", source=src, key=node_key(node))


def part_scale(scale: np.ndarray | None, data_shape: Shape, part: WeightPart, src: str,
               key: str) -> np.ndarray:
    """The (out,) scale of a part's rows from a quantized weight's tensor scale (which
    broadcasts to the stored weight); WorkloadError if it varies along a row."""
    stored = tuple(int(d) for d in data_shape)
    if scale is None:
        return np.ones(part.arrange(np.zeros(stored, np.int8)).shape[0], np.float32)
    s = np.asarray(scale, np.float32)
    if s.ndim > len(stored):
        raise WorkloadError(f"scale of rank {s.ndim} for a rank-{len(stored)} weight",
                            source=src, key=key)
    s = s.reshape((1,) * (len(stored) - s.ndim) + s.shape)
    try:
        full = np.broadcast_to(s, stored)
    except ValueError:
        raise WorkloadError(f"weight scale of shape {list(s.shape)} does not broadcast to "
                            f"{list(stored)}", source=src, key=key) from None
    rows = part.arrange(full)
    rows = rows.reshape(rows.shape[0], -1)
    if rows.size and not np.all(rows == rows[:, :1]):
        raise WorkloadError(f"weight scale of shape {list(s.shape)} varies within an output "
                            f"channel of layer {part.name}", source=src, key=key)
    return np.ascontiguousarray(rows[:, 0], dtype=np.float32)
