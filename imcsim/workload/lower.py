"""Lower a `Graph` to the flat list of weight layers (`ComputeLayer`) hardware sees.

Each Conv, Gemm and MatMul-with-weight-initializer becomes one ComputeLayer, in node
order. A Gemm/MatMul is kind "fc": a 1x1 convolution over an R x 1 input, R its
activation rows (1 for a CNN classifier; batch x sequence for a Linear on [batch, seq,
d], whose weights stay stationary while the rows stream), weights stored as (out, in, 1,
1). A 1-D Conv is a 2-D one over a 1 x L input with (1, k) kernels. ConvTranspose,
LSTM/GRU/RNN and an Einsum with a constant operand become the layers `weight_parts`
describes (a ConvTranspose one 1x1 convolution in scatter form; a recurrent node a W
layer and one R layer per direction; an Einsum an fc layer). BatchNormalization, Relu,
Add, the pools and every other op do not become ComputeLayers: they run in the digital
periphery (their cost belongs to the mapping); `op_kinds` says what they compute,
including the Gemm/MatMul/Einsum of two activations (attention), which no design runs
yet.

Weights: an initializer that is already quantized (integer levels with `bits`, see
`graph`) keeps its levels and scale; a float one goes through `quantize`. A weight shared
by several nodes (an unrolled RNN) is quantized once and its arrays are shared.

BatchNormalization folding: when a Conv/Gemm/MatMul output feeds only a
BatchNormalization with constant parameters, the BN multiplier m = gamma / sqrt(var +
eps) is folded into the layer's per-output-channel scale (scale[o] *= m[o]) and the layer
gets a bias; the integer levels, hence their zeros, are untouched. Gemm's alpha is folded
into the scale the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.workload.builder import HeWeight
from imcsim.workload.graph import Graph, Node, Tensor
from imcsim.workload.layer import ComputeLayer
from imcsim.workload.op_kinds import is_weight_layer
from imcsim.workload.parallel import map_ordered
from imcsim.workload.quantize import LARGE
from imcsim.workload.recurrent import GATES
from imcsim.workload.shapes import Shape, infer_shapes, node_key, window
from imcsim.workload.weight_parts import WeightPart, part_scale, weight_parts
from imcsim.workload.window import spatial

Quantizer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
_Levels = tuple[np.ndarray, np.ndarray, int]  # levels (O, I, kh, kw), scale (O,), bits


def _need_tensor(graph: Graph, node: Node, i: int, src: str) -> tuple[Tensor, np.ndarray]:
    """The initializer read by input `i` and its data (read once: a deferred zoo weight
    is drawn on each read, see `builder.HeWeight`)."""
    t = graph.initializers.get(node.input(i) or "")
    data = None if t is None else t.data
    if t is None or data is None:
        raise WorkloadError(f"weight input {node.input(i)!r} must be an initializer with data",
                            source=src, key=node_key(node))
    return t, data


def _fc_transposed(node: Node) -> bool:
    """True if the weight B is stored (K, N) and must be transposed to (out, in)."""
    return not (node.op == "Gemm" and int(node.attrs.get("transB", 0)))


def out_channel_scale(scale: np.ndarray | None, shape: tuple[int, ...], out_axis: int,
                      src: str, key: str) -> np.ndarray:
    """A tensor scale broadcastable to `shape` as a (shape[out_axis],) float32 vector.

    Raises WorkloadError if the scale varies along any other axis than `out_axis`.
    """
    n = shape[out_axis]
    if scale is None:
        return np.ones(n, np.float32)
    s = np.asarray(scale, dtype=np.float32)
    if s.ndim > len(shape):
        raise WorkloadError(f"scale of rank {s.ndim} for a rank-{len(shape)} weight",
                            source=src, key=key)
    s = np.reshape(s, (1,) * (len(shape) - s.ndim) + s.shape)
    for ax, (d, full) in enumerate(zip(s.shape, shape, strict=True)):
        if d != 1 and (ax != out_axis or d != full):
            raise WorkloadError(f"weight scale of shape {list(scale.shape)} must vary only "
                                f"along the output-channel axis {out_axis} of {list(shape)}",
                                source=src, key=key)
    return np.ascontiguousarray(np.broadcast_to(s.reshape(-1), (n,)), dtype=np.float32)


def _levels(graph: Graph, node: Node, shapes: dict[str, Shape], quantize: Quantizer,
            weight_bits: int, src: str) -> _Levels:
    """Levels in (out, in/groups, kh, kw) layout, per-out-channel scale and bit width."""
    streamed = _levels_by_blocks(graph, node, quantize, weight_bits)
    if streamed is not None:
        return streamed
    t, data = _need_tensor(graph, node, 1, src)
    key = node_key(node)
    if node.op == "Conv":
        w, out_axis, transpose = data, 0, False
    else:
        transpose = _fc_transposed(node)
        w, out_axis = (data.T if transpose else data), (1 if transpose else 0)
    t_scale = out_channel_scale(t.scale, data.shape, out_axis, src, key)
    if w.ndim == 2:
        w = w[:, :, None, None]
    elif w.ndim == 3:  # a 1-D Conv: (out, in/g, k) -> (out, in/g, 1, k)
        w = w[:, :, None, :]
    return _quantized(t, data, w, t_scale, quantize, weight_bits, src, key)


def _part_levels(graph: Graph, node: Node, part: WeightPart, quantize: Quantizer,
                 weight_bits: int, src: str) -> _Levels:
    """Levels, per-row scale and bits of one `WeightPart` (see `weight_parts`)."""
    t, data = _need_tensor(graph, node, part.input, src)
    key = node_key(node)
    t_scale = part_scale(t.scale if t.is_quantized else None, data.shape, part, src, key)
    return _quantized(t, data, part.arrange(np.asarray(data)), t_scale, quantize,
                      weight_bits, src, key)


def _quantized(t: Tensor, data: np.ndarray, w: np.ndarray, t_scale: np.ndarray,
               quantize: Quantizer, weight_bits: int, src: str, key: str) -> _Levels:
    """A weight `w` in (out, in/g, kh, kw) layout as levels, per-out scale and bits: the
    file's levels if quantized (times `t_scale`), else `quantize`'s."""
    if t.is_quantized:
        if not np.issubdtype(data.dtype, np.integer):
            raise WorkloadError(f"quantized weight {t.name!r} must hold integer levels, got "
                                f"{data.dtype}", source=src, key=key)
        levels, scale, bits = np.asarray(w, dtype=np.int8), t_scale, int(t.bits or 8)
        if not np.array_equal(levels, w):
            raise WorkloadError(f"levels of {t.name!r} do not fit in int8", source=src, key=key)
    else:
        levels, alpha = quantize(np.ascontiguousarray(w))
        levels, alpha = np.asarray(levels), np.asarray(alpha)
        if levels.shape != w.shape or alpha.shape != (w.shape[0],):
            raise WorkloadError(f"quantizer returned levels {levels.shape} / scale "
                                f"{alpha.shape}, expected {w.shape} / ({w.shape[0]},)",
                                source=src, key=key)
        scale, bits = (alpha * t_scale).astype(np.float32), weight_bits
    return np.ascontiguousarray(levels), scale, bits


def _levels_by_blocks(graph: Graph, node: Node, quantize: Quantizer, weight_bits: int
                      ) -> _Levels | None:
    """A large deferred zoo weight (drawn on demand, `builder.HeWeight`, stored (out, ...))
    quantized from blocks of its rows, when the quantizer works that way (TWN): the float
    tensor is never held whole. None where this does not apply."""
    t = graph.initializers.get(node.input(1) or "")
    by_blocks = getattr(quantize, "by_blocks", None)
    if not isinstance(t, HeWeight) or by_blocks is None or not t.deferred or \
            node.op not in ("Conv", "Gemm", "MatMul"):
        return None
    shape = t.draw_args[2]
    if math.prod(shape) <= LARGE or (node.op != "Conv" and _fc_transposed(node)):
        return None
    rest = math.prod(shape[1:])
    levels, alpha = by_blocks(t.block, t.blocks, (shape[0], rest))
    full = shape if len(shape) == 4 else (shape[0], rest, 1, 1)
    return levels.reshape(full), np.asarray(alpha, np.float32), weight_bits


def _bn_multiplier(graph: Graph, node: Node, consumers: dict[str, list[Node]],
                   src: str) -> np.ndarray | None:
    """gamma / sqrt(var + eps) of the BatchNormalization that alone reads `node`'s output."""
    out = node.outputs[0]
    readers = consumers.get(out, [])
    if out in graph.outputs or len(readers) != 1 or readers[0].op != "BatchNormalization":
        return None
    bn = readers[0]
    if bn.inputs[0] != out:
        return None
    params = [graph.weight(bn.input(i)) for i in (1, 4)]
    if any(p is None for p in params):
        return None
    gamma, var = (np.asarray(p, np.float64) for p in params)
    eps = float(bn.attrs.get("epsilon", 1e-5))
    if np.any(var + eps <= 0):
        raise WorkloadError("running variance + epsilon must be positive", source=src,
                            key=node_key(bn))
    return gamma / np.sqrt(var + eps)


