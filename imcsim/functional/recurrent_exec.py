"""Value-level LSTM, GRU and RNN for `graph_exec` (ONNX semantics, `workload.recurrent`),
numpy only. The input products of every step and direction go through the linear hook
at once (layer "<node>.W"), the recurrent products step by step (layer "<node>.R", per
direction), so a noisy or bit-exact hook sees the layers `lower` maps. Per step (f, g, h
the node's activation functions; clip, when set, bounds every gate input):

* LSTM (gates i, o, f, c): i = f(X W_i + H R_i + b_i + P_i (.) C), f likewise with P_f,
  c~ = g(X W_c + H R_c + b_c), C' = f (.) C + i (.) c~, o = f(X W_o + H R_o + b_o + P_o
  (.) C'), H' = o (.) h(C');
* GRU (z, r, h): z = f(..), r = f(..), h~ = g(X W_h + (r (.) H) R_h + b_h) or, with
  linear_before_reset, g(X W_h + r (.) (H R_h + Rb_h) + Wb_h); H' = (1 - z) (.) h~ + z
  (.) H;
* RNN: H' = f(X W + H R + b).

The reverse direction runs the steps backwards. sequence_lens shorter than the sequence
are refused (every sequence runs all steps). An initial state of batch 1 is broadcast
to the batch (the exporters fold it for batch 1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imcsim.errors import WorkloadError
from imcsim.functional.linear import LinearCall, LinearHook, QuantInfo, part_weights
from imcsim.workload.graph import Graph, Node, node_key
from imcsim.workload.recurrent import Recurrent, recurrent_spec
from imcsim.workload.weight_parts import recurrent_parts

Fn = Callable[[np.ndarray], np.ndarray]
# name -> (uses alpha, uses beta, default alpha, default beta, function of (x, alpha, beta))
_FUNCTIONS: dict[str, tuple[bool, bool, float | None, float | None,
                            Callable[[np.ndarray, float, float], np.ndarray]]] = {
    "Sigmoid": (False, False, None, None, lambda x, a, b: 1 / (1 + np.exp(-x))),
    "Tanh": (False, False, None, None, lambda x, a, b: np.tanh(x)),
    "Relu": (False, False, None, None, lambda x, a, b: np.maximum(x, 0)),
    "LeakyRelu": (True, False, 0.01, None, lambda x, a, b: np.where(x >= 0, x, a * x)),
    "ThresholdedRelu": (True, False, 1.0, None, lambda x, a, b: np.where(x > a, x, 0.0)),
    "HardSigmoid": (True, True, 0.2, 0.5, lambda x, a, b: np.clip(a * x + b, 0, 1)),
    "Elu": (True, False, 1.0, None, lambda x, a, b: np.where(x >= 0, x, a * np.expm1(x))),
    "Softsign": (False, False, None, None, lambda x, a, b: x / (1 + np.abs(x))),
    "Softplus": (False, False, None, None, lambda x, a, b: np.logaddexp(0, x)),
    "Affine": (True, True, None, None, lambda x, a, b: a * x + b),
    "ScaledTanh": (True, True, None, None, lambda x, a, b: a * np.tanh(b * x)),
}


def _functions(node: Node, spec: Recurrent, src: str) -> list[Fn]:
    """The activation functions, alpha/beta consumed in order by the functions that take
    them (as onnxruntime reads activation_alpha / activation_beta)."""
    alphas = [float(v) for v in node.attrs.get("activation_alpha", [])]
    betas = [float(v) for v in node.attrs.get("activation_beta", [])]
    out: list[Fn] = []
    for name in spec.activations:
        use_a, use_b, da, db, fn = _FUNCTIONS[name]
        a = (alphas.pop(0) if alphas else da) if use_a else 0.0
        b = (betas.pop(0) if betas else db) if use_b else 0.0
        if a is None or b is None:
            raise WorkloadError(f"activation {name} needs activation_alpha and "
                                f"activation_beta", source=src, key=node_key(node))
        out.append(_bound(fn, a, b))
    return out


def _bound(fn: Callable[[np.ndarray, float, float], np.ndarray], a: float, b: float) -> Fn:
    return lambda x: fn(x, a, b)


def _state(value: np.ndarray | None, spec: Recurrent, d: int) -> np.ndarray:
    """Direction d's initial state [batch, H] (zeros when omitted; batch 1 broadcast)."""
    if value is None:
        return np.zeros((spec.batch, spec.hidden))
    v = np.asarray(value, np.float64)
    v = v[d] if spec.layout == 0 else v[:, d]
    return np.broadcast_to(v, (spec.batch, spec.hidden)).copy()


