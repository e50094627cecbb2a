"""What each graph node computes: weight MACs, activation x activation MACs, or
elementwise / reduction / data-movement work with an element count (`OpWork`).

* "weight": Conv (1-D and 2-D), ConvTranspose, Gemm/MatMul whose second input is a
  constant rank-2 weight (a Linear on [batch, seq, d] included: its rows stream past
  stationary weights), Einsum with one constant rank-2 operand, LSTM/GRU/RNN. MACs:
  Conv: output elements x in_channels/group x kh x kw; Gemm/MatMul: output elements x
  K; ConvTranspose: input elements x out_channels/group x kh x kw (every input pixel
  times every tap, scattered into the output: in_pixels x in_channels x
  out_channels/group x kh x kw, products that land in the cropped padding included);
  Einsum: the product of every index's size (`einsum`); LSTM/GRU/RNN: seq x batch x
  directions x gates x hidden x (input + hidden) (`recurrent`). These are the nodes
  `lower` turns into `ComputeLayer`s.
* "activation": Gemm/MatMul/Einsum between two activations (attention Q.K^T and A.V).
  MACs = output elements x K (the batch axes broadcast, as numpy's matmul).
* "reduction": ReduceMean/Sum/..., Softmax, LogSoftmax, LayerNormalization, the pools,
  LRN: `elements` = elements read (a windowed pool: output elements x window; LRN:
  output elements x size).
* "data": Transpose, Reshape, Flatten, (Un)Squeeze, Expand, Slice, Split, Concat, Gather,
  Pad, Tile, ScatterND, Resize (every mode: its output elements written), Identity: zero
  MACs, `elements` = elements written (moved).
* "elementwise": every other op (activations, BatchNormalization, Add, Mul, Div, Pow,
  Sqrt, Erf, Where, quantizers, ...): `elements` = output elements.

A recurrent node's gate work comes as extra "elementwise" entries after its weight entry
(`node_works`): "<node>.gates" (op LSTM/GRU/RNN: the sums and products) and one
"<node>.<Function>" per activation function (op Sigmoid, Tanh, ...: its evaluations),
counted in `recurrent.gate_work`.

A LayerNorm decomposed by an exporter (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div,
Mul, Add) is counted node by node, as reductions and elementwise ops.
"""

from __future__ import annotations

import math

from imcsim.errors import WorkloadError
from imcsim.workload.einsum import parse
from imcsim.workload.graph import Graph, Node, node_key
from imcsim.workload.layer import OpWork
from imcsim.workload.recurrent import GATES, gate_work, recurrent_spec
from imcsim.workload.shapes import Shape, window
from imcsim.workload.window import spatial

__all__ = ["ACTIVATION", "DATA", "ELEMENTWISE", "KINDS", "REDUCTION", "WEIGHT", "OpWork",
           "graph_work", "is_weight_layer", "node_work", "node_works"]

WEIGHT, ACTIVATION, ELEMENTWISE, REDUCTION, DATA = (
    "weight", "activation", "elementwise", "reduction", "data")
KINDS = (WEIGHT, ACTIVATION, ELEMENTWISE, REDUCTION, DATA)

REDUCTION_OPS = frozenset({"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
                           "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp",
                           "Softmax", "LogSoftmax", "LayerNormalization", "MaxPool",
                           "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LRN"})
DATA_OPS = frozenset({"Transpose", "Reshape", "Flatten", "Unsqueeze", "Squeeze", "Expand",
                      "Slice", "Split", "Concat", "Gather", "Pad", "Tile", "Identity",
                      "ScatterND", "Resize"})