def fc_rows(node: Node, shapes: dict[str, Shape]) -> int:
    """Activation rows of a Gemm/MatMul weight layer: Gemm's M; for MatMul the product of
    every axis of the activation but the last (batch x sequence for [batch, seq, d])."""
    a = shapes[node.inputs[0]]
    if node.op == "Gemm":
        return a[1] if int(node.attrs.get("transA", 0)) else a[0]
    return math.prod(a[:-1])


def _geometry(graph: Graph, node: Node, shapes: dict[str, Shape], src: str) -> tuple | None:
    """(kind, groups, in_ch, in_hw, (kernel, strides, pads, dilations, out_hw)) of a
    weight layer; None for other nodes (a Gemm/MatMul of two activations included). A
    Gemm/MatMul over R activation rows is a 1x1 convolution over an R x 1 input."""
    if not is_weight_layer(graph, node, src):
        return None
    if node.op == "Conv":
        x, w = shapes[node.inputs[0]], shapes[node.inputs[1]]
        flat, in_hw = spatial(node, x, src)
        win = window(flat, in_hw, (1, w[2]) if len(w) == 3 else (w[2], w[3]), src)
        return ("conv", int(node.attrs.get("group", 1)), x[1], in_hw,
                (win.kernel, win.strides, win.pads, win.dilations, win.out_hw))
    w = shapes[node.inputs[1]]
    in_ch = w[1] if not _fc_transposed(node) else w[0]
    hw = (fc_rows(node, shapes), 1)
    return "fc", 1, in_ch, hw, ((1, 1), (1, 1), (0, 0, 0, 0), (1, 1), hw)