def run_recurrent(graph: Graph, node: Node, env: dict[str, np.ndarray], hook: LinearHook,
                  quant: dict[str, QuantInfo], src: str) -> list[np.ndarray]:
    """The outputs (Y, Y_h and, for an LSTM, Y_c) of recurrent `node`."""
    ins = [None if not n else np.asarray(env[n], np.float64) for n in node.inputs]
    ins += [None] * (8 - len(ins))
    x = ins[0]
    assert x is not None
    shapes = [None if v is None or k in (4, 5, 6) else v.shape for k, v in enumerate(ins)]
    spec = recurrent_spec(node, shapes, src)
    lens = ins[4]
    if lens is not None and np.any(lens != spec.seq):
        raise WorkloadError(f"sequence_lens {lens.astype(int).tolist()} shorter than the "
                            f"sequence ({spec.seq}) are not supported", source=src,
                            key=node_key(node))
    seq_first = x if spec.layout == 0 else x.swapaxes(0, 1)  # [seq, batch, I]
    parts = recurrent_parts(node, spec)
    w = part_weights(graph, node, parts[0], env, src)
    gh = spec.gates * spec.hidden
    xw = hook(LinearCall(node, seq_first.reshape(spec.rows, spec.inputs), w.real, w.levels,
                         w.scale, quant.get(node.inputs[0]), 0, parts[0].name))  # rows step-major
    xw = xw.reshape(spec.seq, spec.batch, spec.directions, gh)
    bias = ins[3] if ins[3] is not None else np.zeros((spec.directions, 2 * gh))
    acts = _functions(node, spec, src)
    per = len(acts) // spec.directions
    clip = spec.clip
    ys, hs, cs = [], [], []
    for d in range(spec.directions):
        r = part_weights(graph, node, parts[1 + d], env, src)
        h, c = _state(ins[5], spec, d), _state(ins[6] if node.op == "LSTM" else None, spec, d)
        fns = acts[d * per:(d + 1) * per]

        def cut(v: np.ndarray) -> np.ndarray:
            return v if clip is None else np.clip(v, -clip, clip)

        def recur(rows: np.ndarray, r=r, d=d) -> np.ndarray:
            return hook(LinearCall(node, rows, r.real, r.levels, r.scale, None, 0,
                                   parts[1 + d].name, inputs=spec.batch))

        backwards = spec.direction == "reverse" or d == 1
        steps = range(spec.seq - 1, -1, -1) if backwards else range(spec.seq)
        out = np.empty((spec.seq, spec.batch, spec.hidden))
        wb, rb = bias[d, :gh], bias[d, gh:]
        for t in steps:
            xt = xw[t, :, d]
            if node.op == "LSTM":
                h, c = _lstm_step(xt, recur(h), wb + rb, h, c, ins[7], d, fns, cut)
            elif node.op == "GRU":
                h = _gru_step(xt, recur, wb, rb, h, spec, fns, cut)
            else:
                h = fns[0](cut(xt + recur(h) + wb + rb))
            out[t] = h
        ys.append(out)
        hs.append(h)
        cs.append(c)
    y, yh, yc = np.stack(ys, axis=1), np.stack(hs), np.stack(cs)
    if spec.layout == 1:
        y, yh, yc = y.transpose(2, 0, 1, 3), yh.swapaxes(0, 1), yc.swapaxes(0, 1)
    return [y, yh, yc][:len(node.outputs)]


def _lstm_step(xt: np.ndarray, ht: np.ndarray, b: np.ndarray, h: np.ndarray,
               c: np.ndarray, peep: np.ndarray | None, d: int, fns: list[Fn],
               cut: Fn) -> tuple[np.ndarray, np.ndarray]:
    f_act, g_act, h_act = fns
    i, o, f, cc = np.split(xt + ht + b, 4, axis=-1)
    p_i, p_o, p_f = (0.0, 0.0, 0.0) if peep is None else np.split(peep[d], 3)
    i = f_act(cut(i + p_i * c))
    f = f_act(cut(f + p_f * c))
    c_new = f * c + i * g_act(cut(cc))
    o = f_act(cut(o + p_o * c_new))
    return o * h_act(c_new), c_new


def _gru_step(xt: np.ndarray, recur: Callable[[np.ndarray], np.ndarray], wb: np.ndarray,
              rb: np.ndarray, h: np.ndarray, spec: Recurrent, fns: list[Fn],
              cut: Fn) -> np.ndarray:
    f_act, g_act = fns
    hh = spec.hidden
    rec = recur(h)
    z = f_act(cut(xt[:, :hh] + rec[:, :hh] + wb[:hh] + rb[:hh]))
    r = f_act(cut(xt[:, hh:2 * hh] + rec[:, hh:2 * hh] + wb[hh:2 * hh] + rb[hh:2 * hh]))
    if spec.linear_before_reset:
        pre = xt[:, 2 * hh:] + r * (rec[:, 2 * hh:] + rb[2 * hh:]) + wb[2 * hh:]
    else:
        pre = xt[:, 2 * hh:] + recur(r * h)[:, 2 * hh:] + wb[2 * hh:] + rb[2 * hh:]
    return (1 - z) * g_act(cut(pre)) + z * h
