"""The zoo networks: parameter totals against torchvision, MACs against per-layer sums
computed here by hand, layer shapes, depthwise convs, the unrolled LSTM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imcsim.workload import builder, load_network
from imcsim.workload.builder import HeWeight, deferred_weights, draw_weights
from imcsim.workload.graph import Graph, graph_equal, trainable_parameter_count
from imcsim.workload.layer import ComputeLayer
from imcsim.workload.lower import lower
from imcsim.workload.shapes import infer_shapes
from imcsim.workload.zoo import ZOO, lstm


def _cheap(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A do-nothing quantizer (the tests here only need shapes)."""
    return np.zeros(w.shape, np.int8), np.ones(w.shape[0], np.float32)


_CACHE: dict[str, tuple[Graph, list[ComputeLayer]]] = {}


def _net(name: str) -> tuple[Graph, list[ComputeLayer]]:
    if name not in _CACHE:
        g = ZOO[name](0)
        _CACHE[name] = (g, lower(g, _cheap))
    return _CACHE[name]


# Hand-computed layer lists: (in_ch, out_ch, k, out_hw, groups, bias); fc as k=1, hw=1.
Conv = tuple[int, int, int, int, int, bool]


def _totals(convs: list[Conv], bn_channels: int = 0) -> tuple[int, int]:
    macs = sum(i // g * o * k * k * h * h for i, o, k, h, g, _ in convs)
    params = sum(i // g * o * k * k + (o if b else 0) for i, o, k, _, g, b in convs)
    return macs, params + 2 * bn_channels


def _resnet34_by_hand() -> tuple[list[Conv], int]:
    convs: list[Conv] = [(3, 64, 7, 112, 1, False)]
    in_ch, hw = 64, 56
    for width, n in ((64, 3), (128, 4), (256, 6), (512, 3)):
        for block in range(n):
            out_hw = hw // 2 if width > 64 and block == 0 else hw
            convs += [(in_ch, width, 3, out_hw, 1, False), (width, width, 3, out_hw, 1, False)]
            if in_ch != width:
                convs.append((in_ch, width, 1, out_hw, 1, False))
            in_ch, hw = width, out_hw
    bn = sum(o for _, o, *_ in convs)
    return convs + [(512, 1000, 1, 1, 1, True)], bn


def _resnet50_by_hand() -> tuple[list[Conv], int]:
    """torchvision ResNet-50 (v1.5): per Bottleneck conv1 1x1, conv2 3x3 (the stride),
    conv3 1x1 to 4 x width, then the projection of the first block of a stage."""
    convs: list[Conv] = [(3, 64, 7, 112, 1, False)]
    in_ch, hw = 64, 56
    for width, n in ((64, 3), (128, 4), (256, 6), (512, 3)):
        for block in range(n):
            out_hw = hw // 2 if width > 64 and block == 0 else hw
            convs += [(in_ch, width, 1, hw, 1, False), (width, width, 3, out_hw, 1, False),
                      (width, 4 * width, 1, out_hw, 1, False)]
            if block == 0:
                convs.append((in_ch, 4 * width, 1, out_hw, 1, False))
            in_ch, hw = 4 * width, out_hw
    bn = sum(o for _, o, *_ in convs)
    return convs + [(2048, 1000, 1, 1, 1, True)], bn


def _vgg16_by_hand() -> list[Conv]:
    convs: list[Conv] = []
    in_ch, hw = 3, 224
    for width, n in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        convs += [(in_ch if i == 0 else width, width, 3, hw, 1, True) for i in range(n)]
        in_ch, hw = width, hw // 2
    return convs + [(25088, 4096, 1, 1, 1, True), (4096, 4096, 1, 1, 1, True),
                    (4096, 1000, 1, 1, 1, True)]


_ALEXNET: list[Conv] = [(3, 64, 11, 55, 1, True), (64, 192, 5, 27, 1, True),
                        (192, 384, 3, 13, 1, True), (384, 256, 3, 13, 1, True),
                        (256, 256, 3, 13, 1, True), (9216, 4096, 1, 1, 1, True),
                        (4096, 4096, 1, 1, 1, True), (4096, 1000, 1, 1, 1, True)]


def _mobilenetv2_by_hand() -> tuple[list[Conv], int]:
    convs: list[Conv] = [(3, 32, 3, 112, 1, False)]
    in_ch, hw = 32, 112
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            hidden, out_hw = in_ch * t, hw // (s if i == 0 else 1)
            if t != 1:
                convs.append((in_ch, hidden, 1, hw, 1, False))
            convs += [(hidden, hidden, 3, out_hw, hidden, False), (hidden, c, 1, out_hw, 1, False)]
            in_ch, hw = c, out_hw
    convs.append((320, 1280, 1, 7, 1, False))
    bn = sum(o for _, o, *_ in convs)
    return convs + [(1280, 1000, 1, 1, 1, True)], bn


@pytest.mark.parametrize("name, published_params", [
    ("resnet34", 21_797_672), ("resnet50", 25_557_032), ("vgg16", 138_357_544), ("alexnet", 61_100_840),
    ("mobilenetv2", 3_504_872)])
def test_params_match_torchvision(name: str, published_params: int) -> None:
    graph, _ = _net(name)
    assert trainable_parameter_count(graph) == published_params


@pytest.mark.parametrize("name, by_hand, macs", [
    ("resnet34", _resnet34_by_hand, 3_663_761_408),
    ("resnet50", _resnet50_by_hand, 4_089_184_256),
    ("vgg16", lambda: (_vgg16_by_hand(), 0), 15_470_264_320),
    ("alexnet", lambda: (_ALEXNET, 0), 714_188_480),
    ("mobilenetv2", _mobilenetv2_by_hand, 300_774_272),
])
def test_macs_match_hand_computed_layers(name: str, by_hand, macs: int) -> None:
    convs, bn = by_hand()
    graph, layers = _net(name)
    hand_macs, hand_params = _totals(convs, bn)
    assert (hand_macs, hand_params) == (macs, trainable_parameter_count(graph))
    assert len(layers) == len(convs)
    for layer, (i, o, k, h, g, _b) in zip(layers, convs, strict=True):
        assert (layer.in_channels, layer.out_channels, layer.kernel[0], layer.out_hw[0],
                layer.groups) == (i, o, k, h, g), layer.name
        assert layer.macs == i // g * o * k * k * h * h, layer.name
    assert sum(layer.macs for layer in layers) == macs


def test_published_rounded_figures() -> None:
    """The rounded figures usually quoted: ResNet-34 3.6 GMACs, VGG-16 15.47 GMACs,
    MobileNetV2 ~300 M MACs, AlexNet 0.71 GMACs (torchvision's 'GFLOPS' are MACs)."""
    total = {n: sum(la.macs for la in _net(n)[1]) for n in
             ("resnet34", "vgg16", "mobilenetv2", "alexnet")}
    assert round(total["resnet34"] / 1e9, 2) == 3.66
    assert round(total["vgg16"] / 1e9, 2) == 15.47
    assert round(total["mobilenetv2"] / 1e6) == 301
    assert round(total["alexnet"] / 1e9, 2) == 0.71


def test_mobilenetv2_depthwise() -> None:
    _, layers = _net("mobilenetv2")
    dw = [la for la in layers if la.groups > 1]
    assert len(dw) == 17
    for la in dw:
        assert la.groups == la.in_channels == la.out_channels
        assert la.weights.shape == (la.out_channels, 1, 3, 3) and la.fan_in == 9
    assert {la.stride for la in dw} == {(1, 1), (2, 2)}
    graph, _ = _net("mobilenetv2")
    shapes = infer_shapes(graph)
    assert shapes["features.18.2"] == (1, 1280, 7, 7)
    assert sum(n.op == "Add" for n in graph.nodes) == 10  # residual blocks
    assert sum(n.op == "Clip" for n in graph.nodes) == 35


def test_vgg_alexnet_shapes() -> None:
    g, _ = _net("alexnet")
    s = infer_shapes(g)
    assert s["features.12"] == (1, 256, 6, 6) and s["flatten"] == (1, 9216)
    g, _ = _net("vgg16")
    s = infer_shapes(g)
    assert s["features.30"] == (1, 512, 7, 7) and s["classifier.6"] == (1, 1000)


def test_lstm_macs_params_and_shared_weight() -> None:
    g = lstm()
    net = load_network("lstm")
    steps, h, i = 32, 256, 128
    gates = [la for la in net.layers if la.name.endswith(".gates")]
    assert len(gates) == steps and len(net.layers) == steps + 1
    assert all(la.macs == 4 * h * (i + h) for la in gates)
    assert net.total_macs == steps * 4 * h * (i + h) + h * 10 == 12_585_472
    assert net.total_params == 4 * h * (i + h) + 4 * h + h * 10 + 10 == 396_810
    assert trainable_parameter_count(g) == net.total_params
    assert {la.weight_name for la in gates} == {"lstm.weight"}
    assert all(la.weights is gates[0].weights for la in gates)  # quantized once
    assert net.input_shape == (32, 128)
    shapes = infer_shapes(g)
    assert shapes["step0.x"] == (1, 128) and shapes["step31.h"] == (1, 256)
    assert shapes["step5.i_pre"] == (1, 256) and shapes["fc"] == (1, 10)


@pytest.mark.parametrize("name", ["resnet34", "mobilenetv2", "lstm"])
def test_zoo_loads_ternary(name: str) -> None:
    net = load_network(name, sparsity=0.5)
    for la in net.layers:
        assert la.weights.dtype == np.int8 and set(np.unique(la.weights)) <= {-1, 0, 1}
        assert la.scale.shape == (la.out_channels,) and la.weight_bits == 2
        assert la.weights.size - np.count_nonzero(la.weights) == round(0.5 * la.weights.size)


# ---------------------------------------------------------------- synthetic weights, drawn in parallel


def _he_weights(g: Graph) -> list:
    """The He-normal weights in build order (= tensor index): Conv/Gemm weights, rank >= 2."""
    return [t for t in g.initializers.values() if len(t.known_shape or ()) >= 2
            and t.dtype == "float32"]


@pytest.mark.parametrize("name, seed", [("resnet18", 3), ("mobilenetv2", 0), ("lstm", 5)])
def test_weights_equal_serial_reference(name: str, seed: int) -> None:
    """Every weight (drawn on a thread pool) equals the serial one-generator-per-tensor
    reference draw, bit for bit."""
    weights = _he_weights(ZOO[name](seed))
    assert len(weights) > 1 and not any(isinstance(t, HeWeight) for t in weights)
    for i, t in enumerate(weights):
        fan_in = math.prod(t.shape[1:])
        ref = np.random.default_rng([seed, i]).standard_normal(t.shape, dtype=np.float32)
        ref = ref * np.float32(math.sqrt(2.0 / fan_in))
        assert t.data.dtype == np.float32 and t.data.tobytes() == ref.tobytes(), t.name


def test_deferred_weights_draw_on_read_and_match(monkeypatch) -> None:
    eager = ZOO["resnet18"](7)
    with deferred_weights():
        lazy = ZOO["resnet18"](7)
    weights = _he_weights(lazy)
    assert len(weights) == 21 and all(isinstance(t, HeWeight) for t in weights)
    draws: list[int] = []
    real = builder.he_normal
    monkeypatch.setattr(builder, "he_normal", lambda *a: draws.append(a[1]) or real(*a))
    # shapes and parameter counts do not draw
    assert trainable_parameter_count(lazy) == trainable_parameter_count(eager) == 11_689_512
    assert infer_shapes(lazy) == infer_shapes(eager)
    assert draws == []
    for threads in (1, 3):  # lowering draws each weight once, whatever the threads
        draws.clear()
        lower(lazy, _cheap, threads=threads)
        assert sorted(draws) == list(range(21))
    draws.clear()
    load_network("resnet18", seed=7)  # draws each weight once, keeps none
    assert sorted(draws) == list(range(21))
    assert graph_equal(lazy, eager)  # the same values as the weights drawn at `finish`
    assert ZOO["resnet18"](7).initializers["conv1.weight"].data is not None  # context left


def test_draw_weights_independent_of_threads() -> None:
    graphs = []
    for threads in (1, 2, 4):
        with deferred_weights():
            g = ZOO["resnet20"](11)
        draw_weights(g, threads=threads)
        assert not any(isinstance(t, HeWeight) for t in g.initializers.values())
        graphs.append(g)
    assert graph_equal(graphs[0], graphs[1]) and graph_equal(graphs[0], graphs[2])
