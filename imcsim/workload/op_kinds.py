"""What each graph node computes: weight MACs, activation x activation MACs, or
elementwise / reduction / data-movement work with an element count (`OpWork`).

* "weight": Conv, and Gemm/MatMul whose second input is a constant rank-2 weight (a
  Linear on [batch, seq, d] included: its rows stream past stationary weights). MACs =
  output elements x inputs summed per output (Conv: in_channels/group x kh x kw;
  Gemm/MatMul: K). These are the layers `lower` turns into `ComputeLayer`s.
* "activation": Gemm/MatMul between two activations (attention Q.K^T and A.V). MACs =
  output elements x K (the batch axes broadcast, as numpy's matmul).
* "reduction": ReduceMean/Sum/..., Softmax, LogSoftmax, LayerNormalization, the pools,
  LRN: `elements` = elements read (a windowed pool: output elements x window; LRN:
  output elements x size).
* "data": Transpose, Reshape, Flatten, (Un)Squeeze, Expand, Slice, Split, Concat, Gather,
  Pad, Tile, Identity: zero MACs, `elements` = elements written (moved).
* "elementwise": every other op (activations, BatchNormalization, Add, Mul, Div, Pow,
  Sqrt, Erf, Where, quantizers, ...): `elements` = output elements.

A LayerNorm decomposed by an exporter (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div,
Mul, Add) is counted node by node, as reductions and elementwise ops.
"""

from __future__ import annotations

import math

from imcsim.errors import WorkloadError
from imcsim.workload.graph import Graph, Node, node_key
from imcsim.workload.layer import OpWork
from imcsim.workload.shapes import Shape, window

__all__ = ["ACTIVATION", "DATA", "ELEMENTWISE", "KINDS", "REDUCTION", "WEIGHT", "OpWork",
           "graph_work", "is_weight_layer", "node_work"]

WEIGHT, ACTIVATION, ELEMENTWISE, REDUCTION, DATA = (
    "weight", "activation", "elementwise", "reduction", "data")
KINDS = (WEIGHT, ACTIVATION, ELEMENTWISE, REDUCTION, DATA)

REDUCTION_OPS = frozenset({"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
                           "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp",
                           "Softmax", "LogSoftmax", "LayerNormalization", "MaxPool",
                           "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LRN"})
DATA_OPS = frozenset({"Transpose", "Reshape", "Flatten", "Unsqueeze", "Squeeze", "Expand",
                      "Slice", "Split", "Concat", "Gather", "Pad", "Tile", "Identity"})


def is_weight_layer(graph: Graph, node: Node, src: str) -> bool:
    """True for a Conv, or a Gemm/MatMul with a constant rank-2 weight as input 1 and an
    activation as input 0; False for a Gemm/MatMul of two activations or any other op.

    Raises WorkloadError naming the node for a Gemm/MatMul with a constant first input
    or a constant weight of another rank than 2 (not supported)."""
    if node.op == "Conv":
        return True
    if node.op not in ("Gemm", "MatMul"):
        return False
    a, b = (graph.initializers.get(node.input(i) or "") for i in (0, 1))
    if a is None and b is None:
        return False
    shape = None if b is None else b.known_shape
    if a is not None or shape is None or len(shape) != 2:
        raise WorkloadError("a constant first input, or a constant weight of rank other "
                            "than 2, is not supported (needs activation x [K, N] weight)",
                            source=src, key=node_key(node))
    return True


def _numel(shape: Shape) -> int:
    return math.prod(shape)


def node_work(graph: Graph, node: Node, shapes: dict[str, Shape], index: int,
              src: str) -> OpWork:
    """The `OpWork` of one node, from the inferred `shapes` (see `shapes.infer_shapes`)."""
    out = shapes[node.outputs[0]]
    ins = [shapes[n] for n in node.inputs if n]
    macs, elements = 0, _numel(out)
    if node.op in ("Conv", "Gemm", "MatMul"):
        kind = WEIGHT if is_weight_layer(graph, node, src) else ACTIVATION
        if node.op == "Conv":
            w = ins[1]
            k = w[1] * math.prod(w[2:])
        elif node.op == "Gemm":
            a = ins[0]
            k = a[0] if int(node.attrs.get("transA", 0)) else a[1]
        else:
            k = ins[0][-1]
        macs = _numel(out) * k
    elif node.op in REDUCTION_OPS:
        kind = REDUCTION
        elements = _numel(ins[0])
        if node.op in ("MaxPool", "AveragePool"):
            x = ins[0]
            win = window(node, (x[2], x[3]), None, src,
                         ceil_mode=bool(int(node.attrs.get("ceil_mode", 0))))
            elements = _numel(out) * win.kernel[0] * win.kernel[1]
        elif node.op == "LRN":
            elements = _numel(out) * int(node.attrs.get("size", 1))
    elif node.op in DATA_OPS:
        kind = DATA
        elements = sum(_numel(shapes[o]) for o in node.outputs if o)
    else:
        kind = ELEMENTWISE
    return OpWork(node.name, node.op, kind, int(macs), int(elements), tuple(out), index)


def graph_work(graph: Graph, shapes: dict[str, Shape], src: str | None = None
               ) -> list[OpWork]:
    """`node_work` of every node of `graph`, in node order."""
    source = src or graph.name
    return [node_work(graph, n, shapes, i, source) for i, n in enumerate(graph.nodes)]
