"""Transformer-style and real-exporter ONNX graphs (built with onnx.helper the way the
TorchScript and dynamo exporters write them): constant folding of shape subgraphs, QCDQ
weights, ConstantOfShape weights, both LayerNorm forms, GELU, attention; MACs checked
against counts computed here from the layer sizes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imcsim.errors import UsageError, WorkloadError
from imcsim.workload import import_onnx, load_network, workload_info, workload_info_text
from imcsim.workload.op_kinds import ACTIVATION, DATA, ELEMENTWISE, REDUCTION, WEIGHT

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(1)
mk = helper.make_node


def _f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _i64(*values: int) -> np.ndarray:
    return np.array(values, np.int64)


def _save(tmp_path: Path, nodes: list, inputs: list, outputs: list[str],
          inits: dict[str, np.ndarray], opset: int = 17, name: str = "m.onnx") -> Path:
    g = helper.make_graph(nodes, "m", inputs,
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                           for o in outputs],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


class _Block:
    """Nodes and initializers of one encoder block, written as the exporters do."""

    def __init__(self, seq: int, d: int, heads: int, ff: int, opset: int):
        self.seq, self.d, self.heads, self.ff, self.opset = seq, d, heads, ff, opset
        self.nodes: list = []
        self.inits: dict[str, np.ndarray] = {}
        self.n = 0

    def node(self, op: str, inputs: list[str], n_out: int = 1, **attrs) -> list[str]:
        self.n += 1
        outs = [f"{op.lower()}_{self.n}_{k}" for k in range(n_out)]
        self.nodes.append(mk(op, inputs, outs, name=f"{op}_{self.n}", **attrs))
        return outs

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits[name] = value
        return name

    def layer_norm(self, x: str, tag: str) -> str:
        gamma = self.const(f"{tag}.weight", np.ones(self.d, np.float32))
        beta = self.const(f"{tag}.bias", np.zeros(self.d, np.float32))
        if self.opset >= 17:
            return self.node("LayerNormalization", [x, gamma, beta], axis=-1,
                             epsilon=1e-5)[0]
        # torch.onnx (TorchScript, opset < 17) decomposition
        mean = self.node("ReduceMean", [x], axes=[-1], keepdims=1)[0]
        sub = self.node("Sub", [x, mean])[0]
        two = self.const(f"{tag}.two", np.array(2.0, np.float32))
        var = self.node("ReduceMean", [self.node("Pow", [sub, two])[0]], axes=[-1],
                        keepdims=1)[0]
        eps = self.const(f"{tag}.eps", np.array(1e-5, np.float32))
        std = self.node("Sqrt", [self.node("Add", [var, eps])[0]])[0]
        y = self.node("Div", [sub, std])[0]
        return self.node("Add", [self.node("Mul", [y, gamma])[0], beta])[0]

    def linear(self, x: str, n_in: int, n_out: int, tag: str) -> str:
        w = self.const(f"{tag}.weight", _f32(n_in, n_out))  # (in, out): x @ W
        b = self.const(f"{tag}.bias", _f32(n_out))
        return self.node("Add", [self.node("MatMul", [x, w])[0], b])[0]

    def dynamic_shape(self, x: str, tail: list[int]) -> str:
        """[x.size(0), x.size(1), *tail] through the legacy exporter's shape subgraph."""
        shape = self.node("Shape", [x])[0]
        dims = []
        for axis in (0, 1):
            idx = self.const(f"idx{self.n}_{axis}", np.array(axis, np.int64))
            dim = self.node("Gather", [shape, idx], axis=0)[0]
            dims.append(self.node("Unsqueeze", [dim, self.const(f"ax{self.n}", _i64(0))])[0])
        rest = self.const(f"tail{self.n}", _i64(*tail))
        return self.node("Concat", [*dims, rest], axis=0)[0]

    def gelu(self, x: str) -> str:
        if self.opset >= 20:
            return self.node("Gelu", [x])[0]
        root2 = self.const("gelu.sqrt2", np.array(math.sqrt(2.0), np.float32))
        one = self.const("gelu.one", np.array(1.0, np.float32))
        half = self.const("gelu.half", np.array(0.5, np.float32))
        erf = self.node("Erf", [self.node("Div", [x, root2])[0]])[0]
        return self.node("Mul", [self.node("Mul", [x, self.node("Add", [erf, one])[0]])[0],
                                 half])[0]

    def heads_first(self, x: str, perm: list[int]) -> str:
        dh = self.d // self.heads
        shaped = self.node("Reshape", [x, self.dynamic_shape(x, [self.heads, dh])])[0]
        return self.node("Transpose", [shaped], perm=perm)[0]

    def build(self, x: str) -> str:
        d = self.d
        h = self.layer_norm(x, "ln1")
        q = self.heads_first(self.linear(h, d, d, "q"), [0, 2, 1, 3])
        k = self.heads_first(self.linear(h, d, d, "k"), [0, 2, 3, 1])
        v = self.heads_first(self.linear(h, d, d, "v"), [0, 2, 1, 3])
        scores = self.node("MatMul", [q, k])[0]  # activation x activation
        scale = self.const("attn.scale", np.array(math.sqrt(d // self.heads), np.float32))
        probs = self.node("Softmax", [self.node("Div", [scores, scale])[0]], axis=-1)[0]
        ctx = self.node("MatMul", [probs, v])[0]  # activation x activation
        ctx = self.node("Transpose", [ctx], perm=[0, 2, 1, 3])[0]
        merged = self.node("Reshape", [ctx, self.const("merge", _i64(1, -1, d))])[0]
        x = self.node("Add", [x, self.linear(merged, d, d, "o")])[0]
        h = self.layer_norm(x, "ln2")
        h = self.gelu(self.linear(h, d, self.ff, "fc1"))
        return self.node("Add", [x, self.linear(h, self.ff, d, "fc2")])[0]


def _encoder(tmp_path: Path, seq: int = 6, d: int = 16, heads: int = 2, ff: int = 32,
             opset: int = 13) -> Path:
    b = _Block(seq, d, heads, ff, opset)
    y = b.build("x")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", seq, d])
    return _save(tmp_path, b.nodes, [x], [y], b.inits, opset, f"enc{opset}.onnx")


def _expected_macs(seq: int, d: int, heads: int, ff: int) -> tuple[int, int]:
    """(weight, activation) MACs of one block, from the layer sizes alone."""
    weight = seq * (4 * d * d + 2 * d * ff)  # q, k, v, o; fc1, fc2
    dh = d // heads
    activation = heads * (seq * seq * dh + seq * seq * dh)  # Q.K^T, A.V
    return weight, activation


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_encoder_block_macs_and_kinds(tmp_path: Path, opset: int) -> None:
    """Decomposed LayerNorm + Erf GELU (opset 13), LayerNormalization (17), Gelu (20):
    the shape subgraphs fold, weight and attention MACs equal the count from the sizes."""
    seq, d, heads, ff = 6, 16, 2, 32
    path = _encoder(tmp_path, seq, d, heads, ff, opset)
    graph = import_onnx(path)
    ops = {n.op for n in graph.nodes}
    assert not ops & {"Shape", "Gather", "Unsqueeze", "Concat", "Constant"}
    assert ("LayerNormalization" in ops) == (opset >= 17)
    assert ("Erf" in ops) == (opset < 20) and ("Gelu" in ops) == (opset >= 20)
    net = load_network(str(path))
    weight, activation = _expected_macs(seq, d, heads, ff)
    assert net.total_macs == weight and net.activation_macs == activation
    # weights, biases and the two LayerNorms' gamma and beta, plus the one-element
    # constants of Add/Mul/Div (counted as in CNNs): the attention scale, GELU's sqrt(2),
    # 1 and 0.5, and in the decomposed LayerNorms each epsilon (Pow's exponent is not)
    scalars = 1 + (3 if opset < 20 else 0) + (2 if opset < 17 else 0)
    assert net.total_params == 4 * d * d + 2 * d * ff + 4 * d + ff + d + 4 * d + scalars
    assert [la.name for la in net.layers] == [n.name for n in graph.nodes
                                              if n.op == "MatMul" and n.inputs[1] in
                                              graph.initializers]
    for la in net.layers:  # a Linear on [1, seq, d]: seq rows past stationary weights
        assert (la.kind, la.out_hw, la.in_hw, la.out_pixels) == ("fc", (seq, 1), (seq, 1), seq)
        assert la.macs == seq * la.in_channels * la.out_channels and la.batch == 1
    kinds = {o.name: o.kind for o in net.other_ops}
    assert WEIGHT not in kinds.values()
    assert sorted(o.macs for o in net.other_ops if o.kind == ACTIVATION) == \
        [heads * seq * seq * (d // heads)] * 2
    softmax = next(o for o in net.other_ops if o.op == "Softmax")
    assert (softmax.kind, softmax.elements) == (REDUCTION, heads * seq * seq)
    transposes = [o for o in net.other_ops if o.op == "Transpose"]
    assert len(transposes) == 4 and all(o.kind == DATA and o.macs == 0 and
                                        o.elements == seq * d for o in transposes)
    assert all(o.kind == ELEMENTWISE for o in net.other_ops if o.op in ("Erf", "Gelu"))
    info = workload_info(net)
    assert json.loads(json.dumps(info)) == info
    assert (info["weight_macs"], info["activation_macs"], info["total_macs"]) == \
        (weight, activation, weight + activation)
    assert info["layers"][0]["input_shape"] == [seq, d]
    text = workload_info_text(info)
    assert f"MACs: {weight + activation:,}" in text and "act x act" in text


def test_both_layernorm_forms_have_the_same_macs(tmp_path: Path) -> None:
    nets = [load_network(str(_encoder(tmp_path, opset=o))) for o in (13, 17)]
    assert [la.macs for la in nets[0].layers] == [la.macs for la in nets[1].layers]
    assert nets[0].activation_macs == nets[1].activation_macs
    ln17 = [o for o in nets[1].other_ops if o.op == "LayerNormalization"]
    assert [(o.kind, o.elements) for o in ln17] == [(REDUCTION, 6 * 16)] * 2


def test_attention_cannot_run_one_line_exit_2(tmp_path: Path) -> None:
    path = _encoder(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "imcsim.cli", "run", "--arch", "fat",
                           "--net", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(path) in lines[0] and "node MatMul_" in lines[0] and "(MatMul)" in lines[0]
    assert "between two activations" in lines[0]


def test_info_cli_json_split(tmp_path: Path) -> None:
    path = _encoder(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "imcsim.cli", "workload", "info", str(path),
                           "--format", "json"], capture_output=True, text=True, check=True)
    doc = json.loads(proc.stdout)
    weight, activation = _expected_macs(6, 16, 2, 32)
    assert (doc["weight_macs"], doc["activation_macs"], doc["total_macs"]) == \
        (weight, activation, weight + activation)


def test_mlp_on_sequence_runs(tmp_path: Path) -> None:
    """A Linear on [1, seq, d] with no attention runs on a design: seq output pixels."""
    from imcsim import run

    seq, d = 5, 8
    b = _Block(seq, d, 1, 16, 13)
    y = b.gelu(b.linear(b.layer_norm("x", "ln"), d, 16, "fc1"))
    y = b.linear(y, 16, d, "fc2")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, d])
    path = _save(tmp_path, b.nodes, [x], [y], b.inits, 13)
    result = run("fat", str(path))
    assert result.totals["macs"] == seq * (d * 16 + 16 * d)
    assert [la.macs for la in result.layers] == [seq * d * 16, seq * 16 * d]


# ---------------------------------------------------------------- constant folding


def test_swin_style_shape_subgraph_folds(tmp_path: Path) -> None:
    """Shape, Gather, Mod, Equal, Where, Cast, Range, ConstantOfShape, Expand, Slice,
    Concat and a Div feeding Reshape (the legacy exporter's `x.size()` arithmetic) fold to
    the constant target shape; the Reshape and a Conv remain."""
    c, h, w = 4, 6, 8
    nodes = [
        mk("Shape", ["x"], ["s"], name="shape"),
        mk("Gather", ["s", "i2"], ["H"], name="g_h", axis=0),
        mk("Gather", ["s", "i3"], ["W"], name="g_w", axis=0),
        mk("Mod", ["H", "two"], ["hm"], name="mod"),
        mk("Equal", ["hm", "zero"], ["even"], name="eq"),
        mk("Div", ["H", "two"], ["h2"], name="div"),
        mk("Where", ["even", "h2", "H"], ["hh"], name="where"),
        mk("Cast", ["hh"], ["hh64"], name="cast", to=TensorProto.INT64),
        mk("Range", ["zero", "two", "one"], ["r"], name="range"),  # [0, 1]
        mk("ConstantOfShape", ["r_len"], ["ones"], name="cos",
           value=numpy_helper.from_array(np.array([1], np.int64))),
        mk("Expand", ["ones", "r_len"], ["ones_e"], name="expand"),
        mk("Slice", ["s", "zero1", "one1"], ["batch"], name="slice"),
        mk("Mul", ["W", "two"], ["w2"], name="mul"),
        mk("Unsqueeze", ["hh64", "ax0"], ["hh_u"], name="unsq_h"),
        mk("Unsqueeze", ["w2", "ax0"], ["w_u"], name="unsq_w"),
        mk("Concat", ["batch", "c_dim", "hh_u", "w_u"], ["target"], name="cat", axis=0),
        mk("Reshape", ["x", "target"], ["y"], name="reshape"),
        mk("Conv", ["y", "wconv"], ["z"], name="conv"),
    ]
    inits = {"i2": np.array(2, np.int64), "i3": np.array(3, np.int64),
             "two": np.array(2, np.int64), "zero": np.array(0, np.int64),
             "one": np.array(1, np.int64), "r_len": _i64(2), "zero1": _i64(0),
             "one1": _i64(1), "ax0": _i64(0), "c_dim": _i64(c), "wconv": _f32(3, c, 1, 1)}
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, h, w])
    path = _save(tmp_path, nodes, [x], ["z"], inits, 13)
    graph = import_onnx(path)
    assert [n.op for n in graph.nodes] == ["Reshape", "Conv"]
    assert graph.weight("target").tolist() == [1, c, h // 2, w * 2]
    net = load_network(str(path))
    assert net.layers[0].out_hw == (h // 2, w * 2)
    assert net.total_macs == 3 * c * h * w


def test_constant_of_shape_weight(tmp_path: Path) -> None:
    """onnx's light models build weights with ConstantOfShape: they fold to a constant."""
    nodes = [mk("ConstantOfShape", ["wshape"], ["w"], name="cos",
                value=numpy_helper.from_array(np.array([0.5], np.float32))),
             mk("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 5])
    path = _save(tmp_path, nodes, [x], ["y"], {"wshape": _i64(8, 3, 3, 3)})
    net = load_network(str(path))
    (layer,) = net.layers
    assert layer.macs == 8 * 3 * 9 * 25 and np.all(layer.weights == 1)
    assert net.total_params == 8 * 3 * 9


def test_qcdq_weights_keep_levels_per_channel(tmp_path: Path) -> None:
    """brevitas QCDQ: QuantizeLinear -> Clip -> DequantizeLinear on a float weight gives
    integer levels with a per-output-channel scale and the Clip's bit width."""
    w = _f32(6, 4, 3, 3)
    scale = (np.abs(w).reshape(6, -1).max(axis=1) / 7).astype(np.float32)
    zp = np.zeros(6, np.int8)
    nodes = [mk("QuantizeLinear", ["w", "scale", "zp"], ["wq"], name="q", axis=0),
             mk("Clip", ["wq", "lo", "hi"], ["wc"], name="clip"),
             mk("DequantizeLinear", ["wc", "scale", "zp"], ["wd"], name="dq", axis=0),
             mk("Conv", ["x", "wd"], ["y"], name="conv")]
    inits = {"w": w, "scale": scale, "zp": zp, "lo": np.array(-7, np.int8),
             "hi": np.array(7, np.int8)}
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])
    path = _save(tmp_path, nodes, [x], ["y"], inits, 13)
    graph = import_onnx(path)
    assert [n.op for n in graph.nodes] == ["Conv"]
    t = graph.initializers["wd"]
    expected = np.clip(np.round(w / scale.reshape(6, 1, 1, 1)), -7, 7)
    assert t.is_quantized and t.bits == 4 and t.dtype == "int8"
    assert np.array_equal(t.data, expected.astype(np.int8))
    (layer,) = load_network(str(path)).layers
    assert layer.weight_bits == 4 and np.array_equal(layer.weights, expected.astype(np.int8))
    assert np.allclose(layer.scale, scale)


def test_folding_error_names_the_node(tmp_path: Path) -> None:
    nodes = [mk("Reshape", ["x", "bad"], ["y"], name="rs"),
             mk("Concat", ["a", "b"], ["bad"], name="cat", axis=0)]
    nodes = nodes[::-1]
    inits = {"a": _i64(1, 2), "b": np.ones((2, 2), np.int64)}  # ranks differ
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    path = _save(tmp_path, nodes, [x], ["y"], inits)
    with pytest.raises(WorkloadError) as e:
        import_onnx(path)
    assert (e.value.source, e.value.key) == (str(path), "node cat (Concat)")
    assert "cannot evaluate" in str(e.value)


def test_data_movement_and_activations(tmp_path: Path) -> None:
    """Pad, Transpose, HardSwish, HardSigmoid, SiLU (Sigmoid * Mul), Squeeze/Unsqueeze,
    Slice, Split in a small CNN: shapes as onnx infers them, zero MACs outside the Conv."""
    nodes = [mk("Pad", ["x", "pads"], ["p"], name="pad"),
             mk("Conv", ["p", "w"], ["c"], name="conv"),
             mk("HardSwish", ["c"], ["hs"], name="hswish"),
             mk("HardSigmoid", ["hs"], ["hg"], name="hsig"),
             mk("Sigmoid", ["hg"], ["sg"], name="sig"),
             mk("Mul", ["hg", "sg"], ["silu"], name="silu"),
             mk("Transpose", ["silu"], ["t"], name="nhwc", perm=[0, 2, 3, 1]),
             mk("Unsqueeze", ["t", "ax"], ["u"], name="unsq"),
             mk("Squeeze", ["u", "ax"], ["sq"], name="sq"),
             mk("Slice", ["sq", "st", "en", "axs"], ["sl"], name="slice"),
             mk("Split", ["sl", "parts"], ["a", "b"], name="split", axis=3)]
    inits = {"pads": _i64(0, 0, 1, 1, 0, 0, 1, 1), "w": _f32(6, 3, 3, 3), "ax": _i64(1),
             "st": _i64(1), "en": _i64(-1), "axs": _i64(1), "parts": _i64(2, 4)}
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 7, 7])
    path = _save(tmp_path, nodes, [x], ["a", "b"], inits)
    model = onnx.load(str(path))
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    theirs = {vi.name: tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)
              for vi in inferred.graph.value_info}
    from imcsim.workload.shapes import infer_shapes

    ours = infer_shapes(import_onnx(path))
    assert {k: ours[k] for k in theirs} == theirs and len(theirs) == 10
    net = load_network(str(path))
    assert net.total_macs == 6 * 27 * 49 and net.activation_macs == 0
    kinds = {o.op: o.kind for o in net.other_ops}
    assert kinds == {"Pad": DATA, "HardSwish": ELEMENTWISE, "HardSigmoid": ELEMENTWISE,
                     "Sigmoid": ELEMENTWISE, "Mul": ELEMENTWISE, "Transpose": DATA,
                     "Unsqueeze": DATA, "Squeeze": DATA, "Slice": DATA, "Split": DATA}


