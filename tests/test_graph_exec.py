"""The graph executor against direct numpy arithmetic and the ONNX reference runtime."""

from __future__ import annotations

import numpy as np
import pytest

from imcsim.functional.graph_exec import run_graph
from imcsim.workload.graph import Graph, Node, Tensor


def _conv_graph(stride=1, pads=(1, 1, 1, 1), group=1, pool=None) -> Graph:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 6 // group, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    nodes = [Node("c", "Conv", ["x", "w", "b"], ["y"],
                  {"strides": [stride, stride], "pads": list(pads), "group": group}),
             Node("r", "Relu", ["y"], ["z"])]
    out = "z"
    if pool:
        nodes.append(Node("p", pool, ["z"], ["o"], {"kernel_shape": [3, 3], "strides": [2, 2],
                                                    "ceil_mode": 1}))
        out = "o"
    return Graph("t", [Tensor("x", (1, 6, 7, 7))], [out], nodes,
                 {"w": Tensor("w", w.shape, data=w), "b": Tensor("b", b.shape, data=b)})


def _direct_conv(x, w, b, stride, pad, group):
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - 3) // stride + 1, (wd + 2 * pad - 3) // stride + 1
    out = np.zeros((n, w.shape[0], oh, ow))
    per_out, per_in = w.shape[0] // group, c // group
    for o in range(w.shape[0]):
        g = o // per_out
        for yy in range(oh):
            for xx in range(ow):
                patch = xp[:, g * per_in:(g + 1) * per_in, yy * stride:yy * stride + 3,
                           xx * stride:xx * stride + 3]
                out[:, o, yy, xx] = (patch * w[o]).sum(axis=(1, 2, 3)) + b[o]
    return out


@pytest.mark.parametrize("stride,group", [(1, 1), (2, 1), (1, 2)])
def test_conv_relu_equals_direct_sum(stride, group):
    g = _conv_graph(stride=stride, group=group)
    x = np.random.default_rng(1).standard_normal((2, 6, 7, 7))
    env = run_graph(g, {"x": x})
    ref = np.maximum(_direct_conv(x, g.initializers["w"].data.astype(float),
                                  g.initializers["b"].data.astype(float), stride, 1, group), 0)
    np.testing.assert_allclose(env["z"], ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("pool", ["MaxPool", "AveragePool"])
def test_matches_onnx_reference_runtime(pool):
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    from imcsim.workload import graph_to_onnx

    g = _conv_graph(pool=pool)
    x = np.random.default_rng(2).standard_normal((1, 6, 7, 7)).astype(np.float32)
    model = graph_to_onnx(g)
    onnx.checker.check_model(model)
    ref = ReferenceEvaluator(model).run(None, {"x": x})[0]
    ours = run_graph(g, {"x": x})["o"]
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)
