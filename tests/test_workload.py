"""Tests of imcsim.workload: zoo totals, shapes, quantizers, statistics, errors."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imcsim.errors import UsageError, WorkloadError
from imcsim.workload import ComputeLayer, Network, load_network
from imcsim.workload.graph import Graph, Node, Tensor, trainable_parameter_count
from imcsim.workload.lower import lower
from imcsim.workload.op_kinds import graph_work
from imcsim.workload.parallel import THREADS_ENV, map_ordered, thread_count
from imcsim.workload.quantize import ternarize_to_sparsity, ternarize_twn, zero_count
from imcsim.workload.shapes import infer_shapes
from imcsim.workload.zoo import resnet18, resnet20


@pytest.fixture(scope="module")
def r18() -> Network:
    return load_network("resnet18")


@pytest.fixture(scope="module")
def r20() -> Network:
    return load_network("resnet20")


# ---------------------------------------------------------------- zoo totals and shapes


def test_resnet18_totals(r18: Network) -> None:
    assert r18.total_macs == 1_814_073_344
    assert r18.total_params == 11_689_512
    assert len(r18.layers) == 21
    assert [layer.kind for layer in r18.layers].count("fc") == 1
    assert r18.input_shape == (3, 224, 224)
    assert r18.source == "resnet18"
    assert all(isinstance(layer, ComputeLayer) for layer in r18.layers)


def test_resnet18_layer_shapes(r18: Network) -> None:
    by_name = {layer.name: layer for layer in r18.layers}
    conv1 = by_name["conv1"]
    assert (conv1.kernel, conv1.stride, conv1.padding) == ((7, 7), (2, 2), (3, 3, 3, 3))
    assert conv1.in_hw == (224, 224) and conv1.out_hw == (112, 112)
    expected_hw = {1: 56, 2: 28, 3: 14, 4: 7}
    expected_ch = {1: 64, 2: 128, 3: 256, 4: 512}
    for layer in r18.layers[1:-1]:
        stage = int(layer.name[len("layer")])
        assert layer.out_hw == (expected_hw[stage],) * 2, layer.name
        assert layer.out_channels == expected_ch[stage], layer.name
        if "downsample" in layer.name:
            assert layer.kernel == (1, 1) and layer.stride == (2, 2) and stage > 1
        else:
            assert layer.kernel == (3, 3) and layer.padding == (1, 1, 1, 1)
    assert sum("downsample" in layer.name for layer in r18.layers) == 3
    fc = r18.layers[-1]
    assert (fc.name, fc.kind, fc.in_channels, fc.out_channels) == ("fc", "fc", 512, 1000)
    assert fc.in_hw == fc.out_hw == (1, 1) and fc.has_bias
    assert fc.weights.shape == (1000, 512, 1, 1)


def test_resnet18_graph_shapes() -> None:
    shapes = infer_shapes(resnet18())
    assert shapes["maxpool"] == (1, 64, 56, 56)
    assert shapes["layer4.1.relu2"] == (1, 512, 7, 7)
    assert shapes["avgpool"] == (1, 512, 1, 1)
    assert shapes["flatten"] == (1, 512)
    assert shapes["fc"] == (1, 1000)


def _resnet20_by_hand() -> tuple[int, int, int]:
    """(MACs, params, weight layers) of ResNet-20 with option-B projection shortcuts."""
    convs = [(3, 16, 3, 32)]  # (in_ch, out_ch, k, out_hw)
    in_ch, hw = 16, 32
    for width in (16, 32, 64):
        for block in range(3):
            out_hw = hw // 2 if width > 16 and block == 0 else hw
            convs += [(in_ch, width, 3, out_hw), (width, width, 3, out_hw)]
            if in_ch != width:
                convs.append((in_ch, width, 1, out_hw))  # 1x1/2 projection
            in_ch, hw = width, out_hw
    macs = sum(i * o * k * k * h * h for i, o, k, h in convs) + 64 * 10
    params = sum(i * o * k * k + 2 * o for i, o, k, _ in convs) + 64 * 10 + 10  # + BN, fc
    return macs, params, len(convs) + 1


def test_resnet20_totals(r20: Network) -> None:
    macs, params, n_layers = _resnet20_by_hand()
    assert (macs, params, n_layers) == (40_813_184, 272_474, 22)
    assert r20.total_macs == macs
    assert r20.total_params == params
    assert len(r20.layers) == n_layers
    # Option A (parameter-free shortcuts) = minus the two projections and their BNs.
    proj = [layer for layer in r20.layers if "downsample" in layer.name]
    assert macs - sum(p.macs for p in proj) == 40_551_040
    assert params - sum(p.weight_count + 2 * p.out_channels for p in proj) == 269_722
    assert [layer.out_hw[0] for layer in r20.layers[:-1]] == (
        [32] * 7 + [16] * 7 + [8] * 7)
    assert r20.input_shape == (3, 32, 32)


def test_params_exclude_bn_running_stats() -> None:
    g = resnet20()
    floats = sum(t.data.size for t in g.initializers.values())
    running = sum(t.data.size for n, t in g.initializers.items() if "running_" in n)
    assert trainable_parameter_count(g) == floats - running


# ---------------------------------------------------------------- synthetic weights


def test_weights_are_seeded_he_normal() -> None:
    w = resnet18(seed=3).initializers["conv1.weight"].data
    ref = np.random.default_rng([3, 0]).standard_normal((64, 3, 7, 7), dtype=np.float32)
    np.testing.assert_array_equal(w, ref * np.float32(math.sqrt(2 / 147)))
    assert w.dtype == np.float32
    fc = resnet18(seed=3).initializers["fc.weight"].data
    assert abs(fc.std() - math.sqrt(2 / 512)) < 0.01 * math.sqrt(2 / 512)


def test_same_seed_same_weights_different_seed_different() -> None:
    a, b, c = (load_network("resnet20", seed=s) for s in (7, 7, 8))
    for la, lb, lc in zip(a.layers, b.layers, c.layers, strict=True):
        np.testing.assert_array_equal(la.weights, lb.weights)
        np.testing.assert_array_equal(la.scale, lb.scale)
        assert not np.array_equal(la.weights, lc.weights)
    assert a.quantizer == "TWN (delta=0.7*mean|W|), seed 7"
    assert c.quantizer.endswith("seed 8")


# ---------------------------------------------------------------- quantizers


def test_twn_sparsity_on_gaussian(r18: Network) -> None:
    # |z| of a standard normal is half-normal with mean sqrt(2/pi), so
    # P(zero) = P(|z| < 0.7*sqrt(2/pi)) = erf(0.7*sqrt(2/pi)/sqrt(2)) = 0.42347...
    expected = math.erf(0.7 * math.sqrt(2 / math.pi) / math.sqrt(2))
    assert abs(expected - 0.4235) < 1e-4
    zeros = sum(layer.weights.size - np.count_nonzero(layer.weights) for layer in r18.layers)
    total = sum(layer.weights.size for layer in r18.layers)
    assert abs(zeros / total - expected) < 0.003
    for layer in r18.layers:
        assert layer.weights.dtype == np.int8 and layer.scale.dtype == np.float32
        assert set(np.unique(layer.weights)) <= {-1, 0, 1}


def test_twn_definition() -> None:
    w = np.array([[0.1, -0.2, 0.9, -1.0], [0.05, 0.0, 0.0, 0.3]], dtype=np.float32)
    levels, scale = ternarize_twn(w)
    delta = 0.7 * np.abs(w).mean()  # 0.7 * 0.31875 = 0.223125
    np.testing.assert_array_equal(levels, np.sign(w) * (np.abs(w) > delta))
    np.testing.assert_allclose(scale, [0.95, 0.3], rtol=1e-6)
    levels, scale = ternarize_twn(np.array([[1.0, -1.0], [0.01, 0.0]], np.float32))
    assert scale[1] == 0.0 and not levels[1].any()  # a channel with no nonzeros


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(1, 30), st.floats(0, 1, exclude_max=True),
       st.integers(0, 2**32 - 1))
def test_topk_exact_count_with_ties(out_ch: int, fan_in: int, s: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Few distinct magnitudes -> many ties; no exact zeros in w.
    w = (rng.integers(1, 4, (out_ch, fan_in)) * rng.choice([-1, 1], (out_ch, fan_in)))
    w = w.astype(np.float32)
    levels, scale = ternarize_to_sparsity(w, s)
    k = round(s * w.size)
    assert zero_count(s, w.size) == k
    zero = levels == 0
    assert int(zero.sum()) == k
    np.testing.assert_array_equal(levels[~zero], np.sign(w)[~zero])
    a = np.abs(w)
    if 0 < k < w.size:
        assert a[zero].max() <= a[~zero].min()
        t = a[zero].max()  # ties at the threshold: lowest flat indices are zeroed first
        tied = np.flatnonzero(a.ravel() == t)
        tied_zero = zero.ravel()[tied]
        assert np.all(tied_zero[:-1] >= tied_zero[1:])
    expected = [a[o][~zero[o]].mean() if (~zero[o]).any() else 0.0 for o in range(out_ch)]
    np.testing.assert_allclose(scale, expected, rtol=1e-6)
    assert scale.dtype == np.float32 and levels.dtype == np.int8


@settings(max_examples=12, deadline=None)
@given(st.floats(0, 1, exclude_max=True))
def test_target_sparsity_per_layer(s: float) -> None:
    net = load_network("resnet20", sparsity=s)
    for layer in net.layers:
        n = layer.weights.size
        assert n - np.count_nonzero(layer.weights) == round(s * n), layer.name


@pytest.mark.parametrize("s", [0.0, 0.5, 0.8, 0.95])
def test_target_sparsity_resnet18_fixed(s: float) -> None:
    net = load_network("resnet18", sparsity=s)
    graph = resnet18()
    for layer in net.layers:
        n = layer.weights.size
        # A float weight that is exactly 0.0 stays 0 (seed 0 has one, in layer4.0.conv2);
        # exact zeros are the smallest |w|, so they are inside the k zeroed unless k = 0.
        exact = int(np.count_nonzero(graph.initializers[f"{layer.name}.weight"].data == 0))
        zeros = n - np.count_nonzero(layer.weights)
        assert zeros == max(round(s * n), exact), layer.name
    assert net.quantizer == f"layer-wise top-k to sparsity {s:.2f}, seed 0"


def _ref_twn(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straightforward TWN (the rule as first implemented): the optimized one must match."""
    w2 = w.reshape(w.shape[0], -1)
    absw = np.abs(w2)
    keep = absw > np.float32(0.7 * float(absw.mean(dtype=np.float64)))
    return _ref_levels_alpha(w, absw, keep)