def is_weight_layer(graph: Graph, node: Node, src: str) -> bool:
    """True for a Conv, ConvTranspose, LSTM/GRU/RNN, a Gemm/MatMul with a constant rank-2
    weight as input 1 and an activation as input 0, or an Einsum with one constant
    operand; False for a Gemm/MatMul/Einsum of two activations or any other op.

    Raises WorkloadError naming the node for a Gemm/MatMul with a constant first input
    or a constant weight of another rank than 2 (not supported)."""
    if node.op in ("Conv", "ConvTranspose") or node.op in GATES:
        return True
    if node.op == "Einsum":  # the constant's form is checked by shape inference
        return (graph.weight(node.input(0)) is None) != (graph.weight(node.input(1)) is None)
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


def _recurrent_works(graph: Graph, node: Node, shapes: dict[str, Shape], index: int,
                     src: str) -> list[OpWork]:
    """The weight entry of an LSTM/GRU/RNN, then its gate work (see the docstring)."""
    spec = recurrent_spec(node, [shapes[n] if n else None for n in node.inputs], src)
    out = next(shapes[o] for o in node.outputs if o)
    main = OpWork(node.name, node.op, WEIGHT, spec.weight_macs(), _numel(out), tuple(out),
                  index)
    gates = [OpWork(f"{node.name}.{'gates' if what == 'arithmetic' else what}",
                    node.op if what == "arithmetic" else what, ELEMENTWISE, 0, n,
                    tuple(out), index) for what, n in gate_work(spec)]
    return [main, *gates]


def node_works(graph: Graph, node: Node, shapes: dict[str, Shape], index: int,
               src: str) -> list[OpWork]:
    """The `OpWork`s of one node (one, but a recurrent node's gate work follows its
    weight entry), from the inferred `shapes` (see `shapes.infer_shapes`)."""
    if node.op in GATES:
        return _recurrent_works(graph, node, shapes, index, src)
    out = shapes[node.outputs[0]]
    ins = [shapes[n] for n in node.inputs if n]
    macs, elements = 0, _numel(out)
    if node.op in ("Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum"):
        kind = WEIGHT if is_weight_layer(graph, node, src) else ACTIVATION
        if node.op == "Conv":
            w = ins[1]
            macs = _numel(out) * w[1] * math.prod(w[2:])
        elif node.op == "ConvTranspose":  # input pixels x channels x (O/g x kh x kw)
            w = ins[1]
            macs = _numel(ins[0]) * w[1] * math.prod(w[2:])
        elif node.op == "Einsum":
            macs = parse(node, ins, src).macs
        elif node.op == "Gemm":
            a = ins[0]
            macs = _numel(out) * (a[0] if int(node.attrs.get("transA", 0)) else a[1])
        else:
            macs = _numel(out) * ins[0][-1]
    elif node.op in REDUCTION_OPS:
        kind = REDUCTION
        elements = _numel(ins[0])
        if node.op in ("MaxPool", "AveragePool"):
            flat, in_hw = spatial(node, ins[0], src)
            win = window(flat, in_hw, None, src,
                         ceil_mode=bool(int(node.attrs.get("ceil_mode", 0))))
            elements = _numel(out) * win.kernel[0] * win.kernel[1]
        elif node.op == "LRN":
            elements = _numel(out) * int(node.attrs.get("size", 1))
    elif node.op in DATA_OPS:
        kind = DATA
        elements = sum(_numel(shapes[o]) for o in node.outputs if o)
    else:
        kind = ELEMENTWISE
    return [OpWork(node.name, node.op, kind, int(macs), int(elements), tuple(out), index)]


def node_work(graph: Graph, node: Node, shapes: dict[str, Shape], index: int,
              src: str) -> OpWork:
    """The main `OpWork` of one node (its weight entry for a recurrent node)."""
    return node_works(graph, node, shapes, index, src)[0]


def graph_work(graph: Graph, shapes: dict[str, Shape], src: str | None = None
               ) -> list[OpWork]:
    """`node_works` of every node of `graph`, in node order."""
    source = src or graph.name
    return [w for i, n in enumerate(graph.nodes) for w in node_works(graph, n, shapes, i,
                                                                      source)]
