"""Lower a `Graph` to the flat list of weight layers (`ComputeLayer`) hardware sees.

Each Conv, Gemm and MatMul-with-weight-initializer becomes one ComputeLayer, in node
order. A Gemm/MatMul is kind "fc": a 1x1 convolution over a 1x1 input, weights stored as
(out, in, 1, 1). BatchNormalization, Relu, Add and the pools do not become
ComputeLayers: they run in the digital periphery (their cost belongs to the mapping).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.graph import Graph, Node
from imcsim.workload.layer import ComputeLayer
from imcsim.workload.shapes import Shape, infer_shapes, node_key, window

Quantizer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _need_weight(graph: Graph, node: Node, i: int, src: str) -> np.ndarray:
    data = graph.weight(node.input(i))
    if data is None:
        raise WorkloadError(f"weight input {node.input(i)!r} must be an initializer with data",
                            source=src, key=node_key(node))
    return data


def _fc_weight(graph: Graph, node: Node, shapes: dict[str, Shape], src: str) -> np.ndarray:
    """Weight of a Gemm/MatMul as (out, in, 1, 1); checks the activation is [1, K]."""
    a = shapes[node.inputs[0]]
    trans_a = node.op == "Gemm" and int(node.attrs.get("transA", 0))
    if (a[1] if trans_a else a[0]) != 1:
        raise WorkloadError(f"only batch 1 is supported, activation shape {list(a)}",
                            source=src, key=node_key(node))
    b = _need_weight(graph, node, 1, src)
    w = b if node.op == "Gemm" and int(node.attrs.get("transB", 0)) else b.T
    alpha = float(node.attrs.get("alpha", 1.0)) if node.op == "Gemm" else 1.0
    if alpha != 1.0:
        w = w * np.float32(alpha)
    return np.ascontiguousarray(w)[:, :, None, None]


def lower(graph: Graph, quantize: Quantizer, *, weight_bits: int = 2,
          source: str | None = None) -> list[ComputeLayer]:
    """Infer shapes, then turn each weight op into a ComputeLayer with quantized weights.

    `quantize(w)` gets the float weight in (out, in/groups, kh, kw) layout and returns
    (levels, scale) with levels.shape == w.shape and scale.shape == (out,).
    """
    src = source or graph.name
    shapes = infer_shapes(graph, source=src)
    layers: list[ComputeLayer] = []
    for node in graph.nodes:
        if node.op == "Conv":
            w = _need_weight(graph, node, 1, src)
            x = shapes[node.inputs[0]]
            win = window(node, (x[2], x[3]), (w.shape[2], w.shape[3]), src)
            kind, groups, in_ch, in_hw = "conv", int(node.attrs.get("group", 1)), x[1], x[2:4]
            geometry = (win.kernel, win.strides, win.pads, win.dilations, win.out_hw)
            has_bias = node.input(2) is not None
        elif node.op in ("Gemm", "MatMul"):
            w = _fc_weight(graph, node, shapes, src)  # raises unless B is an initializer
            kind, groups, in_ch, in_hw = "fc", 1, w.shape[1], (1, 1)
            geometry = ((1, 1), (1, 1), (0, 0, 0, 0), (1, 1), (1, 1))
            has_bias = node.op == "Gemm" and node.input(2) is not None
        else:
            continue
        levels, scale = quantize(w)
        levels, scale = np.asarray(levels), np.asarray(scale)
        if levels.shape != w.shape or scale.shape != (w.shape[0],):
            raise WorkloadError(f"quantizer returned levels {levels.shape} / scale "
                                f"{scale.shape}, expected {w.shape} / ({w.shape[0]},)",
                                source=src, key=node_key(node))
        kernel, strides, pads, dil, out_hw = geometry
        layers.append(ComputeLayer(
            name=node.name, kind=kind, in_channels=int(in_ch), out_channels=int(w.shape[0]),
            kernel=kernel, stride=strides, padding=pads, dilation=dil, groups=groups,
            in_hw=(int(in_hw[0]), int(in_hw[1])), out_hw=out_hw, weights=levels,
            scale=scale, weight_bits=weight_bits, has_bias=has_bias))
    return layers
