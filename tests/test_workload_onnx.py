"""ONNX / QONNX import (models built with onnx.helper), the exporter, and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imcsim.errors import WorkloadError
from imcsim.workload import graph_to_onnx, import_onnx, load_network
from imcsim.workload.graph import Graph
from imcsim.workload.lower import lower
from imcsim.workload.quantize import ternarize_twn
from imcsim.workload.shapes import infer_shapes
from imcsim.workload.zoo import lstm, mobilenetv2, resnet20

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

QONNX = "qonnx.custom_op.general"
RNG = np.random.default_rng(0)


def _f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _vi(name: str, shape: list | None, elem: int = TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def _model(nodes: list, inputs: list, outputs: list, inits: dict[str, np.ndarray],
           opset: int = 17, qonnx: bool = False):
    g = helper.make_graph(nodes, "m", inputs, outputs,
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    opsets = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(QONNX, 1)] if qonnx else [])
    return helper.make_model(g, opset_imports=opsets)


def _save(tmp_path: Path, model, name: str = "m.onnx") -> Path:
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def _ident(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 'quantizer' keeping integer-valued float weights as they are."""
    return w.astype(np.int8), np.ones(w.shape[0], np.float32)


def _onnx_shapes(model) -> dict[str, tuple[int, ...]]:
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    out = {}
    for vi in [*inferred.graph.value_info, *inferred.graph.output]:
        dims = vi.type.tensor_type.shape.dim
        out[vi.name] = tuple(d.dim_value for d in dims)
    return out


def _check_shapes_agree(model, graph: Graph) -> int:
    theirs, ours = _onnx_shapes(model), infer_shapes(graph)
    common = [k for k in theirs if k in ours]
    assert {k: ours[k] for k in common} == {k: theirs[k] for k in common}
    return len(common)


# ---------------------------------------------------------------- operators and shapes


def _kitchen_sink():
    """Most supported ops on a (1, 8, 17, 19) input; every tensor's shape is checked."""
    mk = helper.make_node
    nodes = [
        mk("Conv", ["x", "w_g"], ["c_g"], name="conv_g", group=2, dilations=[2, 1],
           strides=[2, 3], pads=[1, 0, 2, 1]),
        mk("Conv", ["x", "w_dw"], ["c_dw"], name="conv_dw", group=8, strides=[2, 2],
           kernel_shape=[3, 3], auto_pad="SAME_UPPER"),
        mk("Conv", ["x", "w_v", "b_v"], ["c_v"], name="conv_valid", auto_pad="VALID"),
        mk("Conv", ["x", "w_v"], ["c_sl"], name="conv_same_lower", auto_pad="SAME_LOWER",
           strides=[2, 2]),
        mk("MaxPool", ["x"], ["mp"], name="mp", kernel_shape=[2, 2], strides=[2, 2],
           ceil_mode=1),  # ceil: (9, 10); floor would give (8, 9)
        mk("AveragePool", ["x"], ["ap"], name="ap", kernel_shape=[2, 2], strides=[2, 2],
           pads=[0, 0, 1, 1]),
        mk("Relu", ["c_dw"], ["r"], name="relu"),
        mk("Clip", ["r", "lo", "hi"], ["clip"], name="clip"),
        mk("Sigmoid", ["clip"], ["sig"], name="sig"),
        mk("Tanh", ["mp"], ["tanh"], name="tanh"),
        mk("LeakyRelu", ["tanh"], ["leaky"], name="leaky", alpha=0.1),
        mk("Identity", ["leaky"], ["ident"], name="ident"),
        mk("Dropout", ["ident"], ["drop"], name="drop"),
        mk("Add", ["drop", "sig"], ["add"], name="add"),
        mk("Sum", ["add", "drop", "sig"], ["sum"], name="sum"),
        mk("Concat", ["sum", "ap"], ["cat"], name="cat", axis=1),
        mk("GlobalAveragePool", ["cat"], ["gap"], name="gap"),
        mk("ReduceMean", ["c_g"], ["rm"], name="rm", axes=[2, 3], keepdims=0),
        mk("Flatten", ["gap"], ["flat"], name="flat"),
        mk("Constant", [], ["shape_k1"], name="const",
           value=numpy_helper.from_array(np.array([16, 1], np.int64))),
        mk("Reshape", ["flat", "shape_k1"], ["col"], name="reshape"),
        mk("Gemm", ["col", "w_gemm", "b_gemm"], ["gemm"], name="gemm", transA=1, transB=1,
           alpha=0.5, beta=2.0),
        mk("MatMul", ["gemm", "w_mm"], ["mm"], name="mm"),
        mk("Concat", ["mm", "rm"], ["out"], name="cat2", axis=1),
    ]
    inits = {"w_g": _f32(6, 4, 3, 3), "w_dw": _f32(8, 1, 3, 3), "w_v": _f32(8, 8, 3, 3),
             "b_v": _f32(8), "lo": np.float32(0.0), "hi": np.float32(6.0),
             "w_gemm": _f32(12, 16), "b_gemm": _f32(12), "w_mm": _f32(12, 5)}
    return _model(nodes, [_vi("x", [1, 8, 17, 19])], [_vi("out", [1, 11])], inits)


