"""Value-level execution of the periphery ops of any rank that `graph_exec` delegates here
(transformer-style graphs): elementwise math, LayerNormalization, Softmax, reductions and
data movement (ScatterND included), in float64 with ONNX opset-17 semantics (shape-giving inputs such as
axes, pads and starts are constants, as the importer leaves them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

_SQRT2 = math.sqrt(2.0)


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _gelu(x: np.ndarray, a: dict[str, Any]) -> np.ndarray:
    if a.get("approximate", "none") == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + _erf(x / _SQRT2))


def _hard_sigmoid(x: np.ndarray, a: dict[str, Any]) -> np.ndarray:
    return np.clip(float(a.get("alpha", 0.2)) * x + float(a.get("beta", 0.5)), 0, 1)


def _softmax(x: np.ndarray, a: dict[str, Any]) -> np.ndarray:
    axis = int(a.get("axis", -1))
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


_UNARY: dict[str, Callable[[np.ndarray, dict[str, Any]], np.ndarray]] = {
    "Erf": lambda x, a: _erf(x),
    "Gelu": _gelu,
    "HardSigmoid": _hard_sigmoid,
    "HardSwish": lambda x, a: x * np.clip(x / 6 + 0.5, 0, 1),
    "Sqrt": lambda x, a: np.sqrt(x),
    "Exp": lambda x, a: np.exp(x),
    "Log": lambda x, a: np.log(x),
    "Neg": lambda x, a: -x,
    "Abs": lambda x, a: np.abs(x),
    "Reciprocal": lambda x, a: 1 / x,
    "Softmax": _softmax,
    "LogSoftmax": lambda x, a: np.log(_softmax(x, a)),
    "Softplus": lambda x, a: np.log1p(np.exp(x)),
    "Cast": lambda x, a: x,  # values stay float64 in the periphery
    "CastLike": lambda x, a: x,
    "Not": lambda x, a: np.logical_not(x).astype(np.float64),
}
_BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power,
    "Max": np.maximum, "Min": np.minimum, "Equal": np.equal, "Less": np.less,
    "Greater": np.greater,
}
_REDUCE: dict[str, Callable[..., np.ndarray]] = {
    "ReduceMean": np.mean, "ReduceSum": np.sum, "ReduceMax": np.max, "ReduceMin": np.min,
}


def _ints(v: np.ndarray | None) -> list[int]:
    return [] if v is None else [int(d) for d in np.asarray(v).ravel()]


def _layer_norm(x: np.ndarray, ins: list[np.ndarray | None], a: dict[str, Any]
                ) -> np.ndarray:
    axis = int(a.get("axis", -1)) % x.ndim
    axes = tuple(range(axis, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + float(a.get("epsilon", 1e-5)))
    if len(ins) > 1 and ins[1] is not None:
        y = y * ins[1]
    if len(ins) > 2 and ins[2] is not None:
        y = y + ins[2]
    return y


def _slice(x: np.ndarray, ins: list[np.ndarray | None]) -> np.ndarray:
    starts, ends = _ints(ins[1]), _ints(ins[2])
    axes = _ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
    steps = _ints(ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    index: list[slice] = [slice(None)] * x.ndim
    for ax, b, e, st in zip(axes, starts, ends, steps, strict=True):
        index[ax % x.ndim] = slice(b, e, st)
    return x[tuple(index)]


def _pad(x: np.ndarray, ins: list[np.ndarray | None], a: dict[str, Any]) -> np.ndarray:
    pads = _ints(ins[1])
    axes = _ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(x.ndim))
    width = [(0, 0)] * x.ndim
    for k, ax in enumerate(axes):
        width[ax % x.ndim] = (pads[k], pads[k + len(axes)])
    mode = a.get("mode", "constant")
    if mode != "constant":
        return np.pad(x, width, mode="edge" if mode == "edge" else "reflect")
    value = 0.0 if len(ins) < 3 or ins[2] is None else float(np.asarray(ins[2]).ravel()[0])
    return np.pad(x, width, constant_values=value)


def _scatter_nd(x: np.ndarray, ins: list[np.ndarray | None], a: dict[str, Any]
                ) -> np.ndarray:
    """ScatterND: out = copy of x; out[indices[i]] (op)= updates[i], in order."""
    idx, upd = np.asarray(ins[1]).astype(np.int64), np.asarray(ins[2], np.float64)
    k = idx.shape[-1]
    out = np.array(x, np.float64)
    rows = upd.reshape((-1,) + x.shape[k:])
    reduce = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}.get(
        a.get("reduction", "none"))
    for where, value in zip(idx.reshape(-1, k), rows, strict=True):
        at = tuple(int(i) for i in where)
        out[at] = value if reduce is None else reduce(out[at], value)
    return out


def run_nd_op(op: str, ins: list[np.ndarray | None], a: dict[str, Any], n_out: int = 1
              ) -> list[np.ndarray] | None:
    """The `n_out` outputs of `op` on inputs `ins` (None: omitted), or None if `op` is not
    one of the ops handled here."""
    x = ins[0]
    assert x is not None  # every op here reads input 0
    if op in _UNARY:
        return [_UNARY[op](x, a)]
    if op in _BINARY:
        assert ins[1] is not None
        return [_BINARY[op](x, ins[1]).astype(np.float64)]
    if op == "Where":
        yes, no = ins[1], ins[2]
        assert yes is not None and no is not None
        return [np.asarray(np.where(x, yes, no), np.float64)]
    if op in _REDUCE:
        axes = a.get("axes")
        return [_REDUCE[op](x, axis=None if axes is None else tuple(int(v) for v in axes),
                            keepdims=bool(a.get("keepdims", 1)))]
    if op == "LayerNormalization":
        return [_layer_norm(x, ins, a)]
    if op == "Transpose":
        perm = a.get("perm")
        return [np.transpose(x, None if perm is None else [int(p) for p in perm])]
    if op == "Unsqueeze":
        out = x
        for ax in sorted(v % (x.ndim + len(_ints(ins[1]))) for v in _ints(ins[1])):
            out = np.expand_dims(out, ax)
        return [out]
    if op == "Squeeze":
        axes = _ints(ins[1]) if len(ins) > 1 else []
        return [np.squeeze(x, axis=tuple(axes) if axes else None)]
    if op == "Expand":
        shape = _ints(ins[1])
        return [x * np.ones(shape)]
    if op == "Slice":
        return [_slice(x, ins)]
    if op == "Pad":
        return [_pad(x, ins, a)]
    if op == "Gather":
        assert ins[1] is not None
        return [np.take(x, np.asarray(ins[1]).astype(np.int64), axis=int(a.get("axis", 0)))]
    if op == "Split":
        axis = int(a.get("axis", 0))
        sizes = _ints(ins[1]) if len(ins) > 1 and ins[1] is not None else None
        if sizes is None:
            return list(np.split(x, n_out, axis=axis))
        return list(np.split(x, np.cumsum(sizes)[:-1], axis=axis))
    if op == "Tile":
        return [np.tile(x, _ints(ins[1]))]
    if op == "ScatterND":
        return [_scatter_nd(x, ins, a)]
    return None
