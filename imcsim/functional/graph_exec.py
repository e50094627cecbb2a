"""Value-level execution of a network graph (numpy, NCHW, any batch size).

Every weight layer (Conv 1-D and 2-D, Gemm, MatMul with a weight initializer, and the
layers of ConvTranspose, LSTM/GRU/RNN and Einsum with a constant operand: `weight_ops`,
`recurrent_exec`) goes through a `linear` hook, so the same executor runs the exact
float/integer reference, the bit-exact digital in-memory path, and noisy analog or
photonic models:

    linear(call: LinearCall) -> (rows, out_channels) array

`LinearCall` carries the layer's im2col rows, the real weights, their integer levels and
per-channel scale when the weights are quantized, and how the rows were quantized when
the layer's input comes straight from a quantizer (QONNX Quant or QuantizeLinear).
Other ops (BatchNormalization, activations, pooling, Add, Concat, reshapes, quantizers,
Resize (`resize_exec`) and the transformer-style ops of `nd_ops`) run in the digital
periphery, in float64, with ONNX semantics; a MatMul of two activations (attention) goes
through a `matmul` hook (exact by default; a design may compute it on its arrays,
`linear.MatmulCall`); an Einsum of two activations is computed exactly.
"""

from __future__ import annotations

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.functional.im2col import im2col_nchw
from imcsim.functional.linear import (
    LinearCall,
    LinearHook,
    MatmulCall,
    MatmulHook,
    QuantInfo,
    exact_linear,
    exact_matmul,
)
from imcsim.functional.nd_ops import run_nd_op
from imcsim.functional.recurrent_exec import run_recurrent
from imcsim.functional.resize_exec import resize
from imcsim.functional.weight_ops import conv_transpose, einsum
from imcsim.workload.graph import Graph, Node, node_key
from imcsim.workload.recurrent import GATES
from imcsim.workload.shapes import window
from imcsim.workload.window import spatial

__all__ = ["LinearCall", "LinearHook", "MatmulCall", "MatmulHook", "QuantInfo",
           "exact_linear", "exact_matmul", "run_graph"]