def test_kitchen_sink_shapes_match_onnx(tmp_path: Path) -> None:
    model = _kitchen_sink()
    onnx.checker.check_model(model, full_check=True)
    g = import_onnx(_save(tmp_path, model))
    assert _check_shapes_agree(model, g) >= 20
    assert not any(n.op in ("Identity", "Dropout", "Constant") for n in g.nodes)
    assert g.weight("shape_k1").tolist() == [16, 1]
    layers = {la.name: la for la in lower(g, ternarize_twn)}
    assert list(layers) == ["conv_g", "conv_dw", "conv_valid", "conv_same_lower", "gemm", "mm"]
    cg = layers["conv_g"]
    assert (cg.groups, cg.dilation, cg.stride, cg.padding) == (2, (2, 1), (2, 3), (1, 0, 2, 1))
    assert cg.out_hw == (8, 6) and cg.macs == 6 * 4 * 9 * 8 * 6
    dw = layers["conv_dw"]
    assert dw.groups == dw.in_channels == dw.out_channels == 8 and dw.out_hw == (9, 10)
    assert layers["conv_valid"].out_hw == (15, 17) and layers["conv_valid"].has_bias
    assert layers["conv_same_lower"].padding == (1, 1, 1, 1)
    gemm = layers["gemm"]
    assert (gemm.in_channels, gemm.out_channels, gemm.kind) == (16, 12, "fc")
    assert layers["mm"].in_channels == 12 and layers["mm"].out_channels == 5


def test_gemm_layouts_and_alpha(tmp_path: Path) -> None:
    b = RNG.integers(-1, 2, (6, 4)).astype(np.float32)  # (K, N) for transB=0
    nodes = [helper.make_node("Gemm", ["x", "b"], ["g0"], name="g0", alpha=2.0),
             helper.make_node("Gemm", ["g0", "bt"], ["g1"], name="g1", transB=1),
             helper.make_node("MatMul", ["g1", "m"], ["y"], name="mm")]
    model = _model(nodes, [_vi("x", [1, 6])], [_vi("y", [1, 3])],
                   {"b": b, "bt": b[:4, :4].T.copy(), "m": b[:4, :3].copy()})
    g = import_onnx(_save(tmp_path, model))
    g0, g1, mm = lower(g, _ident)
    np.testing.assert_array_equal(g0.weights[:, :, 0, 0], b.T)
    np.testing.assert_array_equal(g1.weights[:, :, 0, 0], b[:4, :4].T)
    np.testing.assert_array_equal(mm.weights[:, :, 0, 0], b[:4, :3].T)
    assert g0.scale.tolist() == [2.0] * 4 and g1.scale.tolist() == [1.0] * 4
    assert [la.op for la in (g0, g1, mm)] == ["Gemm", "Gemm", "MatMul"]