PART_OPS = frozenset({"ConvTranspose", "Einsum", *GATES})


def _plan_node(graph: Graph, node: Node, shapes: dict[str, Shape],
               consumers: dict[str, list[Node]], src: str) -> list[tuple]:
    """(node, layer name, geometry, cache key, Gemm alpha != 1, BN multiplier per layer
    output channel or None, WeightPart or None) of each weight layer of `node`."""
    if node.op in PART_OPS:
        items: list[tuple] = []
        for part in weight_parts(graph, node, shapes, src):
            m = None if part.channel_rows is None else \
                _bn_multiplier(graph, node, consumers, src)
            if m is not None and part.channel_rows is not None:
                m = part.channel_rows(m)
            shape = (part.kind, part.groups, part.in_channels, part.in_hw, part.window())
            items.append((node, part.name, shape, part.key, False, m, part))
        return items
    geometry = _geometry(graph, node, shapes, src)
    if geometry is None:
        return []
    ckey = f"{node.op == 'Conv'}{_fc_transposed(node)}{node.inputs[1]}"
    alpha = node.op == "Gemm" and float(node.attrs.get("alpha", 1.0)) != 1.0
    return [(node, node.name, geometry, ckey, alpha,
             _bn_multiplier(graph, node, consumers, src), None)]


def check_finite_initializers(graph: Graph, src: str) -> None:
    """Every stored float initializer (weights, biases, scales, normalisation parameters)
    and every quantization scale is finite; an error names the file and the tensor.
    Synthetic weights drawn on demand (the zoo's) are finite by construction."""
    for name, t in graph.initializers.items():
        arrays = [] if isinstance(t, HeWeight) else [("", t.data)]
        arrays.append((" scale", t.scale))
        for what, data in arrays:
            if data is None:
                continue
            a = np.asarray(data)
            if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
                raise WorkloadError(f"initializer{what} contains NaN or inf", source=src,
                                    key=f"initializer {name}")