def test_gemm_over_sequence_rows(tmp_path: Path) -> None:
    """The legacy exporter's Linear on a rank-2 [seq, d] activation: Gemm with M = seq."""
    seq, d, n = 7, 12, 5
    nodes = [mk("Reshape", ["x", "flat"], ["x2"], name="flatten"),
             mk("Gemm", ["x2", "w", "b"], ["y"], name="fc", transB=1)]
    inits = {"flat": _i64(seq, d), "w": _f32(n, d), "b": _f32(n)}
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, d])
    net = load_network(str(_save(tmp_path, nodes, [x], ["y"], inits)))
    (layer,) = net.layers
    assert (layer.out_hw, layer.macs, layer.in_channels, layer.out_channels) == \
        ((seq, 1), seq * d * n, d, n)


def test_torchvision_exports(tmp_path: Path) -> None:
    """Real exports of torchvision models, when torch is installed."""
    torch = pytest.importorskip("torch", reason="torch is not installed: real-export "
                                                "tests need it (pip install torch)")
    tv = pytest.importorskip("torchvision")
    model = tv.models.resnet18().eval()
    path = tmp_path / "resnet18.onnx"
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), str(path), opset_version=13)
    assert load_network(str(path)).total_macs == load_network("resnet18").total_macs


LIGHT = ("light_bvlc_alexnet", "light_densenet121", "light_inception_v1",
         "light_inception_v2", "light_resnet50", "light_shufflenet", "light_squeezenet",
         "light_vgg19", "light_zfnet512")


