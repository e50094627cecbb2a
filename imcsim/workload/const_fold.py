"""General constant folding: every node whose inputs are all constants becomes a constant.

One pass in node (topological) order, so a chain of constant nodes folds entirely: a
node's output becomes an initializer before its readers are visited. What folds:

* any node whose every (non-omitted) input is an initializer with data, evaluated by the
  caller's `evaluate` (the ONNX importer passes onnx's reference evaluator on a one-node
  model: every ONNX op, no pattern list) -- except random ops, and the quantizers, which
  `fold.fold_quantizer` evaluates so that a weight keeps its integer levels and scale;
* `Shape` and `Size` of a tensor whose static shape is known (every tensor here: graph
  inputs have static shapes), so the shape subgraphs exporters keep for `x.size()`
  (Shape, Gather, Unsqueeze, Concat, ConstantOfShape, Expand, Equal, Where, Mod, Cast,
  Range, Slice feeding Reshape) disappear.

A brevitas QCDQ weight (QuantizeLinear -> Clip -> DequantizeLinear on a constant float
weight) folds to integer levels with the DequantizeLinear's per-channel scale; the Clip's
integer bounds give the bit width. A Transpose between a dequantized weight and its
MatMul keeps the levels (and transposes the scale). Every node that is not folded is first passed to
`prepare` (the importer's opset normalisation) and then shape-checked (`infer_node`), so
the shapes of the tensors a later `Shape` reads are known; an unsupported op left in the
graph is reported there, naming the node.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.fold import QUANTIZER_OPS, fold_quantizer, transpose_quantized
from imcsim.workload.graph import Graph, Node, Tensor, node_key
from imcsim.workload.shapes import MAX_ELEMENTS, Shape, infer_node

Evaluator = Callable[[Node, list[np.ndarray | None]], list[np.ndarray]]
Preparer = Callable[[Node], None]

NEVER_FOLD = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike",
                        "RandomUniformLike", "Multinomial", "Bernoulli"})


def _constant_inputs(graph: Graph, node: Node) -> list[np.ndarray | None] | None:
    """The real values of `node`'s inputs (None for an omitted one) if all are constant."""
    values: list[np.ndarray | None] = []
    for name in node.inputs:
        if not name:
            values.append(None)
            continue
        t = graph.initializers.get(name)
        data = None if t is None else t.data
        if t is None or data is None:
            return None
        if t.is_quantized and t.scale is not None:
            data = (np.asarray(data, np.float32) * np.asarray(t.scale, np.float32))
        values.append(np.asarray(data))
    return values


def _static_shape(node: Node, shapes: dict[str, Shape]) -> np.ndarray | None:
    """The value of Shape/Size of a tensor of known shape, else None."""
    x = node.input(0)
    if node.op not in ("Shape", "Size") or x is None or x not in shapes:
        return None
    shape = shapes[x]
    if node.op == "Size":
        return np.asarray(math.prod(shape), np.int64)
    rank = len(shape)
    start = int(node.attrs.get("start", 0))
    end = int(node.attrs.get("end", rank))
    return np.asarray(shape[slice(start, end)], np.int64)


def _declared_size(node: Node, values: list[np.ndarray | None]) -> int:
    """Elements the output of a shape-driven op will have (checked before evaluating)."""
    try:
        if node.op == "ConstantOfShape" and values[0] is not None:
            return math.prod(int(d) for d in np.asarray(values[0]).ravel())
        if node.op == "Expand" and values[0] is not None and values[1] is not None:
            shape = [int(d) for d in np.asarray(values[1]).ravel()]
            return math.prod(np.broadcast_shapes(values[0].shape, tuple(max(d, 0)
                                                                        for d in shape)))
        if node.op == "Tile" and values[0] is not None and values[1] is not None:
            return values[0].size * math.prod(int(r) for r in np.asarray(values[1]).ravel())
    except ValueError:
        return 0  # the evaluator reports the bad shape
    return 0


