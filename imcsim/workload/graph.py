"""A small ONNX-like graph IR: tensors, nodes and a graph.

Op names, attribute names and input order follow ONNX opset 17 (Conv, Gemm, MatMul,
BatchNormalization, Relu, Clip, Add, Concat, MaxPool, Reshape, Split, ...; Reshape's
shape, Split's split and Clip's min/max are inputs, ReduceMean's axes an attribute) plus
the QONNX `Quant` op, so the native YAML/JSON reader and the ONNX importer both produce a
`Graph` directly (`shapes.SUPPORTED_OPS` lists the ops). Tensors have any rank (a
transformer's [batch, seq, d], attention's [batch, heads, seq, seq]); a Conv's layout is
NCHW, its weights (out_ch, in_ch/group, kh, kw) as in ONNX. Nodes are listed in topological
(execution) order, as ONNX requires. An empty input name means an omitted optional input
(ONNX convention).

Quantized weights are initializers with integer data: `dtype` "int8", `data` the integer
levels, `bits` their width (2 = ternary, levels in {-1, 0, +1}) and `scale` the real step,
so that the real weight is `scale * data` (numpy broadcasting). `scale` has at most one
axis longer than 1, the output-channel axis of the consuming op: (O, 1, 1, 1) for a Conv
weight, (O, 1) for Gemm with transB=1, (1, N) for MatMul or Gemm with transB=0, or shape
() for one scale per tensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Shape = tuple[int, ...]


@dataclass
class Tensor:
    """A named tensor: a graph input (shape, no data) or an initializer (with data).

    `scale` and `bits` are set on quantized weights only (see the module docstring).
    """

    name: str
    shape: tuple[int, ...] | None
    dtype: str = "float32"
    data: np.ndarray | None = field(default=None, repr=False, compare=False)
    scale: np.ndarray | None = field(default=None, repr=False, compare=False)
    bits: int | None = None

    @property
    def known_shape(self) -> tuple[int, ...] | None:
        """`data.shape` if there is data, else the declared shape."""
        if self.data is not None:
            return tuple(int(d) for d in self.data.shape)
        return None if self.shape is None else tuple(int(d) for d in self.shape)

    @property
    def is_quantized(self) -> bool:
        """True for integer levels with a bit width (and usually a scale)."""
        return self.bits is not None


@dataclass
class Node:
    """One operator application, e.g. Node("conv1", "Conv", ["x", "conv1.weight"], ["y"])."""

    name: str
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)

    def input(self, i: int) -> str | None:
        """Name of input `i`, or None if absent (missing or empty name)."""
        if i < len(self.inputs) and self.inputs[i]:
            return self.inputs[i]
        return None


def node_key(node: Node) -> str:
    """The error key naming a node: 'node <name> (<op>)'."""
    return f"node {node.name} ({node.op})"


@dataclass
class Graph:
    """A network graph: inputs (with shapes), output names, nodes, initializers."""

    name: str
    inputs: list[Tensor]
    outputs: list[str]
    nodes: list[Node]
    initializers: dict[str, Tensor] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)  # facts of the source (a zoo step)

    def weight(self, name: str | None) -> np.ndarray | None:
        """Data of initializer `name`, or None if it is not an initializer with data."""
        if name is None:
            return None
        t = self.initializers.get(name)
        return None if t is None else t.data

    def consumers(self) -> dict[str, list[Node]]:
        """Tensor name -> the nodes reading it (in node order)."""
        out: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.inputs:
                if name:
                    out.setdefault(name, []).append(node)
        return out


# Inputs that are settings or statistics, not trainable parameters: BatchNormalization
# running mean/var, Clip bounds, quantizer scales/zero points/bit widths, shape and index
# constants, Resize's roi/scales/sizes, a recurrent node's sequence lengths and initial
# states.
NON_TRAINABLE_INPUTS: dict[str, tuple[int, ...]] = {
    "BatchNormalization": (3, 4), "Clip": (1, 2), "Quant": (1, 2, 3),
    "QuantizeLinear": (1, 2), "DequantizeLinear": (1, 2), "Reshape": (1,), "Split": (1,),
    "Gather": (1,), "Pad": (1, 2, 3), "Slice": (1, 2, 3, 4), "Expand": (1,), "Tile": (1,),
    "Unsqueeze": (1,), "Squeeze": (1,), "Resize": (1, 2, 3), "ScatterND": (1,),
    "LSTM": (4, 5, 6), "GRU": (4, 5), "RNN": (4, 5),
}
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
# Ops whose one-element constants are settings (LayerNorm's exponent 2), not trainable
# parameters. Add, Sub, Mul and Div are not among them: their scalar constants (an
# epsilon, GELU's sqrt(2), attention's 1/sqrt(d)) count as one parameter each, as they
# did before these ops' graphs (CNNs) could hold anything else, so CNN counts stay.
SCALAR_SETTING_OPS = frozenset({"Pow", "Max", "Min", "Mod", "Where", "Equal", "Less",
                                "Greater"})


def trainable_parameter_count(graph: Graph) -> int:
    """Number of trainable parameters: float or quantized initializers consumed by a node.

    Each initializer counts once (a weight shared by several nodes, e.g. the time steps
    of an unrolled LSTM, counts once); the inputs in NON_TRAINABLE_INPUTS, one-element
    constants of the ops in SCALAR_SETTING_OPS and other non-float
    initializers (e.g. int64 shape constants) are excluded.
    """
    counted: set[str] = set()
    total = 0
    for node in graph.nodes:
        skip = NON_TRAINABLE_INPUTS.get(node.op, ())
        for i, name in enumerate(node.inputs):
            if i in skip or not name or name in counted or name not in graph.initializers:
                continue
            t = graph.initializers[name]
            if t.dtype not in FLOAT_DTYPES and not t.is_quantized:
                continue
            shape = t.known_shape or ()
            if node.op in SCALAR_SETTING_OPS and math.prod(shape) == 1:
                continue
            counted.add(name)
            total += int(np.prod(shape, dtype=np.int64))
    return total


def _same(a: Any, b: Any) -> bool:
    """Equality that also tells 1 from 1.0 and True, and [1] from (1,)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return a == b or (a != a and b != b)  # NaN equals NaN here
    return a == b


def _same_array(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def tensor_equal(a: Tensor, b: Tensor) -> bool:
    """Exact equality of two tensors, arrays compared bit for bit."""
    return (a.name == b.name and _same(a.shape, b.shape) and a.dtype == b.dtype
            and a.bits == b.bits and _same_array(a.data, b.data)
            and _same_array(a.scale, b.scale))


def graph_equal(a: Graph, b: Graph) -> bool:
    """Exact equality of two graphs (order of inputs, nodes, initializers included)."""
    return (a.name == b.name and a.outputs == b.outputs
            and len(a.inputs) == len(b.inputs)
            and all(tensor_equal(x, y) for x, y in zip(a.inputs, b.inputs, strict=True))
            and len(a.nodes) == len(b.nodes)
            and all(x.name == y.name and x.op == y.op and x.inputs == y.inputs
                    and x.outputs == y.outputs and _same(x.attrs, y.attrs)
                    for x, y in zip(a.nodes, b.nodes, strict=True))
            and list(a.initializers) == list(b.initializers)
            and all(tensor_equal(a.initializers[k], b.initializers[k]) for k in a.initializers))