@pytest.mark.parametrize("name", LIGHT)
def test_onnx_light_models(name: str) -> None:
    """The onnx package's light models (weights built by ConstantOfShape): weight MACs
    equal a count from onnx's own shape inference, Conv by Conv and Gemm by Gemm."""
    path = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / f"{name}.onnx"
    if not path.is_file():
        pytest.skip(f"{path} is not shipped with this onnx version")
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    dims = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
            for vi in [*model.graph.value_info, *model.graph.input, *model.graph.output]}
    expected = 0
    for node in model.graph.node:
        if node.op_type == "Conv":
            w = dims[node.input[1]]
            expected += math.prod(dims[node.output[0]]) * math.prod(w[1:])
        elif node.op_type in ("Gemm", "MatMul"):
            a = dims[node.input[0]]
            trans_a = any(at.name == "transA" and at.i for at in node.attribute)
            expected += math.prod(dims[node.output[0]]) * (a[0] if trans_a else a[-1])
    net = load_network(str(path))
    assert net.total_macs == expected > 0 and net.activation_macs == 0


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_graph_exec_matches_onnx_reference(tmp_path: Path, opset: int) -> None:
    """The periphery executor runs the encoder block (both LayerNorm forms, GELU,
    attention, Transpose, Reshape) as onnx's reference evaluator does."""
    from onnx.reference import ReferenceEvaluator

    from imcsim.functional.graph_exec import run_graph

    path = _encoder(tmp_path, opset=opset)
    x = RNG.standard_normal((1, 6, 16)).astype(np.float32)
    (expected,) = ReferenceEvaluator(str(path)).run(None, {"x": x})
    graph = import_onnx(path)
    got = run_graph(graph, {"x": x})[graph.outputs[0]]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_graph_exec_data_movement(tmp_path: Path) -> None:
    from onnx.reference import ReferenceEvaluator

    from imcsim.functional.graph_exec import run_graph

    nodes = [mk("Pad", ["x", "pads"], ["p"], name="pad"),
             mk("HardSwish", ["p"], ["hs"], name="hswish"),
             mk("HardSigmoid", ["hs"], ["hg"], name="hsig"),
             mk("Transpose", ["hg"], ["t"], name="nhwc", perm=[0, 2, 3, 1]),
             mk("Unsqueeze", ["t", "ax"], ["u"], name="unsq"),
             mk("Squeeze", ["u", "ax"], ["sq"], name="sq"),
             mk("Slice", ["sq", "st", "en", "axs"], ["sl"], name="slice"),
             mk("Split", ["sl", "parts"], ["a", "b"], name="split", axis=3),
             mk("Gather", ["b", "idx"], ["g"], name="gather", axis=1)]
    inits = {"pads": _i64(0, 0, 1, 1, 0, 0, 1, 2), "ax": _i64(1), "st": _i64(1),
             "en": _i64(-1), "axs": _i64(1), "parts": _i64(1, 2), "idx": _i64(2, 0)}
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 5])
    path = _save(tmp_path, nodes, [x], ["a", "g"], inits)
    feed = 4 * RNG.standard_normal((1, 3, 5, 5)).astype(np.float32)
    expected = ReferenceEvaluator(str(path)).run(None, {"x": feed})
    env = run_graph(import_onnx(path), {"x": feed})
    for name, want in zip(("a", "g"), expected, strict=True):
        np.testing.assert_allclose(env[name], want, rtol=1e-5, atol=1e-6)