def lower(graph: Graph, quantize: Quantizer, *, weight_bits: int = 2,
          source: str | None = None, threads: int | None = 1) -> list[ComputeLayer]:
    """Infer shapes, then turn each weight op into a ComputeLayer.

    `quantize(w)` gets a float weight in (out, in/groups, kh, kw) layout (fc: (out, in, 1, 1))
    and returns (levels, scale) with levels.shape == w.shape and scale.shape == (out,);
    its layers get `weight_bits`. Quantized initializers keep their levels and bits.

    `threads` > 1 (None: `parallel.thread_count`) quantizes the weights on a thread pool,
    largest first; `quantize` must then be thread-safe (the `quantize` module's are). The
    result, and which error is raised first, do not depend on `threads`.
    """
    src = source or graph.name
    check_finite_initializers(graph, src)
    shapes = infer_shapes(graph, source=src)
    consumers = graph.consumers()
    # Pass 1, in node order: geometry and the BN multipliers (cheap), and the first node
    # of each weight to quantize. An error stops the pass; it is raised after the weights
    # quantized before it (whose errors come first, as in a serial loop).
    plan: list[tuple] = []
    firsts: dict[str, tuple[Node, WeightPart | None]] = {}
    error: Exception | None = None
    for node in graph.nodes:
        try:
            for item in _plan_node(graph, node, shapes, consumers, src):
                firsts.setdefault(item[3], (node, item[6]))
                plan.append(item)
        except Exception as e:  # re-raised below, after the earlier weights' errors
            error = e
            break
    # Pass 2: quantize each weight once (in parallel if asked), largest first.
    tasks = list(firsts.values())
    sizes = [math.prod(shapes.get(n.inputs[1 if p is None else p.input]) or ())
             for n, p in tasks]
    cache: dict[str, _Levels] = dict(zip(firsts, map_ordered(
        lambda task: _levels(graph, task[0], shapes, quantize, weight_bits, src)
        if task[1] is None else
        _part_levels(graph, task[0], task[1], quantize, weight_bits, src), tasks, sizes,
        threads), strict=True))
    if error is not None:
        raise error
    layers: list[ComputeLayer] = []
    for node, name, (kind, groups, in_ch, in_hw, win), ckey, alpha, m, part in plan:
        levels, scale, bits = cache[ckey]
        if part is None:
            has_bias = node.op != "MatMul" and node.input(2) is not None
        else:
            has_bias = part.has_bias
        if alpha:
            scale = (scale * np.float32(node.attrs["alpha"])).astype(np.float32)
        if m is not None:
            scale, has_bias = (scale * m).astype(np.float32), True
        kernel, strides, pads, dil, out_hw = win
        layers.append(ComputeLayer(
            name=name, kind=kind, in_channels=int(in_ch),
            out_channels=int(levels.shape[0]), kernel=kernel, stride=strides, padding=pads,
            dilation=dil, groups=groups, in_hw=(int(in_hw[0]), int(in_hw[1])),
            out_hw=out_hw, weights=levels, scale=scale, weight_bits=bits, has_bias=has_bias,
            op=node.op, weight_name=node.inputs[1 if part is None else part.input]))
    return layers


def quantize_graph(graph: Graph, quantize: Quantizer, *, bits: int = 2) -> Graph:
    """A copy of `graph` whose float Conv/Gemm/MatMul weights are replaced by quantized
    initializers (int8 levels, scale along the output-channel axis, `bits`), e.g. to ship
    a ternarized network as a native file. Other tensors are shared, not copied (the
    weights of ConvTranspose, LSTM/GRU/RNN and Einsum stay float: their layers' scales,
    one per lowered row, do not fit a scale along one axis of the stored tensor).
    """
    out = Graph(graph.name, list(graph.inputs), list(graph.outputs),
                [Node(n.name, n.op, list(n.inputs), list(n.outputs), dict(n.attrs))
                 for n in graph.nodes], dict(graph.initializers))
    done: set[str] = set()
    for node in graph.nodes:
        name = node.input(1)
        if node.op not in ("Conv", "Gemm", "MatMul") or name is None or name in done:
            continue
        t = graph.initializers.get(name)
        if t is None or t.is_quantized:
            continue
        data = t.data  # read once (a deferred zoo weight is drawn on each read)
        if data is None:
            continue
        transpose = node.op != "Conv" and _fc_transposed(node)
        w = data.T if transpose else data
        levels, alpha = quantize(np.ascontiguousarray(w))
        levels = np.asarray(levels, np.int8)
        alpha = np.asarray(alpha, np.float32)
        if transpose:
            levels, alpha = np.ascontiguousarray(levels.T), alpha.reshape(1, -1)
        else:
            alpha = alpha.reshape((-1,) + (1,) * (levels.ndim - 1))
        if t.scale is not None:
            alpha = (alpha * np.asarray(t.scale, np.float32)).astype(np.float32)
        out.initializers[name] = Tensor(name, levels.shape, "int8", levels, alpha, bits)
        done.add(name)
    return out
