"""ONNX (and QONNX) import: an `.onnx` file -> `Graph` (`import onnx` happens here, lazily).

Supported (opset >= 8; normalised to the IR's opset-17 forms), on tensors of any rank:
Conv (1-D and 2-D: group, dilations, strides, pads, auto_pad), Gemm, MatMul (any rank; with a
constant [K, N] weight it is a weight layer over all the activation's rows, between two
activations it is attention work, see `op_kinds`), BatchNormalization, LayerNormalization,
the activations (Relu, Clip, Sigmoid, Tanh, LeakyRelu, Erf, Gelu, HardSwish, HardSigmoid,
...), Softmax, elementwise arithmetic (Add, Sub, Mul, Div, Pow, Sqrt, Where, ...), the
Reduce ops, pools, LRN, and data movement (Transpose, Reshape, Flatten, Unsqueeze,
Squeeze, Expand, Slice, Split, Concat, Gather, Pad, Tile, ScatterND), Conv1d and
ConvTranspose (1-D and 2-D), Resize (Upsample and opset-10 Resize normalised to it),
LSTM, GRU and RNN, Einsum when it is a matrix product, CastLike (a Cast to the other
input's type, as the file declares it or onnx's type inference finds it), SplitToSequence
read by SequenceAt (as Slices, see `sequences`); `shapes.SUPPORTED_OPS` lists them.
Constant (becomes an initializer), Identity and Dropout (removed), QONNX Quant and
QuantizeLinear/DequantizeLinear (evaluated on constant weights, see `fold`; kept on
activations). Weights may live in external-data files beside the model.

Every node whose inputs are all constants is then evaluated (onnx's reference evaluator,
see `const_fold`), and Shape of a tensor of static shape is a constant: the shape
subgraphs exporters keep, Clip in brevitas QCDQ weights and ConstantOfShape weights fold
away, whatever their ops, before the remaining graph is shape-checked.

A symbolic or missing batch dimension (axis 0) of a graph input is taken as 1; any other
unknown input dimension is an error unless pinned (`seq`, `input_shapes`).
BatchNormalization stays in the graph and is folded into the preceding layer's
per-channel scale when lowering (see `lower`), so the graph keeps the model's parameter
count.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.const_fold import fold_constants
from imcsim.workload.fold import prune_initializers, remove_aliases
from imcsim.workload.graph import Graph, Node, Tensor, node_key
from imcsim.workload.sequences import SequenceSplits
from imcsim.workload.shapes import MAX_ELEMENTS, infer_shapes

MIN_OPSET = 8
QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas")
_DROP_ATTRS = {"BatchNormalization": ("spatial", "is_test", "consumed_inputs"),
               "Gemm": ("broadcast",), "Split": ("num_outputs",), "Dropout": ("is_test",)}


def require_onnx() -> Any:
    """`import onnx`, or a WorkloadError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise WorkloadError("reading .onnx files needs the onnx package: "
                            "pip install 'imcsim[onnx]'") from None
    return onnx


def _load(path: Path) -> Any:
    onnx = require_onnx()
    src = str(path)
    if not path.is_file():
        raise WorkloadError("file not found", source=src)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and others on a bad file
        raise WorkloadError(f"not a readable ONNX model (truncated or corrupt): "
                            f"{type(exc).__name__}: {exc}", source=src) from None
    if not model.HasField("graph") or not model.graph.node:
        raise WorkloadError("not an ONNX model (no graph or no nodes; truncated or not "
                            "ONNX?)", source=src)
    return model


def _opset(model: Any, src: str) -> int:
    versions = {o.domain: o.version for o in model.opset_import}
    version = versions.get("", versions.get("ai.onnx"))
    if version is None:
        raise WorkloadError("the model declares no ONNX opset (truncated file?)", source=src)
    if version < MIN_OPSET:
        raise WorkloadError(f"opset {version} is older than the oldest supported, "
                            f"{MIN_OPSET}", source=src)
    return int(version)