def test_dynamic_sequence_refused_then_pinned(tmp_path: Path) -> None:
    """A dynamic sequence axis is refused with the message it had; --seq N or
    --input-shape pin it (the shape subgraphs then fold)."""
    b = _Block(6, 16, 2, 32, 13)
    y = b.build("x")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 16])
    path = _save(tmp_path, b.nodes, [x], [y], b.inits, 13, "dyn.onnx")
    with pytest.raises(WorkloadError, match=r"input dimension 1 is unknown \(seq\)") as e:
        import_onnx(path)
    assert e.value.key == "input x"
    for seq, net in ((9, load_network(str(path), seq=9)),
                     (4, load_network(str(path), input_shapes={"x": (1, 4, 16)}))):
        weight, activation = _expected_macs(seq, 16, 2, 32)
        assert (net.total_macs, net.activation_macs) == (weight, activation)
    with pytest.raises(WorkloadError, match="does not fit") as e:
        load_network(str(path), input_shapes={"x": (1, 4, 8)})
    assert e.value.key == "input x"
    with pytest.raises(WorkloadError, match="no graph input named 'y'"):
        load_network(str(path), input_shapes={"y": (1, 4, 16)})
    with pytest.raises(UsageError) as u:
        load_network("resnet20", seq=4)
    assert u.value.key == "seq"
    proc = subprocess.run([sys.executable, "-m", "imcsim.cli", "workload", "info", str(path),
                           "--seq", "9", "--format", "json"], capture_output=True, text=True,
                          check=True)
    assert json.loads(proc.stdout)["activation_macs"] == _expected_macs(9, 16, 2, 32)[1]
    proc = subprocess.run([sys.executable, "-m", "imcsim.cli", "workload", "info", str(path),
                           "--input-shape", "x=1,4"], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "input x" in proc.stderr and "does not fit" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "imcsim.cli", "workload", "info", str(path),
                           "--input-shape", "x:1,4"], capture_output=True, text=True)
    assert proc.returncode == 2 and "input-shape" in proc.stderr


