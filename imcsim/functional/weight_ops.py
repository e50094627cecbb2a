"""Value-level ConvTranspose and Einsum for `graph_exec`, their products through the
linear hook in the arrangement `lower` maps (see `workload.weight_parts`).

ConvTranspose in scatter form: each input pixel's channels times the (g O/g kh kw, C/g)
weight rows give every tap's contribution (the hook), then col2im adds the contribution
of input pixel (y, x) and tap (ky, kx) into output (y s_h + ky d_h - pad_top, x s_w +
kx d_w - pad_left), the positions outside the output dropped:

    Y[n, o, p, q] = B[o] + sum_{c in group(o), y, x, ky, kx} X[n, c, y, x] W[c, o', ky, kx]

An Einsum with a constant operand: the other operand's rows (its contracted index last)
through the hook, then the result's axes permuted into the output's order; two
activations: numpy's einsum, exact.
"""

from __future__ import annotations

import numpy as np

from imcsim.functional.linear import LinearCall, LinearHook, QuantInfo, part_weights
from imcsim.workload.einsum import parse, weight_view
from imcsim.workload.graph import Graph, Node
from imcsim.workload.weight_parts import weight_parts
from imcsim.workload.window import spatial, transpose_window


def _shapes(node: Node, env: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    return {n: tuple(np.shape(env[n])) for n in node.inputs if n}


def conv_transpose(graph: Graph, node: Node, env: dict[str, np.ndarray], hook: LinearHook,
                   x_quant: QuantInfo | None, src: str) -> np.ndarray:
    """ConvTranspose of input 0 (rank 3 or 4) by the weight input 1 (+ bias input 2)."""
    x = env[node.inputs[0]]
    flat, in_hw = spatial(node, x.shape, src)
    (part,) = weight_parts(graph, node, _shapes(node, env), src)
    pw = part_weights(graph, node, part, env, src)
    x4 = x if x.ndim == 4 else x[:, :, None, :]
    n, c, h, w = x4.shape
    groups = part.groups
    cg, per = c // groups, pw.real.shape[0] // groups
    rows = x4.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    taps = np.empty((n * h * w, groups * per))
    for g in range(groups):
        ch = slice(g * per, (g + 1) * per)
        taps[:, ch] = hook(LinearCall(
            node, rows[:, g * cg:(g + 1) * cg], pw.real[ch],
            None if pw.levels is None else pw.levels[ch],
            None if pw.scale is None else pw.scale[ch], x_quant, g, inputs=n))
    weight = np.shape(env[node.inputs[1]])
    kh, kw = (1, weight[2]) if len(weight) == 3 else (weight[2], weight[3])
    win = transpose_window(flat, in_hw, (kh, kw), src)
    out_ch = per * groups // (kh * kw)
    contrib = taps.reshape(n, h, w, out_ch, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    (sh, sw), (dh, dw) = win.strides, win.dilations
    top, left = win.pads[0], win.pads[1]
    oh, ow = win.out_hw
    off_h, off_w = max(0, -top), max(0, -left)
    full_h = off_h + max((h - 1) * sh + (kh - 1) * dh + 1, top + oh)
    full_w = off_w + max((w - 1) * sw + (kw - 1) * dw + 1, left + ow)
    buf = np.zeros((n, out_ch, full_h, full_w))
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = off_h + ky * dh, off_w + kx * dw
            buf[:, :, y0:y0 + (h - 1) * sh + 1:sh, x0:x0 + (w - 1) * sw + 1:sw] += \
                contrib[:, :, ky, kx]
    y = buf[:, :, off_h + top:off_h + top + oh, off_w + left:off_w + left + ow]
    if node.input(2):
        y = y + np.asarray(env[node.inputs[2]]).reshape(1, -1, 1, 1)
    return y if x.ndim == 4 else y[:, :, 0, :]


def einsum(graph: Graph, node: Node, env: dict[str, np.ndarray], hook: LinearHook,
           quant: dict[str, QuantInfo], src: str) -> np.ndarray:
    """Einsum of a matrix-product equation (see `workload.einsum`)."""
    a, b = (np.asarray(env[n], np.float64) for n in node.inputs[:2])
    c = parse(node, [a.shape, b.shape], src)
    view = weight_view(node, c, (graph.weight(node.input(0)) is not None,
                                 graph.weight(node.input(1)) is not None), src)
    if view is None:
        return np.einsum(f"{c.operands[0]},{c.operands[1]}->{c.output}", a, b)
    (part,) = weight_parts(graph, node, _shapes(node, env), src)
    pw = part_weights(graph, node, part, env, src)
    act_name = node.inputs[1 - view.weight]
    act, letters = (a, b)[1 - view.weight], c.operands[1 - view.weight]
    k = next(x for x in letters if x in c.contracted)
    rest = "".join(x for x in letters if x != k)
    rows = np.einsum(f"{letters}->{rest}{k}", act).reshape(-1, view.in_features)
    y = hook(LinearCall(node, rows, pw.real, pw.levels, pw.scale, quant.get(act_name)))
    free = next(x for x in c.operands[view.weight] if x != k)
    shaped = y.reshape(*(c.sizes[x] for x in rest), view.out_features)
    return np.einsum(f"{rest}{free}->{c.output}", shaped)