def fold_constants(graph: Graph, evaluate: Evaluator, prepare: Preparer | None = None, *,
                   source: str | None = None) -> dict[str, Shape]:
    """Fold every constant subgraph of `graph` in place (see the module docstring);
    return the shapes of the remaining tensors. Raises WorkloadError naming the node for
    an evaluation that fails, an output over MAX_ELEMENTS, or a remaining node whose
    shapes do not check."""
    src = source or graph.name
    shapes: dict[str, Shape] = {}
    for t in graph.inputs:
        if t.known_shape is not None:
            shapes[t.name] = t.known_shape
    for name, t in graph.initializers.items():
        if t.known_shape is not None:
            shapes[name] = t.known_shape
    consumers = graph.consumers()
    clip_ranges: dict[str, tuple[float, float]] = {}
    kept: list[Node] = []
    for node in graph.nodes:
        value = _static_shape(node, shapes)
        values = None if value is not None or node.op in NEVER_FOLD else \
            _constant_inputs(graph, node)
        if value is not None:
            _store(graph, node.outputs[0], value, shapes)
        elif values is not None and node.op in QUANTIZER_OPS:
            fold_quantizer(graph, node, consumers, src, clip_ranges.get(node.inputs[0]))
            shapes[node.outputs[0]] = graph.initializers[node.outputs[0]].known_shape or ()
        elif values is not None and node.op == "Transpose" and \
                transpose_quantized(graph, node, consumers.get(node.outputs[0], [])):
            shapes[node.outputs[0]] = graph.initializers[node.outputs[0]].known_shape or ()
        elif values is not None:
            _evaluate(graph, node, values, evaluate, shapes, src)
            if node.op == "Clip" and np.asarray(values[0]).dtype.kind in "iu":
                out = np.asarray(graph.initializers[node.outputs[0]].data)
                lo = values[1] if len(values) > 1 and values[1] is not None else out.min()
                hi = values[2] if len(values) > 2 and values[2] is not None else out.max()
                clip_ranges[node.outputs[0]] = (float(lo), float(hi))
        else:
            if prepare is not None:
                prepare(node)  # may add constant inputs
                for name in node.inputs:
                    added = graph.initializers.get(name)
                    shape = None if added is None else added.known_shape
                    if shape is not None and name not in shapes:
                        shapes[name] = shape
            infer_node(graph, node, shapes, src)
            kept.append(node)
    graph.nodes = kept
    return shapes


def _evaluate(graph: Graph, node: Node, values: list[np.ndarray | None],
              evaluate: Evaluator, shapes: dict[str, Shape], src: str) -> None:
    key = node_key(node)
    if _declared_size(node, values) > MAX_ELEMENTS:
        raise WorkloadError(f"constant output has more than {MAX_ELEMENTS:,} elements",
                            source=src, key=key)
    if node.op == "Identity":
        outs = [np.asarray(values[0])]
    else:
        outs = evaluate(node, values)
    if len(outs) < len(node.outputs):
        raise WorkloadError(f"evaluated to {len(outs)} outputs, expected "
                            f"{len(node.outputs)}", source=src, key=key)
    for name, out in zip(node.outputs, outs, strict=False):
        if not name:
            continue
        out = np.asarray(out)
        if out.size > MAX_ELEMENTS:
            raise WorkloadError(f"constant output has more than {MAX_ELEMENTS:,} elements",
                                source=src, key=key)
        _store(graph, name, out, shapes)


def _store(graph: Graph, name: str, value: np.ndarray, shapes: dict[str, Shape]) -> None:
    value = np.asarray(value)  # (np.ascontiguousarray would make a scalar 1-D)
    if not value.flags.c_contiguous:
        value = value.copy()
    graph.initializers[name] = Tensor(name, tuple(int(d) for d in value.shape),
                                      value.dtype.name, value)
    shapes[name] = tuple(int(d) for d in value.shape)