def test_embedding_gather_and_native_round_trip(tmp_path: Path) -> None:
    """A BERT-like front end: an embedding Gather with activation (token id) indices is
    data movement whose table counts as parameters; the graph survives the native format
    and the ONNX exporter with the same MAC split."""
    from imcsim.workload import graph_to_onnx, import_to_native

    seq, vocab, d = 6, 50, 16
    b = _Block(seq, d, 2, 32, 13)
    emb = b.node("Gather", [b.const("embed", _f32(vocab, d)), "ids"], axis=0)[0]
    y = b.build(emb)
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, [1, seq])
    path = _save(tmp_path, b.nodes, [ids], [y], b.inits, 13, "bert.onnx")
    net = load_network(str(path))
    gather = next(o for o in net.other_ops if o.op == "Gather")
    assert (gather.kind, gather.elements, gather.macs) == (DATA, seq * d, 0)
    block = load_network(str(_encoder(tmp_path, seq, d, 2, 32, 13)))
    assert net.total_params == block.total_params + vocab * d
    native = load_network(str(import_to_native(path, tmp_path / "w" / "bert.yaml")))
    onnx.save(graph_to_onnx(import_onnx(path)), str(tmp_path / "rt.onnx"))
    again = load_network(str(tmp_path / "rt.onnx"))
    for other in (native, again):
        assert (other.total_macs, other.activation_macs, other.total_params) == \
            (net.total_macs, net.activation_macs, net.total_params)
        assert [o.kind for o in other.other_ops] == [o.kind for o in net.other_ops]