def _array(onnx: Any, tensor: Any, base: Path, src: str) -> np.ndarray:
    """An initializer's data, from the model or its external-data file; its declared dims
    are checked (none negative, at most MAX_ELEMENTS elements) before anything is read."""
    key = f"initializer {tensor.name}"
    dims = [int(d) for d in tensor.dims]
    if any(d < 0 for d in dims) or math.prod(dims) > MAX_ELEMENTS:
        raise WorkloadError(f"declared dims {dims} are negative or too large (at most "
                            f"{MAX_ELEMENTS:,} elements)", source=src, key=key)
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        file = base / location
        if not location or not file.is_file():
            raise WorkloadError(f"external data file '{location}' not found (looked in "
                                f"{base})", source=src, key=key)
        try:
            offset, length = int(info.get("offset", 0)), int(info.get("length", 0))
        except ValueError:
            raise WorkloadError("external data offset/length are not integers", source=src,
                                key=key) from None
        if offset < 0 or length < 0:
            raise WorkloadError("external data offset/length are negative", source=src,
                                key=key)
        end = offset + length
        if end > os.path.getsize(file):
            raise WorkloadError(f"external data file '{location}' is truncated (needs "
                                f"{end} bytes)", source=src, key=key)
    try:
        return onnx.numpy_helper.to_array(tensor, base_dir=str(base))
    except Exception as exc:
        raise WorkloadError(f"cannot read tensor data: {type(exc).__name__}: {exc}",
                            source=src, key=key) from None


def _input(onnx: Any, vi: Any, src: str, seq: int | None = None,
           pinned: tuple[int, ...] | None = None) -> Tensor:
    """A graph input with a static shape: its declared dims, a symbolic batch (axis 0) as
    1, any other unknown dim as `seq` if given; `pinned` replaces the whole shape (its
    rank, and any static dim, must agree with the file's)."""
    key = f"input {vi.name}"
    tt = vi.type.tensor_type
    if not vi.type.HasField("tensor_type") or not tt.HasField("shape"):
        if pinned is None:
            raise WorkloadError("input shape is unknown; export the model with static "
                                "input shapes, or pin it: --input-shape NAME=D1,D2,...",
                                source=src, key=key)
        declared: list[int | None] = [None] * len(pinned)
    else:
        declared = [int(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0
                    else None for d in tt.shape.dim]
    dtype = "float32" if not tt.elem_type else \
        np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type)).name
    if pinned is not None:
        if len(pinned) != len(declared) or any(
                d is not None and d != p for d, p in zip(declared, pinned, strict=True)):
            raise WorkloadError(f"pinned shape {list(pinned)} does not fit the declared "
                                f"{['?' if d is None else d for d in declared]}",
                                source=src, key=key)
        return Tensor(vi.name, tuple(pinned), dtype)
    dims = []
    for axis, d in enumerate(declared):
        if d is not None:
            dims.append(d)
        elif axis == 0:
            dims.append(1)  # symbolic batch -> 1
        elif seq is not None:
            dims.append(seq)
        else:
            name = tt.shape.dim[axis].dim_param or "?"
            raise WorkloadError(f"input dimension {axis} is unknown ({name}); "
                                f"give the model static input shapes (e.g. onnx.tools."
                                f"update_model_dims), or pin it: --seq N or --input-shape "
                                f"NAME=D1,D2,...", source=src, key=key)
    return Tensor(vi.name, tuple(dims), dtype)