def _conv_bn(weight_nodes: list, w_input: str, inits: dict, qonnx: bool = False):
    gamma, beta = np.linspace(-2, 2, 8).astype(np.float32), _f32(8)
    mean, var = _f32(8), (RNG.random(8) + 0.5).astype(np.float32)
    nodes = weight_nodes + [
        helper.make_node("Conv", ["x", w_input], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "b", "mu", "var"], ["bn"],
                         name="bn", epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["y"], name="relu")]
    inits = {**inits, "g": gamma, "b": beta, "mu": mean, "var": var}
    m = (gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + 1e-3)).astype(np.float32)
    return _model(nodes, [_vi("x", [1, 4, 8, 8])], [_vi("y", None)], inits, qonnx=qonnx), m


def test_float_conv_bn_folds_into_scale(tmp_path: Path) -> None:
    w = _f32(8, 4, 3, 3)
    model, m = _conv_bn([], "w", {"w": w})
    net = load_network(str(_save(tmp_path, model)))
    (conv,) = net.layers
    levels, alpha = ternarize_twn(w)
    np.testing.assert_array_equal(conv.weights, levels)
    np.testing.assert_allclose(conv.scale, alpha * m, rtol=1e-6)
    assert conv.has_bias and net.total_params == 8 * 36 + 16  # BN gamma, beta counted
    assert net.quantizer == "TWN (delta=0.7*mean|W|) of the file's float weights (1 layers)"


def _quant_node(x: str, out: str, bits: int, narrow: int = 1, signed: int = 1):
    return helper.make_node("Quant", [x, f"{x}_s", f"{x}_zp", f"{x}_bw"], [out], name=out,
                            domain=QONNX, signed=signed, narrow=narrow,
                            rounding_mode="ROUND")


def test_qonnx_ternary_weights_survive_bn(tmp_path: Path) -> None:
    """2-bit narrow signed Quant = ternary: levels and zeros come back exactly, the
    per-channel scale absorbs BN, and --sparsity does not touch them."""
    s = (RNG.random((8, 1, 1, 1)) + 0.1).astype(np.float32)
    levels = RNG.integers(-1, 2, (8, 4, 3, 3)).astype(np.int8)
    w = (levels * s + RNG.uniform(-0.2, 0.2, levels.shape) * s).astype(np.float32)
    inits = {"w": w, "w_s": s, "w_zp": np.float32(0), "w_bw": np.float32(2)}
    model, m = _conv_bn([_quant_node("w", "wq", 2)], "wq", inits, qonnx=True)
    path = _save(tmp_path, model)
    g = import_onnx(path)
    t = g.initializers["wq"]
    assert (t.dtype, t.bits) == ("int8", 2) and "w" not in g.initializers
    for sparsity in (None, 0.9):
        net = load_network(str(path), sparsity=sparsity)
        (conv,) = net.layers
        np.testing.assert_array_equal(conv.weights, levels)
        np.testing.assert_allclose(conv.scale, s.ravel() * m, rtol=1e-6)
        assert conv.weight_bits == 2
    assert net.quantizer == "levels from the file kept (1 layers, 2-bit)"


def test_qonnx_4bit_matmul_and_activation_quant(tmp_path: Path) -> None:
    s = (RNG.random((1, 5)) + 0.1).astype(np.float32)  # per output column of (K, N)
    levels = RNG.integers(-7, 8, (6, 5))
    w = (levels * s).astype(np.float32)
    inits = {"w": w, "w_s": s, "w_zp": np.float32(0), "w_bw": np.float32(4),
             "x_s": np.float32(0.1), "x_zp": np.float32(0), "x_bw": np.float32(8)}
    nodes = [_quant_node("x", "xq", 8, narrow=0), _quant_node("w", "wq", 4),
             helper.make_node("MatMul", ["xq", "wq"], ["y"], name="mm")]
    model = _model(nodes, [_vi("x", [1, 6])], [_vi("y", None)], inits, qonnx=True)
    g = import_onnx(_save(tmp_path, model))
    assert [n.op for n in g.nodes] == ["Quant", "MatMul"]  # the activation Quant stays
    (mm,) = lower(g, ternarize_twn)
    np.testing.assert_array_equal(mm.weights[:, :, 0, 0], levels.T)
    np.testing.assert_allclose(mm.scale, s.ravel())
    assert mm.weight_bits == 4