def test_huge_constant_refused_before_evaluation(tmp_path: Path) -> None:
    nodes = [mk("ConstantOfShape", ["big"], ["w"], name="cos"),
             mk("Add", ["x", "w"], ["y"], name="add")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    path = _save(tmp_path, nodes, [x], ["y"], {"big": _i64(1 << 20, 1 << 20)})
    with pytest.raises(WorkloadError, match="more than") as e:
        import_onnx(path)
    assert (e.value.source, e.value.key) == (str(path), "node cos (ConstantOfShape)")


def test_qdq_weight_through_transpose_keeps_levels(tmp_path: Path) -> None:
    """DequantizeLinear(W[out, in]) -> Transpose -> MatMul (a Linear as some exporters
    write it): the layer keeps the integer levels and the per-output-channel scale."""
    n_out, n_in, seq = 5, 8, 3
    levels = RNG.integers(-3, 4, (n_out, n_in)).astype(np.int8)
    scale = RNG.uniform(0.01, 0.1, n_out).astype(np.float32)
    nodes = [mk("DequantizeLinear", ["wq", "s", "zp"], ["w"], name="dq", axis=0),
             mk("Transpose", ["w"], ["wt"], name="t", perm=[1, 0]),
             mk("MatMul", ["x", "wt"], ["y"], name="fc")]
    inits = {"wq": levels, "s": scale, "zp": np.zeros(n_out, np.int8)}
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, n_in])
    path = _save(tmp_path, nodes, [x], ["y"], inits, 13)
    net = load_network(str(path))
    (layer,) = net.layers
    assert layer.weight_bits == 8 and layer.macs == seq * n_in * n_out
    assert np.array_equal(layer.weights[:, :, 0, 0], levels)
    np.testing.assert_allclose(layer.scale, scale)
    assert "levels from the file kept (1 layers, 8-bit)" in net.quantizer
