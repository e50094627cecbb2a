"""Graph rewrites used by the importers (pure IR, no ONNX dependency).

* `remove_aliases`: Identity and Dropout (inference: the identity) disappear, their
  readers read the input instead; one whose output is a graph output becomes Identity.
* `fold_weight_quantizers`: QONNX Quant, QuantizeLinear and DequantizeLinear applied to
  a constant are evaluated. When every reader uses the result as a weight (of a
  Conv/Gemm/MatMul, ConvTranspose, LSTM/GRU/RNN, Einsum), it becomes a quantized initializer (integer levels, per-channel
  scale, bit width; see `graph`), otherwise a float constant (e.g. a quantized bias).
  Quantizers of activations stay in the graph (periphery ops).
* `prune_initializers`: drop initializers no node reads.

Quant (QONNX, https://github.com/fastmachinelearning/qonnx, docs/qonnx-custom-ops/
quant_op.md): inputs x, scale, zero_point, bit_width; attributes signed (1), narrow (0),
rounding_mode ("ROUND", half to even). q = clip(round(x / scale + zp), lo, hi) with
signed: lo = -2^(b-1) (+1 if narrow), hi = 2^(b-1) - 1; unsigned: lo = 0,
hi = 2^b - 1 (-1 if narrow); y = (q - zp) * scale. The levels kept are q - zp; with
b = 2, signed, narrow they are ternary {-1, 0, +1}. DequantizeLinear levels are x - zp
with bit width 8 (int8/uint8 data), or 2 when every level is in {-1, 0, +1}.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.graph import Graph, Node, Tensor, node_key

# op -> the inputs that are weights of its layers (`lower`)
WEIGHT_INPUTS = {"Conv": (1,), "Gemm": (1,), "MatMul": (1,), "ConvTranspose": (1,),
                 "LSTM": (1, 2), "GRU": (1, 2), "RNN": (1, 2), "Einsum": (0, 1)}
_ROUND: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "ROUND": np.round, "CEIL": np.ceil, "FLOOR": np.floor, "ROUND_TO_ZERO": np.trunc}


def remove_aliases(graph: Graph, *, source: str | None = None) -> None:
    """Drop Identity/Dropout nodes (in place), rewiring their readers to their input."""
    alias: dict[str, str] = {}
    kept: list[Node] = []
    for node in graph.nodes:
        node.inputs = [alias.get(n, n) for n in node.inputs]
        if node.op in ("Identity", "Dropout") and node.outputs[0] not in graph.outputs:
            alias[node.outputs[0]] = node.inputs[0]
            continue
        if node.op == "Dropout":
            node.op, node.inputs, node.attrs = "Identity", node.inputs[:1], {}
        kept.append(node)
    for node in kept:
        if node.op == "Identity" and len(node.outputs) > 1:
            used = graph.consumers()
            if any(o in used or o in graph.outputs for o in node.outputs[1:]):
                raise WorkloadError("the Dropout mask output is not supported", source=source,
                                    key=node_key(node))
            node.outputs = node.outputs[:1]
    graph.nodes = kept


def _scalar(graph: Graph, node: Node, i: int, what: str, src: str) -> float:
    v = graph.weight(node.input(i))
    if v is None or np.size(v) != 1:
        raise WorkloadError(f"{what} must be a constant scalar", source=src, key=node_key(node))
    return float(np.asarray(v).ravel()[0])


def _per_axis(scale: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    """A 1-D per-axis scale/zero point of QuantizeLinear/DequantizeLinear, broadcastable."""
    if scale.ndim != 1 or ndim == 0:
        return scale
    shape = [1] * ndim
    shape[axis % ndim] = scale.size
    return scale.reshape(shape)


def _quant(graph: Graph, node: Node, src: str) -> tuple[np.ndarray, np.ndarray, int]:
    """QONNX Quant of a constant: (integer levels q - zp, scale, bit width)."""
    key = node_key(node)
    x = np.asarray(graph.weight(node.input(0)), np.float64)
    scale = graph.weight(node.input(1))
    zp = graph.weight(node.input(2))
    if scale is None or zp is None:
        raise WorkloadError("scale and zero point must be constants", source=src, key=key)
    bits = _scalar(graph, node, 3, "bit_width", src)
    if bits != int(bits) or not 1 <= bits <= 32:
        raise WorkloadError(f"bit_width must be an integer in 1..32, got {bits}", source=src,
                            key=key)
    b, narrow = int(bits), int(node.attrs.get("narrow", 0))
    if int(node.attrs.get("signed", 1)):
        lo, hi = -(2 ** (b - 1)) + narrow, 2 ** (b - 1) - 1
    else:
        lo, hi = 0, 2 ** b - 1 - narrow
    mode = node.attrs.get("rounding_mode", "ROUND")
    if mode not in _ROUND:
        raise WorkloadError(f"unsupported rounding_mode {mode!r}", source=src, key=key)
    s = np.asarray(scale, np.float64)
    if np.any(s == 0):
        raise WorkloadError("scale must be nonzero", source=src, key=key)
    z = np.asarray(zp, np.float64)
    q = np.clip(_ROUND[mode](x / s + z), lo, hi)
    return q - z, np.asarray(scale, np.float32), b


def _dequantize(graph: Graph, node: Node, src: str) -> tuple[np.ndarray, np.ndarray, int]:
    """DequantizeLinear of a constant integer tensor: (levels x - zp, scale, bit width)."""
    x = np.asarray(graph.weight(node.input(0)))
    scale = graph.weight(node.input(1))
    if scale is None or x.dtype.kind not in "iu":
        raise WorkloadError("needs constant integer data and scale", source=src,
                            key=node_key(node))
    zp = graph.weight(node.input(2))
    axis = int(node.attrs.get("axis", 1))
    z = np.zeros(()) if zp is None else _per_axis(np.asarray(zp, np.int64), x.ndim, axis)
    levels = x.astype(np.int64) - z
    bits = 2 if np.all(np.abs(levels) <= 1) else 8 * x.dtype.itemsize
    return levels, _per_axis(np.asarray(scale, np.float32), x.ndim, axis), bits


def _quantize_linear(graph: Graph, node: Node, src: str) -> np.ndarray:
    """QuantizeLinear of a constant float tensor: the integer tensor (dtype of zp)."""
    x = np.asarray(graph.weight(node.input(0)), np.float64)
    scale = graph.weight(node.input(1))
    if scale is None:
        raise WorkloadError("scale must be a constant", source=src, key=node_key(node))
    zp = graph.weight(node.input(2))
    dtype = np.dtype(np.uint8) if zp is None else np.asarray(zp).dtype
    axis = int(node.attrs.get("axis", 1))
    s = _per_axis(np.asarray(scale, np.float64), x.ndim, axis)
    z = 0 if zp is None else _per_axis(np.asarray(zp, np.float64), x.ndim, axis)
    info = np.iinfo(dtype)
    return np.clip(np.round(x / s) + z, info.min, info.max).astype(dtype)


QUANTIZER_OPS = ("Quant", "QuantizeLinear", "DequantizeLinear")


def signed_bits(lo: float, hi: float) -> int:
    """The narrowest signed width (at least 2) holding every integer in [lo, hi]."""
    b = 2
    while -(2 ** (b - 1)) > lo or 2 ** (b - 1) - 1 < hi:
        b += 1
    return b


def fold_quantizer(graph: Graph, node: Node, consumers: dict[str, list[Node]],
                   src: str, clip_range: tuple[float, float] | None = None) -> None:
    """Evaluate one Quant/QuantizeLinear/DequantizeLinear of a constant (input 0 is an
    initializer with data) into an initializer named after its output; the caller drops
    the node. `clip_range`: the integer bounds of a Clip folded between QuantizeLinear and
    this DequantizeLinear (a brevitas QCDQ weight), which give its bit width."""
    out = node.outputs[0]
    if node.op == "QuantizeLinear":
        q = _quantize_linear(graph, node, src)
        graph.initializers[out] = Tensor(out, q.shape, str(q.dtype), q)
        return
    levels, scale, bits = (_quant if node.op == "Quant" else _dequantize)(graph, node, src)
    if node.op == "DequantizeLinear" and clip_range is not None:
        zp = graph.weight(node.input(2))
        z = 0.0 if zp is None else np.asarray(zp, np.float64)
        lo = float(np.min(clip_range[0] - z))
        hi = float(np.max(clip_range[1] - z))
        bits = min(bits, signed_bits(lo, hi))
    readers = consumers.get(out, [])
    if weight_readers(graph, out, readers):
        if bits > 8 or np.any(levels != np.round(levels)):
            raise WorkloadError(f"weight levels must be integers of at most 8 bits "
                                f"(bit width {bits})", source=src, key=node_key(node))
        data = levels.astype(np.int8)
        graph.initializers[out] = Tensor(out, data.shape, "int8", data,
                                         np.asarray(scale, np.float32), bits)
    else:
        real = (levels * scale).astype(np.float32)
        graph.initializers[out] = Tensor(out, real.shape, "float32", real)


def weight_readers(graph: Graph, out: str, readers: list[Node]) -> bool:
    """True if every reader of constant `out` takes it as a weight (input 1 of a
    Conv/Gemm/MatMul/ConvTranspose, W or R of a recurrent node, an Einsum operand) or
    transposes it (a Transpose of a constant, folded next, which keeps the levels for
    its own weight readers)."""
    return bool(readers) and out not in graph.outputs and all(
        (n.inputs.index(out) in WEIGHT_INPUTS.get(n.op, ())) or
        (n.op == "Transpose" and n.inputs[0] == out) for n in readers)


def transpose_quantized(graph: Graph, node: Node, readers: list[Node]) -> bool:
    """Fold a Transpose of a quantized constant keeping its levels and scale (transposed
    alike) when `weight_readers` allows; False (nothing done) otherwise."""
    t = graph.initializers.get(node.inputs[0])
    data = None if t is None else t.data
    out = node.outputs[0]
    if t is None or data is None or not t.is_quantized or \
            not weight_readers(graph, out, readers):
        return False
    perm = [int(p) for p in node.attrs.get("perm", range(data.ndim - 1, -1, -1))]
    levels = np.ascontiguousarray(np.transpose(data, perm))
    scale = None
    if t.scale is not None:
        s = np.asarray(t.scale)
        s = s.reshape((1,) * (data.ndim - s.ndim) + s.shape)
        scale = np.ascontiguousarray(np.transpose(s, perm))
    graph.initializers[out] = Tensor(out, levels.shape, t.dtype, levels, scale, t.bits)
    return True


def fold_weight_quantizers(graph: Graph, *, source: str | None = None) -> None:
    """Evaluate Quant/QuantizeLinear/DequantizeLinear of constants (in place)."""
    src = source or graph.name
    consumers = graph.consumers()
    kept: list[Node] = []
    for node in graph.nodes:
        if node.op in QUANTIZER_OPS and graph.weight(node.input(0)) is not None:
            fold_quantizer(graph, node, consumers, src)
        else:
            kept.append(node)
    graph.nodes = kept


def prune_initializers(graph: Graph) -> None:
    """Remove initializers that no node reads and that are not graph outputs."""
    used = {n for node in graph.nodes for n in node.inputs} | set(graph.outputs)
    graph.initializers = {k: t for k, t in graph.initializers.items() if k in used}