def test_qdq_weights(tmp_path: Path) -> None:
    q = RNG.integers(-1, 2, (8, 4, 3, 3)).astype(np.int8)
    s = (RNG.random(8) + 0.1).astype(np.float32)
    wf = _f32(3, 8)
    nodes = [
        helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["wq"], name="dq", axis=0),
        helper.make_node("Conv", ["x", "wq"], ["c"], name="conv"),
        helper.make_node("GlobalAveragePool", ["c"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flat"),
        helper.make_node("QuantizeLinear", ["wf", "fs", "fzp"], ["wf_q"], name="ql"),
        helper.make_node("DequantizeLinear", ["wf_q", "fs", "fzp"], ["wf_dq"], name="dql"),
        helper.make_node("Gemm", ["flat", "wf_dq"], ["y"], name="fc", transB=1)]
    inits = {"q": q, "s": s, "zp": np.zeros(8, np.int8), "wf": wf,
             "fs": np.float32(0.02), "fzp": np.int8(0)}
    model = _model(nodes, [_vi("x", [1, 4, 6, 6])], [_vi("y", [1, 3])], inits)
    onnx.checker.check_model(model)
    conv, fc = load_network(str(_save(tmp_path, model))).layers
    np.testing.assert_array_equal(conv.weights, q)
    np.testing.assert_array_equal(conv.scale, s)
    assert conv.weight_bits == 2  # int8 data whose levels are all ternary
    expected = np.clip(np.round(wf / np.float32(0.02)), -128, 127)
    np.testing.assert_array_equal(fc.weights[:, :, 0, 0], expected)
    assert fc.weight_bits == 8 and np.allclose(fc.scale, 0.02)


@pytest.mark.parametrize("opset", [8, 10, 12])
def test_old_opsets(tmp_path: Path, opset: int) -> None:
    """Clip min/max and Split split as attributes (opset < 11 / < 13), BN with spatial."""
    mk = helper.make_node
    clip = (mk("Clip", ["c"], ["clip"], name="clip", min=0.0, max=6.0) if opset < 11 else
            mk("Clip", ["c", "", "hi"], ["clip"], name="clip"))
    nodes = [mk("Conv", ["x", "w"], ["c0"], name="conv", pads=[1, 1, 1, 1]),
             mk("BatchNormalization", ["c0", "g", "b", "mu", "var"], ["c"], name="bn",
                **({"spatial": 1} if opset < 9 else {})),
             clip,
             mk("Split", ["clip"], ["s0", "s1"], name="split", axis=1, split=[2, 6]),
             mk("Concat", ["s1", "s0"], ["y"], name="cat", axis=1)]
    inits = {"w": _f32(8, 3, 3, 3), "g": np.ones(8, np.float32), "b": np.zeros(8, np.float32),
             "mu": np.zeros(8, np.float32), "var": np.ones(8, np.float32),
             "hi": np.float32(6)}
    model = _model(nodes, [_vi("x", [1, 3, 5, 5])], [_vi("y", [1, 8, 5, 5])], inits,
                   opset=opset)
    onnx.checker.check_model(model)
    g = import_onnx(_save(tmp_path, model))
    split = next(n for n in g.nodes if n.op == "Split")
    assert g.weight(split.inputs[1]).tolist() == [2, 6] and "split" not in split.attrs
    clip_node = next(n for n in g.nodes if n.op == "Clip")
    assert len(clip_node.inputs) == 3 and not clip_node.attrs
    assert _check_shapes_agree(model, g) >= 4
    assert "spatial" not in next(n for n in g.nodes if n.op == "BatchNormalization").attrs


def test_opset18_reduce_mean_axes_input(tmp_path: Path) -> None:
    nodes = [helper.make_node("ReduceMean", ["x", "axes"], ["y"], name="rm", keepdims=1)]
    model = _model(nodes, [_vi("x", [1, 4, 5, 6])], [_vi("y", None)],
                   {"axes": np.array([-1, 2], np.int64)}, opset=18)
    g = import_onnx(_save(tmp_path, model))
    assert g.nodes[0].attrs == {"keepdims": 1, "axes": [-1, 2]} and len(g.nodes[0].inputs) == 1
    assert infer_shapes(g)["y"] == (1, 4, 1, 1) == _onnx_shapes(model)["y"]


def test_symbolic_batch_is_one(tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    model = _model(nodes, [_vi("x", ["N", 3, 4])], [_vi("y", None)], {})
    g = import_onnx(_save(tmp_path, model))
    assert g.inputs[0].shape == (1, 3, 4)


# ---------------------------------------------------------------- zoo exports


@pytest.mark.parametrize("factory", [resnet20, mobilenetv2, lstm])
def test_zoo_export_import_same_layers(tmp_path: Path, factory) -> None:
    graph = factory(0)
    model = graph_to_onnx(graph)
    onnx.checker.check_model(model)
    path = _save(tmp_path, model, f"{graph.name}.onnx")
    assert _check_shapes_agree(model, import_onnx(path)) > 10
    zoo, net = load_network(graph.name), load_network(str(path))
    assert net.source == str(path) and net.name == graph.name
    assert [la.macs for la in net.layers] == [la.macs for la in zoo.layers]
    assert (net.total_macs, net.total_params) == (zoo.total_macs, zoo.total_params)
    for a, b in zip(net.layers, zoo.layers, strict=True):
        assert (a.name, a.groups, a.kernel, a.stride, a.padding) == (
            b.name, b.groups, b.kernel, b.stride, b.padding)
        np.testing.assert_array_equal(a.weights, b.weights)


def test_quantized_graph_export_round_trip(tmp_path: Path) -> None:
    """Quantized initializers export as int8 + DequantizeLinear and come back."""
    g = resnet20()
    for name in [n.inputs[1] for n in g.nodes if n.op in ("Conv", "Gemm")]:
        t = g.initializers[name]
        levels, alpha = ternarize_twn(t.data)
        t.data, t.dtype, t.bits = levels, "int8", 2
        t.scale = alpha.reshape((-1,) + (1,) * (levels.ndim - 1))
    reference = lower(g, ternarize_twn)
    path = _save(tmp_path, graph_to_onnx(g))
    back = load_network(str(path), sparsity=0.5)
    for a, b in zip(back.layers, reference, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.scale, b.scale)
        assert a.weight_bits == b.weight_bits == 2
    assert back.quantizer == "levels from the file kept (22 layers, 2-bit)"


# ---------------------------------------------------------------- external data, errors


def _external(tmp_path: Path) -> Path:
    path = tmp_path / "ext.onnx"
    onnx.save_model(graph_to_onnx(resnet20()), str(path), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="ext.bin", size_threshold=0)
    return path


def test_external_data(tmp_path: Path) -> None:
    path = _external(tmp_path)
    assert (tmp_path / "ext.bin").stat().st_size > 1_000_000
    assert path.stat().st_size < 100_000
    net = load_network(str(path))
    assert net.total_macs == 40_813_184
    np.testing.assert_array_equal(net.layers[0].weights, load_network("resnet20").layers[0].weights)


def test_missing_external_data(tmp_path: Path) -> None:
    path = _external(tmp_path)
    (tmp_path / "ext.bin").unlink()
    with pytest.raises(WorkloadError) as e:
        import_onnx(path)
    assert e.value.source == str(path) and e.value.key.startswith("initializer ")
    assert "external data file 'ext.bin' not found" in str(e.value)


def test_truncated_external_data(tmp_path: Path) -> None:
    path = _external(tmp_path)
    data = (tmp_path / "ext.bin").read_bytes()
    (tmp_path / "ext.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(WorkloadError, match="is truncated") as e:
        import_onnx(path)
    assert e.value.key.startswith("initializer ")


@pytest.mark.parametrize("cut", [0.0, 0.001, 0.3, 0.7, 0.999])
def test_truncated_model(tmp_path: Path, cut: float) -> None:
    data = graph_to_onnx(resnet20()).SerializeToString()
    path = tmp_path / "t.onnx"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(WorkloadError) as e:
        load_network(str(path))
    assert e.value.source == str(path)


def test_garbage_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "g.onnx"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, np.uint8).tobytes())
    with pytest.raises(WorkloadError, match="ONNX model") as e:
        import_onnx(path)
    assert e.value.source == str(path)
    with pytest.raises(WorkloadError, match="does not exist") as e:
        load_network(str(tmp_path / "none.onnx"))
    assert e.value.key == "net"


@pytest.mark.parametrize("node, fragment", [
    (helper.make_node("NonMaxSuppression", ["x"], ["y"], name="nms"),
     ("node nms (NonMaxSuppression)", "unsupported operator 'NonMaxSuppression'")),
    (helper.make_node("Relu", ["x"], ["y"]),  # unnamed node
     ("node Relu_0 (Relu)", None)),
    (helper.make_node("Weird", ["x"], ["y"], name="w", domain="com.example"),
     ("node w (Weird)", "unsupported operator 'com.example::Weird'")),
])
def test_unsupported_operator(tmp_path: Path, node, fragment) -> None:
    key, msg = fragment
    model = _model([node], [_vi("x", [1, 4])], [_vi("y", None)], {})
    if msg is None:
        assert import_onnx(_save(tmp_path, model)).nodes[0].name == "Relu_0"
        return
    with pytest.raises(WorkloadError) as e:
        import_onnx(_save(tmp_path, model))
    assert e.value.key == key and msg in str(e.value)


@pytest.mark.parametrize("shape, fragment", [
    ([1, "H", 4], "input dimension 1 is unknown (H)"),
    (None, "input shape is unknown"),
])
def test_unknown_input_shape(tmp_path: Path, shape, fragment: str) -> None:
    model = _model([helper.make_node("Relu", ["x"], ["y"], name="r")], [_vi("x", shape)],
                   [_vi("y", None)], {})
    with pytest.raises(WorkloadError) as e:
        import_onnx(_save(tmp_path, model))
    assert e.value.key == "input x" and fragment in str(e.value)


def test_old_opset_and_training_bn(tmp_path: Path) -> None:
    model = _model([helper.make_node("Relu", ["x"], ["y"], name="r")], [_vi("x", [1, 2])],
                   [_vi("y", None)], {}, opset=7)
    with pytest.raises(WorkloadError, match="opset 7 is older"):
        import_onnx(_save(tmp_path, model))
    nodes = [helper.make_node("BatchNormalization", ["x", "g", "g", "g", "g"], ["y"],
                              name="bn", training_mode=1)]
    model = _model(nodes, [_vi("x", [1, 2])], [_vi("y", None)],
                   {"g": np.ones(2, np.float32)})
    with pytest.raises(WorkloadError, match="training mode") as e:
        import_onnx(_save(tmp_path, model))
    assert e.value.key == "node bn (BatchNormalization)"


def test_bad_shapes_name_the_file(tmp_path: Path) -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c")]
    model = _model(nodes, [_vi("x", [1, 3, 8, 8])], [_vi("y", None)], {"w": _f32(4, 5, 3, 3)})
    path = _save(tmp_path, model)
    with pytest.raises(WorkloadError, match="input channels 3") as e:
        import_onnx(path)
    assert (e.value.source, e.value.key) == (str(path), "node c (Conv)")