def _weights(graph: Graph, node: Node, env: dict[str, np.ndarray], index: int
             ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Real weights, integer levels and per-output-channel scale (levels None if float)."""
    name = node.input(index)
    t = graph.initializers.get(name) if name else None
    if t is not None and t.is_quantized and t.data is not None:
        levels = np.asarray(t.data, dtype=np.int64)
        scale = np.asarray(t.scale if t.scale is not None else 1.0, dtype=np.float64)
        return levels * scale, levels, scale
    return np.asarray(_value(env, name), dtype=np.float64), None, None


def _per_channel(scale: np.ndarray | None, channels: int) -> np.ndarray | None:
    if scale is None:
        return None
    s = np.asarray(scale, dtype=np.float64)
    if s.size == 1:
        return np.full(channels, float(s.reshape(-1)[0]))
    return s.reshape(-1)


def _im2col(x: np.ndarray, node: Node, kernel: tuple[int, int], groups: int, src: str):
    win = window(node, x.shape[2:], kernel, src)
    cols = im2col_nchw(x, win.kernel, win.strides, win.dilations, win.pads, win.out_hw, groups)
    return cols, win.out_hw


def _pool(x: np.ndarray, node: Node, src: str, reduce: str) -> np.ndarray:
    n, c, h, w = x.shape
    ceil = bool(node.attrs.get("ceil_mode", 0))
    win = window(node, (h, w), None, src, ceil_mode=ceil)
    top, left, bottom, right = win.pads
    (kh, kw), (sh, sw), (oh, ow) = win.kernel, win.strides, win.out_hw
    extra_h = max(0, (oh - 1) * sh + kh - (h + top + bottom))
    extra_w = max(0, (ow - 1) * sw + kw - (w + left + right))
    pad_value = -np.inf if reduce == "max" else np.nan
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom + extra_h), (left, right + extra_w)),
                constant_values=pad_value)
    if reduce == "avg" and node.attrs.get("count_include_pad", 0):
        inner = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        xp = np.pad(inner, ((0, 0), (0, 0), (0, extra_h), (0, extra_w)), constant_values=np.nan)
    out = np.empty((n, c, oh, ow), dtype=np.float64)
    for yy in range(oh):
        for xx in range(ow):
            patch = xp[:, :, yy * sh:yy * sh + kh, xx * sw:xx * sw + kw]
            out[:, :, yy, xx] = (patch.max(axis=(2, 3)) if reduce == "max"
                                 else np.nanmean(patch, axis=(2, 3)))
    return out


def _quant(x: np.ndarray, scale, zp, bits: int, signed: bool, narrow: bool) -> np.ndarray:
    lo = -(2 ** (bits - 1)) + (1 if narrow else 0) if signed else 0
    hi = 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1 - (1 if narrow else 0)
    q = np.clip(np.round(x / scale + zp), lo, hi)  # round half to even, as QONNX/ONNX
    return q


def run_graph(graph: Graph, feeds: dict[str, np.ndarray], linear: LinearHook | None = None,
              source: str | None = None, matmul: MatmulHook | None = None
              ) -> dict[str, np.ndarray]:
    """Execute `graph` on `feeds` (graph input name -> array); returns every tensor.
    `linear` computes the weight layers, `matmul` the MatMuls of two activations
    (default: exact)."""
    src = source or graph.name
    hook = linear or exact_linear
    mm_hook = matmul or exact_matmul
    env: dict[str, np.ndarray] = {}
    qinfo: dict[str, QuantInfo] = {}
    for name, t in graph.initializers.items():
        if t.data is not None:
            data = np.asarray(t.data)
            if t.is_quantized and t.scale is not None:
                data = data * np.asarray(t.scale)
            env[name] = data
    for t in graph.inputs:
        if t.name in graph.initializers:
            continue
        if t.name not in feeds:
            raise WorkloadError("no data fed for graph input", source=src, key=f"input {t.name}")
        env[t.name] = np.asarray(feeds[t.name], dtype=np.float64)
    for node in graph.nodes:
        try:
            outs = _run_node(graph, node, env, qinfo, hook, src, mm_hook)
        except WorkloadError:
            raise
        except (ValueError, IndexError, KeyError) as exc:
            raise WorkloadError(f"cannot execute: {exc}", source=src, key=node_key(node)) from None
        for name, value in zip(node.outputs, outs, strict=False):
            env[name] = value
    return env


def _value(env: dict[str, np.ndarray], name: str | None) -> np.ndarray:
    """env[name]; an omitted input (None) is a missing key like any other."""
    if name is None:
        raise KeyError(name)
    return env[name]


def _run_node(graph: Graph, node: Node, env: dict[str, np.ndarray],
              qinfo: dict[str, QuantInfo], hook: LinearHook, src: str,
              mm_hook: MatmulHook = exact_matmul) -> list[np.ndarray]:
    op, a = node.op, node.attrs
    if op == "Constant":
        return [np.asarray(a["value"])]
    if op in ("Add", "Sum"):
        total = env[node.inputs[0]]
        for name in node.inputs[1:]:
            total = total + env[name]
        return [total]
    if op == "Concat":
        return [np.concatenate([env[n] for n in node.inputs], axis=int(a.get("axis", 1)))]
    # every other op reads input 0
    x_name = node.input(0)
    if x_name is None:
        raise KeyError(x_name)  # reported as "cannot execute", as any missing input
    x = env[x_name]
    if op == "Conv":
        w_real, levels, scale = _weights(graph, node, env, 1)
        groups = int(a.get("group", 1))
        cout = w_real.shape[0]
        flat, _ = spatial(node, x.shape, src)  # a 1-D Conv runs as 2-D over height 1
        x4 = x if x.ndim == 4 else x[:, :, None, :]
        kernel = w_real.shape[2:] if w_real.ndim == 4 else (1, w_real.shape[2])
        cols, (oh, ow) = _im2col(x4, flat, kernel, groups, src)
        n = x.shape[0]
        per_group = cout // groups
        out = np.empty((n * oh * ow, cout))
        s = _per_channel(scale, cout)
        xq = qinfo.get(x_name)
        for g in range(groups):
            ch = slice(g * per_group, (g + 1) * per_group)
            call = LinearCall(node, cols[g], w_real[ch].reshape(per_group, -1),
                              None if levels is None else levels[ch].reshape(per_group, -1),
                              None if s is None else s[ch], xq, g, inputs=n)
            out[:, ch] = hook(call)
        y = out.reshape(n, oh, ow, cout).transpose(0, 3, 1, 2)
        if node.input(2):
            y = y + _value(env, node.input(2)).reshape(1, -1, 1, 1)
        return [y if x.ndim == 4 else y[:, :, 0, :]]
    if op == "ConvTranspose":
        return [conv_transpose(graph, node, env, hook, qinfo.get(x_name), src)]
    if op == "Einsum":
        return [einsum(graph, node, env, hook, qinfo, src)]
    if op in GATES:
        return run_recurrent(graph, node, env, hook, qinfo, src)
    if op == "Resize":
        return [resize(graph, node, x, src)]
    if op == "MatMul" and node.input(1) not in graph.initializers:  # two activations
        b_name = node.input(1)
        return [mm_hook(MatmulCall(node, x, _value(env, b_name), qinfo.get(x_name),
                                   qinfo.get(b_name or "")))]
    if op in ("Gemm", "MatMul"):
        wname = node.input(1)
        if wname not in graph.initializers:
            raise WorkloadError("the second input must be a weight initializer", source=src,
                                key=node_key(node))
        w_real, levels, scale = _weights(graph, node, env, 1)
        xm = x.reshape(x.shape[0], -1) if op == "Gemm" else x
        if op == "Gemm" and a.get("transA", 0):
            xm = xm.T
        trans_b = op == "Gemm" and a.get("transB", 0)
        w2 = w_real if trans_b else w_real.T  # (O, F)
        lv = None if levels is None else (levels if trans_b else levels.T)
        s = _per_channel(scale, w2.shape[0])
        alpha = float(a.get("alpha", 1.0)) if op == "Gemm" else 1.0
        lead = xm.shape[:-1]
        rows = xm.reshape(-1, xm.shape[-1])
        transposed = op == "Gemm" and a.get("transA", 0)
        inputs = int(x.shape[0]) if x.ndim > 1 and not transposed else 0
        y = hook(LinearCall(node, rows, w2, lv, s, qinfo.get(x_name), inputs=inputs)) * alpha
        y = y.reshape(*lead, w2.shape[0])
        if op == "Gemm" and node.input(2):
            y = y + float(a.get("beta", 1.0)) * _value(env, node.input(2))
        return [y]
    if op == "BatchNormalization":
        scale, bias, mean, var = (_value(env, node.input(i)) for i in range(1, 5))
        eps = float(a.get("epsilon", 1e-5))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        k = (scale / np.sqrt(var + eps)).reshape(shape)
        return [(x - mean.reshape(shape)) * k + bias.reshape(shape)]
    if op == "Relu":
        return [np.maximum(x, 0)]
    if op == "LeakyRelu":
        return [np.where(x >= 0, x, float(a.get("alpha", 0.01)) * x)]
    if op == "Sigmoid":
        return [1 / (1 + np.exp(-x))]
    if op == "Tanh":
        return [np.tanh(x)]
    if op == "Clip":
        lo = _value(env, node.input(1)) if node.input(1) else a.get("min", -np.inf)
        hi = _value(env, node.input(2)) if node.input(2) else a.get("max", np.inf)
        return [np.clip(x, lo, hi)]
    if op in ("MaxPool", "AveragePool"):
        flat, _ = spatial(node, x.shape, src)
        y = _pool(x if x.ndim == 4 else x[:, :, None, :], flat, src,
                  "max" if op == "MaxPool" else "avg")
        return [y if x.ndim == 4 else y[:, :, 0, :]]
    if op == "GlobalAveragePool":
        return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)]
    if op == "GlobalMaxPool":
        return [x.max(axis=tuple(range(2, x.ndim)), keepdims=True)]
    if op == "ReduceMean":
        axes = tuple(a.get("axes", range(1, x.ndim)))
        return [x.mean(axis=axes, keepdims=bool(a.get("keepdims", 1)))]
    if op == "Flatten":
        axis = int(a.get("axis", 1))
        return [x.reshape(int(np.prod(x.shape[:axis])), -1)]
    if op == "Reshape":
        dims = [int(v) for v in _value(env, node.input(1))]
        dims = [x.shape[i] if v == 0 else v for i, v in enumerate(dims)]
        return [x.reshape(dims)]
    if op in ("Identity", "Dropout"):
        return [x]
    if op == "Quant":  # QONNX: inputs x, scale, zero_point, bit_width
        scale, zp = _value(env, node.input(1)), _value(env, node.input(2))
        bits = int(_value(env, node.input(3)))
        signed, narrow = bool(a.get("signed", 1)), bool(a.get("narrow", 0))
        q = _quant(x, scale, zp, bits, signed, narrow)
        qinfo[node.outputs[0]] = QuantInfo(np.asarray(scale), np.asarray(zp), bits, signed)
        return [(q - zp) * scale]
    if op == "QuantizeLinear":
        scale = _value(env, node.input(1))
        zp = _value(env, node.input(2)) if node.input(2) else np.zeros(())
        signed = np.asarray(zp).dtype.kind == "i" if node.input(2) else False
        q = _quant(x, scale, zp, 8, signed, False)
        qinfo[node.outputs[0]] = QuantInfo(np.asarray(scale), np.asarray(zp), 8, signed)
        return [q]
    if op == "DequantizeLinear":
        scale = _value(env, node.input(1))
        zero = _value(env, node.input(2)) if node.input(2) else 0
        if x_name in qinfo:  # Q then DQ: the output is real = scale (q - zp)
            qinfo[node.outputs[0]] = qinfo[x_name]
        return [(x - zero) * scale]
    outs = run_nd_op(op, [_value(env, n) if n else None for n in node.inputs], a,
                     len(node.outputs))
    if outs is not None:
        return outs
    raise WorkloadError(f"operator {op} cannot be executed", source=src, key=node_key(node))