def _ref_topk(w: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Straightforward top-k to sparsity s: float partition, ties zeroed lowest index first."""
    w2 = w.reshape(w.shape[0], -1)
    absw = np.abs(w2)
    flat = absw.ravel()
    k = zero_count(s, flat.size)
    keep = np.full(flat.shape, k == 0)
    if 0 < k < flat.size:
        t = np.partition(flat, k - 1)[k - 1]
        keep = flat >= t
        ties = np.flatnonzero(flat == t)
        keep[ties[: k - (flat.size - int(np.count_nonzero(keep)))]] = False
    return _ref_levels_alpha(w, absw, keep.reshape(absw.shape))


def _ref_levels_alpha(w, absw, keep) -> tuple[np.ndarray, np.ndarray]:
    levels = ((w > 0).view(np.int8) - (w < 0).view(np.int8)) * keep.reshape(w.shape)
    sums = (absw * keep).sum(axis=1, dtype=np.float64)
    counts = np.count_nonzero(keep, axis=1)
    alpha = np.zeros(absw.shape[0], dtype=np.float64)
    np.divide(sums, counts, out=alpha, where=counts > 0)
    return levels.astype(np.int8), alpha.astype(np.float32)


def _assert_same(got: tuple[np.ndarray, np.ndarray], ref: tuple[np.ndarray, np.ndarray]) -> None:
    for a, b in zip(got, ref, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), st.integers(1, 40), st.sampled_from(["normal", "ties", "zeros"]),
       st.sampled_from([np.float32, np.float64, np.float16]), st.booleans(),
       st.floats(0, 1, exclude_max=True), st.integers(0, 2**32 - 1))
def test_quantizers_match_reference(out_ch: int, fan_in: int, kind: str, dtype, transposed: bool,
                                    s: float, seed: int) -> None:
    """The optimized quantizers equal the straightforward rules bit for bit, ties, exact
    zeros (+-0.0), other float widths and non-contiguous inputs included."""
    rng = np.random.default_rng(seed)
    shape = (fan_in, out_ch) if transposed else (out_ch, fan_in)
    if kind == "ties":
        w = rng.integers(-3, 4, shape) * 0.5
    else:
        w = rng.standard_normal(shape)
        if kind == "zeros":
            w[rng.random(shape) < 0.4] = 0.0
            w[rng.random(shape) < 0.2] *= -1.0  # some -0.0
    w = w.astype(dtype)
    if transposed:
        w = w.T
    _assert_same(ternarize_twn(w), _ref_twn(w))
    for sparsity in (s, 0.0, 0.5):
        _assert_same(ternarize_to_sparsity(w, sparsity), _ref_topk(w, sparsity))


def test_quantizers_reject_nan_and_inf() -> None:
    for bad in (np.nan, np.inf, -np.inf):
        w = np.array([[1.0, bad], [0.5, -0.5]], np.float32)
        with pytest.raises(WorkloadError, match="NaN or inf"):
            ternarize_twn(w)
        with pytest.raises(WorkloadError, match="NaN or inf"):
            ternarize_to_sparsity(w, 0.5)


# ---------------------------------------------------------------- threads


def _layers_equal(a: Network, b: Network) -> None:
    assert len(a.layers) == len(b.layers)
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert la == lb  # geometry
        for x, y in ((la.weights, lb.weights), (la.scale, lb.scale)):
            assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


@pytest.mark.parametrize("sparsity", [None, 0.8])
def test_resnet18_levels_independent_of_threads(sparsity, monkeypatch) -> None:
    """One thread and four give the same levels and scales, run after run; and they are
    the reference quantization of the serial reference draws."""
    monkeypatch.setenv(THREADS_ENV, "1")
    serial = load_network("resnet18", sparsity=sparsity, seed=2)
    monkeypatch.setenv(THREADS_ENV, "4")
    threaded = load_network("resnet18", sparsity=sparsity, seed=2)
    _layers_equal(serial, threaded)
    _layers_equal(threaded, load_network("resnet18", sparsity=sparsity, seed=2))
    m = 1.0 / np.sqrt(1.0 + 1e-5)  # identity BatchNormalization folded into conv scales
    for i in (0, 7, 19, 20):  # conv1, a 1x1 downsample, layer4.1.conv2, fc
        layer = serial.layers[i]
        shape = layer.weights.shape[:2] if layer.kind == "fc" else layer.weights.shape
        w = np.random.default_rng([2, i]).standard_normal(shape, dtype=np.float32)
        w = w * np.float32(math.sqrt(2.0 / layer.fan_in))
        levels, alpha = _ref_twn(w) if sparsity is None else _ref_topk(w, sparsity)
        assert layer.weights.reshape(levels.shape).tobytes() == levels.tobytes(), layer.name
        scale = alpha if layer.kind == "fc" else (alpha * m).astype(np.float32)
        assert layer.scale.tobytes() == scale.tobytes(), layer.name


def test_map_ordered_order_and_first_error() -> None:
    items = list(range(12))
    costs = [(i * 7) % 5 for i in items]
    for threads in (1, 3):
        assert map_ordered(lambda i: i * i, items, costs, threads) == [i * i for i in items]

    def fail(i: int) -> int:
        if i in (4, 9):
            raise ValueError(f"item {i}")
        return i

    for threads in (1, 3):
        with pytest.raises(ValueError, match="item 4"):
            map_ordered(fail, items, costs, threads)


def test_thread_count(monkeypatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert 1 <= thread_count(100) <= 4
    assert thread_count(1) == 1 and thread_count(0) == 1
    assert thread_count(100, threads=3) == 3
    monkeypatch.setenv(THREADS_ENV, "2")
    assert thread_count(100) == 2 and thread_count(1) == 1
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(UsageError) as e:
            thread_count(10)
        assert e.value.key == THREADS_ENV


def _graph(nodes: list[Node], inits: dict[str, np.ndarray], shape=(1, 4, 8, 8),
           outputs: list[str] | None = None) -> Graph:
    return Graph("tiny", [Tensor("x", shape)], outputs or [nodes[-1].outputs[0]], nodes,
                 {n: Tensor(n, d.shape, "float32", d) for n, d in inits.items()})


def _ones(*shape: int) -> np.ndarray:
    return np.ones(shape, np.float32)


def test_pool_ceil_mode_and_auto_pad() -> None:
    g = _graph([
        Node("p1", "MaxPool", ["x"], ["p1"], {"kernel_shape": [3, 3], "strides": [2, 2],
                                             "ceil_mode": 1}),
        Node("p2", "AveragePool", ["x"], ["p2"], {"kernel_shape": [3, 3], "strides": [2, 2]}),
        Node("c", "Conv", ["x", "w"], ["c"], {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ], {"w": _ones(6, 4, 3, 3)}, shape=(1, 4, 8, 8))
    shapes = infer_shapes(g)
    assert shapes["p1"] == (1, 4, 4, 4)  # ceil((8-3)/2)+1 = 4
    assert shapes["p2"] == (1, 4, 3, 3)  # floor((8-3)/2)+1 = 3
    assert shapes["c"] == (1, 6, 4, 4)
    (layer,) = lower(g, ternarize_twn)
    assert layer.padding == (0, 0, 1, 1)  # total pad 1, extra at the end


def test_grouped_conv_and_fc_variants() -> None:
    g = _graph([
        Node("dw", "Conv", ["x", "wd"], ["dw"], {"group": 4, "pads": [1, 1, 1, 1]}),
        Node("gap", "GlobalAveragePool", ["dw"], ["gap"]),
        Node("flat", "Flatten", ["gap"], ["flat"]),
        Node("g", "Gemm", ["flat", "wg"], ["g"], {}),  # transB=0: B is (K, N)
        Node("m", "MatMul", ["g", "wm"], ["m"]),
    ], {"wd": _ones(8, 1, 3, 3), "wg": np.arange(24, dtype=np.float32).reshape(8, 3) + 1,
        "wm": _ones(3, 5)})
    wg = g.initializers["wg"].data
    dw, fc1, fc2 = lower(g, lambda w: (w.copy(), np.ones(w.shape[0], np.float32)))
    assert (dw.groups, dw.in_channels, dw.out_channels, dw.fan_in) == (4, 4, 8, 9)
    assert dw.macs == 8 * 8 * 8 * 9
    assert (fc1.kind, fc1.in_channels, fc1.out_channels, fc1.has_bias) == ("fc", 8, 3, False)
    np.testing.assert_array_equal(fc1.weights[:, :, 0, 0], wg.T)  # (K, N) -> (out, in)
    assert (fc2.in_channels, fc2.out_channels, fc2.macs) == (3, 5, 15)


def test_unsupported_op_names_node() -> None:
    g = _graph([Node("relu0", "Relu", ["x"], ["r"]),
                Node("weird", "NonMaxSuppression", ["r"], ["y"])], {})
    with pytest.raises(WorkloadError) as e:
        lower(g, ternarize_twn)
    assert e.value.key == "node weird (NonMaxSuppression)" and e.value.source == "tiny"
    assert "unsupported operator 'NonMaxSuppression'" in str(e.value)


@pytest.mark.parametrize("node, inits, fragment", [
    (Node("c", "Conv", ["x", "w"], ["c"]), {"w": _ones(6, 3, 3, 3)}, "input channels 4"),
    (Node("c", "Conv", ["x", "w"], ["c"], {"kernel_shape": [5, 5]}), {"w": _ones(6, 4, 3, 3)},
     "kernel_shape"),
    (Node("c", "Conv", ["x", "w"], ["c"]), {"w": _ones(6, 4, 9, 9)}, "larger than"),
    (Node("c", "Conv", ["x", "nope"], ["c"]), {}, "'nope'"),
    (Node("a", "Add", ["x", "w"], ["a"]), {"w": _ones(3)}, "do not broadcast"),
    (Node("g", "Gemm", ["x", "w"], ["g"]), {"w": _ones(4, 4)}, "rank-2"),
])
def test_inconsistent_shapes_name_node(node: Node, inits: dict, fragment: str) -> None:
    with pytest.raises(WorkloadError) as e:
        infer_shapes(_graph([node], inits), source="net.yaml")
    assert e.value.key == f"node {node.name} ({node.op})"
    assert e.value.source == "net.yaml"
    assert fragment in str(e.value)


def test_matmul_without_weight_initializer() -> None:
    """A MatMul of two activations is no weight layer: lowering leaves it out, `op_kinds`
    counts its activation x activation MACs, and a run refuses it naming the node."""
    g = Graph("t", [Tensor("x", (1, 2)), Tensor("y", (1, 3))], ["m"],
              [Node("m", "MatMul", ["x", "y"], ["m"])], {})
    g.inputs[:] = [Tensor("x", (1, 1)), Tensor("y", (1, 3))]
    shapes = infer_shapes(g)
    assert shapes["m"] == (1, 3)  # shapes are fine, but B is an activation
    assert lower(g, ternarize_twn) == []
    work = graph_work(g, shapes)
    assert [(w.kind, w.macs) for w in work] == [("activation", 1 * 3 * 1)]
    from imcsim import load_arch
    from imcsim.periphery.placement import place
    from imcsim.workload.layer import Network

    net = Network("t", (), 0, (1,), "", "t", other_ops=tuple(work))
    with pytest.raises(WorkloadError, match="between two activations") as e:
        place(load_arch("fat"), net)  # no vector unit: nowhere to run it
    assert e.value.key == "node m (MatMul)"
    g.initializers["x"] = Tensor("x", (1, 1), "float32", _ones(1, 1))
    del g.inputs[0]
    with pytest.raises(WorkloadError, match="constant first input") as e:
        lower(g, ternarize_twn)
    assert e.value.key == "node m (MatMul)"


@pytest.mark.parametrize("matmul_first", [True, False])
def test_lower_first_error_independent_of_threads(matmul_first: bool) -> None:
    """A weight that cannot be quantized and a bad BatchNormalization: the one met first in
    node order is raised, with one thread or several."""
    c = 6
    conv = [Node("c", "Conv", ["x", "w"], ["c"]),
            Node("bn", "BatchNormalization", ["c", "g", "b", "mu", "var"], ["bn"])]
    mm = [Node("m", "MatMul", ["a", "y"], ["m"])]
    inits = {"w": _ones(c, 4, 3, 3), "g": _ones(c), "b": np.zeros(c, np.float32),
             "mu": np.zeros(c, np.float32), "var": -_ones(c)}
    g = Graph("t", [Tensor("x", (1, 4, 8, 8)), Tensor("a", (1, 1))],
              ["m", "bn"], mm + conv if matmul_first else conv + mm,
              {n: Tensor(n, d.shape, "float32", d) for n, d in inits.items()})
    # quantized weight whose levels are not integers: cannot be lowered
    g.initializers["y"] = Tensor("y", (1, 3), "float32", _ones(1, 3) / 2, _ones(1, 3), 2)
    expected = "must hold integer levels" if matmul_first else "running variance"
    for threads in (1, 4, None):
        with pytest.raises(WorkloadError, match=expected):
            lower(g, ternarize_twn, threads=threads)


# ---------------------------------------------------------------- load_network errors


def test_unknown_network() -> None:
    with pytest.raises(WorkloadError) as e:
        load_network("resnet99")
    assert e.value.key == "net"
    assert ("unknown network 'resnet99'; known: alexnet, bert_base, gpt2, lstm, mobilenetv2, "
            "resnet18, resnet20, resnet34, resnet50, vgg16, vit_b_16") in str(e.value)


def test_missing_network_file(tmp_path) -> None:
    path = str(tmp_path / "net.yaml")
    with pytest.raises(WorkloadError, match="does not exist") as e:
        load_network(path)
    assert e.value.key == "net"


@pytest.mark.parametrize("s", [-0.1, 1.0, float("nan"), 1.5, "0.5", True])
def test_bad_sparsity(s: object) -> None:
    with pytest.raises(UsageError) as e:
        load_network("resnet20", sparsity=s)  # type: ignore[arg-type]
    assert e.value.key == "sparsity"
    assert "sparsity must be" in str(e.value)


@pytest.mark.parametrize("seed", [-1, 1.5, None])
def test_bad_seed(seed: object) -> None:
    with pytest.raises(UsageError) as e:
        load_network("resnet20", seed=seed)  # type: ignore[arg-type]
    assert e.value.key == "seed"


def test_quantizer_rejects_bad_sparsity() -> None:
    with pytest.raises(ValueError):
        ternarize_to_sparsity(_ones(2, 2), float("nan"))


def test_import_is_lazy() -> None:
    code = ("import sys, imcsim.workload as w; "
            "assert 'imcsim.workload.loader' not in sys.modules; "
            "assert callable(w.load_network); "
            "assert 'imcsim.workload.loader' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_twn_by_blocks_equals_one_pass(monkeypatch) -> None:
    """A large tensor is ternarized block by block (no full-size |w| copy): the same
    levels and scales as the one-pass rule on this array."""
    from imcsim.workload import quantize as q

    w = np.random.default_rng(1).standard_normal((300, 2000), dtype=np.float32)
    one_pass = q.ternarize_twn(w)
    monkeypatch.setattr(q, "LARGE", 10)
    monkeypatch.setattr(q, "BLOCK", 50_000)
    blocks = q.ternarize_twn(w)
    np.testing.assert_array_equal(blocks[0], one_pass[0])
    np.testing.assert_array_equal(blocks[1], one_pass[1])


def test_large_zoo_weights_quantized_from_row_blocks_equal_the_drawn_tensor(monkeypatch
                                                                             ) -> None:
    """A large deferred zoo weight (AlexNet's fc6: 37.7 M) is ternarized from blocks of
    rows drawn in turn, never whole: the same levels and scales as from the whole draw."""
    import imcsim.workload.lower as lw
    from imcsim.workload.builder import HeWeight

    streamed = load_network("alexnet")
    monkeypatch.setattr(lw, "_levels_by_blocks", lambda *args, **kwargs: None)
    whole = load_network("alexnet")
    assert any(la.weight_count > 2 ** 25 for la in whole.layers)
    for a, b in zip(streamed.layers, whole.layers, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.scale, b.scale)
    import imcsim.workload.builder as builder

    monkeypatch.setattr(builder, "DRAWN_IN_BLOCKS", 40)
    monkeypatch.setattr(builder, "DRAW_BLOCK", 30)  # blocks of 2 rows of 12
    w = HeWeight("w", (7, 3, 2, 2), seed=3, index=1, fan_in=12)
    assert w.blocks == 4
    blocks = [w.block(b) for b in reversed(range(w.blocks))]  # any order, same values
    assert [rows.start for rows, _ in blocks] == [6, 4, 2, 0]
    np.testing.assert_array_equal(np.concatenate([b for _, b in blocks[::-1]]),
                                  w.data.reshape(7, -1))
    assert not np.array_equal(w.data.reshape(7, -1)[:2], w.data.reshape(7, -1)[2:4])