def _attrs(onnx: Any, node: Any, key: str, src: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [x.decode("utf-8", "replace") for x in v]
        elif isinstance(v, onnx.TensorProto):
            v = onnx.numpy_helper.to_array(v)
        elif not isinstance(v, (int, float, str, list)):
            raise WorkloadError(f"attribute {a.name} of type {type(v).__name__} is not "
                                f"supported", source=src, key=key)
        out[a.name] = v
    return out


def _constant(node: Node, key: str, src: str) -> np.ndarray:
    for name, dtype in (("value", None), ("value_float", np.float32),
                        ("value_floats", np.float32), ("value_int", np.int64),
                        ("value_ints", np.int64)):
        if name in node.attrs:
            return np.asarray(node.attrs[name], dtype=dtype)
    raise WorkloadError(f"Constant with attributes {list(node.attrs)} is not supported",
                        source=src, key=key)


def _inferred_types(onnx: Any, model: Any) -> dict[str, int]:
    """Element types of the model's tensors by onnx's type inference on a copy without
    weight data (each initializer a typed graph input); {} if inference fails."""
    g, helper = model.graph, onnx.helper
    names = {vi.name for vi in g.input}
    inputs = [*g.input, *(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                          for t in g.initializer if t.name not in names)]
    copy = helper.make_model(helper.make_graph(list(g.node), "types", inputs, list(g.output)),
                             opset_imports=list(model.opset_import))
    copy.ir_version = model.ir_version
    copy.functions.extend(model.functions)
    try:
        copy = onnx.shape_inference.infer_shapes(copy)
    except Exception:  # (a type the inference cannot follow: CastLike stays elementwise)
        return {}
    return {vi.name: int(vi.type.tensor_type.elem_type) for vi in copy.graph.value_info
            if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type}


class _Converter:
    """Builds the Graph node by node, normalising opset differences."""

    def __init__(self, onnx: Any, graph: Graph, opset: int, src: str):
        self.onnx, self.graph, self.opset, self.src = onnx, graph, opset, src
        self.opset_imports: list[Any] = []
        self.names: set[str] = set()
        self.protos: dict[str, Any] = {}
        self.elem_types: dict[str, int] = {}  # ONNX element types the file declares
        self.model: Any = None  # the ModelProto (for `inferred_types`)
        self.inferred = False
        self.sequences: SequenceSplits | None = None

    def const(self, name: str, data: np.ndarray) -> str:
        self.graph.initializers[name] = Tensor(name, data.shape, data.dtype.name, data)
        return name

    def node_name(self, proto: Any, index: int) -> str:
        name = proto.name or f"{proto.op_type}_{index}"
        while name in self.names:
            name = f"{name}_{index}"
        self.names.add(name)
        return name

    def elem_type(self, name: str) -> int:
        """The ONNX element type of tensor `name` as a constant's data or the file's
        declarations (graph inputs, outputs, value_info) tell it, else as onnx's type
        inference does (run once, when first needed), else 0 (unknown)."""
        t = self.graph.initializers.get(name)
        if t is not None and t.data is not None and not t.is_quantized:
            return int(self.onnx.helper.np_dtype_to_tensor_dtype(np.asarray(t.data).dtype))
        if name not in self.elem_types and not self.inferred and self.model is not None:
            self.inferred = True
            self.elem_types = {**_inferred_types(self.onnx, self.model), **self.elem_types}
        return self.elem_types.get(name, 0)

    def cast_like(self, proto: Any) -> Any:
        """CastLike(x, like) as Cast(x, to=<like's element type>) where that type is
        known (the dynamo exporter without its optimiser writes CastLike of a constant
        and an activation for every scalar it mixes in), so that a constant x folds;
        unchanged where it is not (then an elementwise op on x, like Cast)."""
        to = self.elem_type(proto.input[1]) if len(proto.input) == 2 else 0
        if not to:
            return proto
        cast = self.onnx.helper.make_node("Cast", [proto.input[0]], list(proto.output),
                                          name=proto.name, to=to)
        cast.attribute.extend(a for a in proto.attribute if a.name == "saturate")
        return cast

    def add(self, proto: Any, index: int) -> None:
        if proto.op_type == "CastLike" and proto.domain in ("", "ai.onnx"):
            proto = self.cast_like(proto)
        if self.sequences is not None:
            if self.sequences.take(proto):
                return
            at = f"node {proto.name or f'{proto.op_type}_{index}'} ({proto.op_type})"
            pieces = self.sequences.rewrite(proto, at)
            if pieces is not None:
                for piece in pieces:
                    self.add(piece, index)
                return
        op = proto.op_type
        name = self.node_name(proto, index)
        key = f"node {name} ({op})"
        if proto.domain in QONNX_DOMAINS and op == "Quant":
            pass
        elif proto.domain not in ("", "ai.onnx"):
            raise WorkloadError(f"unsupported operator '{proto.domain}::{op}'", source=self.src,
                                key=key)
        node = Node(name, op, list(proto.input), list(proto.output),
                    _attrs(self.onnx, proto, key, self.src))
        if op == "Constant":
            self.const(node.outputs[0], _constant(node, key, self.src))
            return
        self.protos[name] = proto
        self.graph.nodes.append(node)

    def evaluate(self, node: Node, values: list[np.ndarray | None]) -> list[np.ndarray]:
        """`node` on constant inputs, by onnx's reference evaluator on a one-node model
        (the node as the file has it, at the file's opsets)."""
        onnx, helper = self.onnx, self.onnx.helper
        from onnx.reference import ReferenceEvaluator

        proto = onnx.NodeProto()
        proto.CopyFrom(self.protos[node.name])
        names = ["" if v is None else f"i{k}" for k, v in enumerate(values)]
        del proto.input[:]
        proto.input.extend(names)
        del proto.output[:]
        proto.output.extend(f"o{k}" for k in range(len(node.outputs)))
        undefined = onnx.TensorProto.UNDEFINED
        graph = helper.make_graph(
            [proto], "fold", [helper.make_tensor_value_info(n, undefined, None)
                              for n in names if n],
            [helper.make_tensor_value_info(o, undefined, None) for o in proto.output])
        model = helper.make_model(graph, opset_imports=self.opset_imports)
        feeds = {n: v for n, v in zip(names, values, strict=True) if n}
        try:
            return [np.asarray(o) for o in ReferenceEvaluator(model).run(None, feeds)]
        except Exception as exc:  # the reference ops raise many kinds on bad inputs
            raise WorkloadError(f"cannot evaluate on its constant inputs: "
                                f"{type(exc).__name__}: {exc}", source=self.src,
                                key=node_key(node)) from None

    def input_const(self, node: Node, attr: str, dtype: Any, default: Any = None) -> None:
        """Move attribute `attr` (an opset < 10/11/13 form) to the next input."""
        value = node.attrs.pop(attr, default)
        if value is not None:
            node.inputs.append(self.const(f"{node.name}.{attr}", np.asarray(value, dtype)))
        else:
            node.inputs.append("")

    def resize_10(self, node: Node) -> None:
        """Upsample (opset 7-9) and Resize-10 as Resize-11: scales become input 2 (roi
        omitted); their coordinate transform is asymmetric, nearest rounds down (the
        onnx version converter's Resize 10 -> 11 rule)."""
        if "scales" in node.attrs:  # Upsample-7
            self.input_const(node, "scales", np.float32)
            node.inputs = [node.inputs[0], node.inputs[-1]]
        node.op = "Resize"
        node.inputs = [node.inputs[0], "", *node.inputs[1:2]]
        node.attrs.setdefault("coordinate_transformation_mode", "asymmetric")
        if node.attrs.get("mode", "nearest") == "nearest":
            node.attrs.setdefault("nearest_mode", "floor")

    def normalise(self, node: Node) -> None:
        """Rewrite attribute/input forms of older or newer opsets to the opset-17 form."""
        for a in _DROP_ATTRS.get(node.op, ()):
            node.attrs.pop(a, None)
        if node.op == "Split" and "split" in node.attrs:  # opset < 13
            sizes = np.asarray(node.attrs.pop("split"), np.int64)
            node.inputs = [node.inputs[0], self.const(f"{node.name}.split", sizes)]
        elif node.op == "Clip" and ("min" in node.attrs or "max" in node.attrs):  # < 11
            lo = float(node.attrs.pop("min", np.finfo(np.float32).min))
            hi = float(node.attrs.pop("max", np.finfo(np.float32).max))
            node.inputs = [node.inputs[0], self.const(f"{node.name}.min", np.float32(lo)),
                           self.const(f"{node.name}.max", np.float32(hi))]
        elif node.op == "Reshape" and "shape" in node.attrs:  # opset < 5
            shape = np.asarray(node.attrs.pop("shape"), np.int64)
            node.inputs = [node.inputs[0], self.const(f"{node.name}.shape", shape)]
        elif node.op in ("Unsqueeze", "Squeeze") and "axes" in node.attrs:  # < 13
            self.input_const(node, "axes", np.int64)
        elif node.op == "Slice" and "starts" in node.attrs:  # opset < 10
            node.inputs = node.inputs[:1]
            for attr in ("starts", "ends", "axes"):
                self.input_const(node, attr, np.int64)
        elif node.op == "Pad" and "pads" in node.attrs:  # opset < 11
            node.inputs = node.inputs[:1]
            self.input_const(node, "pads", np.int64)
            self.input_const(node, "value", np.float32, 0.0)
        elif node.op.startswith("Reduce") and len(node.inputs) > 1:  # axes as an input
            axes = self.graph.weight(node.input(1))
            if node.input(1) and axes is None:
                raise WorkloadError("axes must be a constant", source=self.src,
                                    key=node_key(node))
            if axes is not None:
                node.attrs["axes"] = [int(a) for a in np.asarray(axes).ravel()]
            node.attrs.pop("noop_with_empty_axes", None)
            node.inputs = node.inputs[:1]
        elif node.op == "Upsample" or (node.op == "Resize" and self.opset < 11):
            self.resize_10(node)
        elif node.op == "BatchNormalization":
            if int(node.attrs.pop("training_mode", 0)) or len(node.outputs) > 1:
                raise WorkloadError("BatchNormalization in training mode is not supported",
                                    source=self.src, key=node_key(node))


def import_onnx(path: str | Path, *, seq: int | None = None,
                input_shapes: Mapping[str, tuple[int, ...]] | None = None) -> Graph:
    """Read an ONNX/QONNX model into a `Graph` (shape-checked; see the module docstring).

    `seq` pins every unknown input dimension but the batch axis (a sequence length);
    `input_shapes` pins whole input shapes by input name (batch included).

    Raises WorkloadError(source=path) for a missing, truncated or non-ONNX file, an opset
    older than 8, a missing or short external-data file (key "initializer NAME"), an
    unsupported operator (key "node NAME (OP)"), unknown input shapes or a pinned shape
    that does not fit (key "input NAME"), a pinned name that is no input (key
    "input-shape").
    """
    path = Path(path)
    src = str(path)
    model = _load(path)
    onnx = require_onnx()
    opset = _opset(model, src)
    g = model.graph
    inits = {t.name: _array(onnx, t, path.parent, src) for t in g.initializer}
    pins = dict(input_shapes or {})
    names = [vi.name for vi in g.input if vi.name not in inits]
    for name in pins:
        if name not in names:
            raise WorkloadError(f"no graph input named {name!r} (inputs: "
                                f"{', '.join(names)})", source=src, key="input-shape")
    graph = Graph(g.name or path.stem, [_input(onnx, vi, src, seq, pins.get(vi.name))
                                        for vi in g.input if vi.name not in inits],
                  [o.name for o in g.output], [], {})
    conv = _Converter(onnx, graph, opset, src)
    conv.opset_imports, conv.model = list(model.opset_import), model
    conv.sequences = SequenceSplits(
        onnx, list(g.node), [o.name for o in g.output],
        lambda name: getattr(graph.initializers.get(name), "data", None), conv.const, src)
    conv.elem_types = {vi.name: int(vi.type.tensor_type.elem_type)
                       for vi in [*g.input, *g.output, *g.value_info]
                       if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type}
    for name, data in inits.items():
        conv.const(name, data)
    for i, proto in enumerate(g.node):
        conv.add(proto, i)
    remove_aliases(graph, source=src)
    fold_constants(graph, conv.evaluate, conv.normalise, source=src)
    prune_initializers(graph)
    infer_shapes(graph, source=src)
    return graph
