"""A small ONNX-like graph IR: tensors, nodes and a graph.

Op names and attribute names/semantics follow ONNX (Conv, Gemm, MatMul,
BatchNormalization, Relu, Add, MaxPool, AveragePool, GlobalAveragePool, Flatten), so a
native YAML/JSON reader and an ONNX importer can both produce a `Graph` directly. Layout
is NCHW; weights of a Conv are (out_ch, in_ch/group, kh, kw) as in ONNX. Nodes are listed
in topological (execution) order, as ONNX requires. An empty input name means an
omitted optional input (ONNX convention).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Tensor:
    """A named tensor: a graph input (shape, no data) or an initializer (with data)."""

    name: str
    shape: tuple[int, ...] | None
    dtype: str = "float32"
    data: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def known_shape(self) -> tuple[int, ...] | None:
        """`data.shape` if there is data, else the declared shape."""
        if self.data is not None:
            return tuple(int(d) for d in self.data.shape)
        return None if self.shape is None else tuple(int(d) for d in self.shape)


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


@dataclass
class Graph:
    """A network graph: inputs (with shapes), output names, nodes, initializers."""

    name: str
    inputs: list[Tensor]
    outputs: list[str]
    nodes: list[Node]
    initializers: dict[str, Tensor] = field(default_factory=dict)

    def weight(self, name: str | None) -> np.ndarray | None:
        """Data of initializer `name`, or None if it is not an initializer with data."""
        if name is None:
            return None
        t = self.initializers.get(name)
        return None if t is None else t.data


# BatchNormalization inputs 3 and 4 (running mean / variance) are statistics, not
# trainable parameters.
_NON_TRAINABLE_INPUTS = {"BatchNormalization": (3, 4)}
_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def trainable_parameter_count(graph: Graph) -> int:
    """Number of trainable parameters: float initializers consumed by some node.

    Each initializer counts once; BatchNormalization running mean/var and non-float
    initializers (e.g. int64 shape constants) are excluded.
    """
    counted: set[str] = set()
    total = 0
    for node in graph.nodes:
        skip = _NON_TRAINABLE_INPUTS.get(node.op, ())
        for i, name in enumerate(node.inputs):
            if i in skip or not name or name in counted or name not in graph.initializers:
                continue
            t = graph.initializers[name]
            if t.dtype not in _FLOAT_DTYPES:
                continue
            shape = t.known_shape or ()
            counted.add(name)
            total += int(np.prod(shape, dtype=np.int64))
    return total
