"""LSTM, GRU and RNN in ONNX graphs built with onnx.helper the way torch.onnx writes them
(a Transpose to [seq, batch, input] before, a Squeeze of the direction axis after):
weight MACs, layers and gate work against counts written out here from the sizes, and
the functional path against recurrences written out here in numpy (and onnx's
reference evaluator)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import imcsim
from imcsim.errors import WorkloadError
from imcsim.functional.graph_exec import LinearCall, run_graph
from imcsim.workload import import_onnx, load_network, workload_info
from imcsim.workload.op_kinds import ELEMENTWISE

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

RNG = np.random.default_rng(11)
mk = helper.make_node
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def _f32(*shape: int, scale: float = 0.5) -> np.ndarray:
    return (scale * RNG.standard_normal(shape)).astype(np.float32)


def _sig(v: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-v))


def _lstm_ref(x, w, r, b, h, c, p, reverse: bool, f=_sig, g=np.tanh, hf=np.tanh,
              clip: float | None = None):
    """One direction of ONNX's LSTM (gates i, o, f, c): x [seq, batch, I] -> Y, H, C."""
    hid = r.shape[1]
    cut = (lambda v: v) if clip is None else (lambda v: np.clip(v, -clip, clip))
    y = np.zeros((len(x), *h.shape))
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        gates = x[t] @ w.T + h @ r.T + b[:4 * hid] + b[4 * hid:]
        i, o, fg, cc = (gates[:, k * hid:(k + 1) * hid] for k in range(4))
        i = f(cut(i + p[:hid] * c))
        fg = f(cut(fg + p[2 * hid:] * c))
        c = fg * c + i * g(cut(cc))
        o = f(cut(o + p[hid:2 * hid] * c))
        h = o * hf(c)
        y[t] = h
    return y, h, c


def _gru_ref(x, w, r, b, h, reverse: bool, lbr: bool):
    """One direction of ONNX's GRU (gates z, r, h)."""
    hid = r.shape[1]
    wz, wr, wh = (w[k * hid:(k + 1) * hid] for k in range(3))
    rz, rr, rh = (r[k * hid:(k + 1) * hid] for k in range(3))
    bw, br = b[:3 * hid], b[3 * hid:]
    y = np.zeros((len(x), *h.shape))
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        z = _sig(x[t] @ wz.T + h @ rz.T + bw[:hid] + br[:hid])
        rg = _sig(x[t] @ wr.T + h @ rr.T + bw[hid:2 * hid] + br[hid:2 * hid])
        if lbr:
            hh = np.tanh(x[t] @ wh.T + rg * (h @ rh.T + br[2 * hid:]) + bw[2 * hid:])
        else:
            hh = np.tanh(x[t] @ wh.T + (rg * h) @ rh.T + bw[2 * hid:] + br[2 * hid:])
        h = (1 - z) * hh + z * h
        y[t] = h
    return y, h


def _rnn_ref(x, w, r, b, h, reverse: bool, f=np.tanh):
    hid = r.shape[1]
    y = np.zeros((len(x), *h.shape))
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        h = f(x[t] @ w.T + h @ r.T + b[:hid] + b[hid:])
        y[t] = h
    return y, h


class Model:
    """A recurrent node over graph input x [1, batch, seq, I] (reshaped, then transposed
    to [seq, batch, I] for layout 0, as torch.onnx does)."""

    def __init__(self, op: str, seq: int, batch: int, inp: int, hid: int, *,
                 direction: str = "forward", layout: int = 0, bias: bool = True,
                 peepholes: bool = False, states: bool = False, **attrs):
        self.op, self.seq, self.batch, self.inp, self.hid = op, seq, batch, inp, hid
        self.dirs = 2 if direction == "bidirectional" else 1
        self.direction, self.layout, self.attrs = direction, layout, attrs
        g = GATES[op]
        self.inits: dict[str, np.ndarray] = {
            "W": _f32(self.dirs, g * hid, inp), "R": _f32(self.dirs, g * hid, hid),
            "B": _f32(self.dirs, 2 * g * hid) if bias else None,
            "P": _f32(self.dirs, 3 * hid) if peepholes else None}
        state = (self.dirs, batch, hid) if layout == 0 else (batch, self.dirs, hid)
        self.inits["h0"] = _f32(*state) if states else None
        self.inits["c0"] = _f32(*state) if states and op == "LSTM" else None

    def save(self, tmp_path: Path, opset: int = 14) -> Path:
        seq_first = self.layout == 0
        shape = [self.batch, self.seq, self.inp]
        nodes = [mk("Reshape", ["x", "xs"], ["xb"], name="reshape")]
        if seq_first:
            nodes.append(mk("Transpose", ["xb"], ["xt"], name="to_seq", perm=[1, 0, 2]))
        names = ["xt" if seq_first else "xb", "W", "R", "B" * (self.inits["B"] is not None),
                 "", "h0" * (self.inits["h0"] is not None)]
        if self.op == "LSTM":
            names += ["c0" * (self.inits["c0"] is not None),
                      "P" * (self.inits["P"] is not None)]
        while not names[-1]:
            names.pop()
        outs = ["Y", "Y_h", "Y_c"] if self.op == "LSTM" else ["Y", "Y_h"]
        attrs = {"hidden_size": self.hid, "direction": self.direction, **self.attrs}
        if self.layout:
            attrs["layout"] = 1
        nodes.append(mk(self.op, names, outs, name="rnn", **attrs))
        inits = {k: v for k, v in self.inits.items() if v is not None}
        inits["xs"] = np.array(shape, np.int64)
        g = helper.make_graph(
            nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                       [1, *shape])],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
            [numpy_helper.from_array(v, k) for k, v in inits.items()])
        path = tmp_path / f"{self.op}.onnx"
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]),
                  str(path))
        return path

    def feed(self) -> np.ndarray:
        return _f32(1, self.batch, self.seq, self.inp, scale=1.0)

    def reference(self, x: np.ndarray, lbr: bool = False, **kw) -> list[np.ndarray]:
        """Y, Y_h (, Y_c) from the recurrences above, in the node's layout."""
        xs = x[0].transpose(1, 0, 2).astype(np.float64)  # [seq, batch, I]
        hid, g = self.hid, GATES[self.op]
        ys, hs, cs = [], [], []
        for d in range(self.dirs):
            reverse = self.direction == "reverse" or d == 1
            w, r = self.inits["W"][d], self.inits["R"][d]
            b = self.inits["B"][d] if self.inits["B"] is not None else np.zeros(2 * g * hid)

            def state(name: str, d=d) -> np.ndarray:
                v = self.inits[name]
                if v is None:
                    return np.zeros((self.batch, hid))
                return v[d] if self.layout == 0 else v[:, d]

            if self.op == "LSTM":
                p = self.inits["P"][d] if self.inits["P"] is not None else np.zeros(3 * hid)
                y, h, c = _lstm_ref(xs, w, r, b, state("h0"), state("c0"), p, reverse, **kw)
                cs.append(c)
            elif self.op == "GRU":
                y, h = _gru_ref(xs, w, r, b, state("h0"), reverse, lbr)
            else:
                y, h = _rnn_ref(xs, w, r, b, state("h0"), reverse, **kw)
            ys.append(y)
            hs.append(h)
        out = [np.stack(ys, axis=1), np.stack(hs)] + ([np.stack(cs)] if cs else [])
        if self.layout:
            out = [out[0].transpose(2, 0, 1, 3)] + [o.transpose(1, 0, 2) for o in out[1:]]
        return out


def _check_counts(model: Model, path: Path, arithmetic_per_step: int,
                  uses: dict[str, int]) -> None:
    """weight MACs = seq x batch x dirs x G x H x (I + H); the layers; the gate work:
    per (step, row, direction) `arithmetic_per_step` H-vector sums/products and `uses`
    H-vector evaluations of each activation function."""
    seq, batch, dirs, inp, hid = model.seq, model.batch, model.dirs, model.inp, model.hid
    g = GATES[model.op]
    rows = seq * batch
    net = load_network(str(path))
    assert net.total_macs == rows * dirs * g * hid * (inp + hid)
    w_layer, *r_layers = net.layers
    assert (w_layer.name, w_layer.kind, w_layer.in_channels, w_layer.out_channels,
            w_layer.out_hw) == ("rnn.W", "fc", inp, dirs * g * hid, (rows, 1))
    names = ["rnn.R"] if dirs == 1 else ["rnn.R.forward", "rnn.R.reverse"]
    assert [la.name for la in r_layers] == names
    assert all((la.kind, la.in_channels, la.out_channels, la.out_hw) ==
               ("fc", hid, g * hid, (rows, 1)) for la in r_layers)
    assert w_layer.weight_name == "W" and {la.weight_name for la in r_layers} == {"R"}
    gates = {o.name: o for o in net.other_ops if o.name.startswith("rnn.")}
    assert all(o.kind == ELEMENTWISE and o.macs == 0 for o in gates.values())
    assert gates["rnn.gates"].op == model.op
    assert gates["rnn.gates"].elements == rows * dirs * hid * arithmetic_per_step
    assert {k[4:]: o.elements for k, o in gates.items() if k != "rnn.gates"} == \
        {name: rows * dirs * hid * n for name, n in uses.items()}
    assert {o.op for k, o in gates.items() if k != "rnn.gates"} == set(uses)
    params = sum(v.size for k, v in model.inits.items() if v is not None and k in "WRBP")
    assert net.total_params == params  # the initial states are not parameters


LSTMS = [  # direction, layout, bias, peepholes, states, opset
    ("forward", 0, True, False, False, 13),  # nn.LSTM as torch.onnx exports it
    ("reverse", 0, False, True, True, 14),
    ("bidirectional", 0, True, True, True, 14),
    ("bidirectional", 1, True, False, True, 14),
]


@pytest.mark.parametrize("direction,layout,bias,peep,states,opset", LSTMS)
def test_lstm(tmp_path: Path, direction, layout, bias, peep, states, opset) -> None:
    if layout and opset < 14:
        pytest.skip("layout is an opset-14 attribute")
    model = Model("LSTM", seq=5, batch=2, inp=3, hid=4, direction=direction, layout=layout,
                  bias=bias, peepholes=peep, states=states)
    path = model.save(tmp_path, opset)
    # gate sums 4 (+4 bias), peepholes 3 products + 3 sums, cell 2 products + 1 sum,
    # output 1 product; sigmoid on i, f, o; tanh on c~ and on the cell
    _check_counts(model, path, 4 + 4 * bias + 6 * peep + 3 + 1, {"Sigmoid": 3, "Tanh": 2})
    x = model.feed()
    env = run_graph(import_onnx(path), {"x": x})
    refs = ReferenceEvaluator(str(path)).run(None, {"x": x})
    for name, mine, theirs in zip(("Y", "Y_h", "Y_c"), model.reference(x), refs, strict=True):
        assert env[name].shape == mine.shape == theirs.shape
        np.testing.assert_allclose(env[name], mine, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(env[name], theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("lbr", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_gru(tmp_path: Path, lbr: int, direction: str) -> None:
    model = Model("GRU", seq=4, batch=2, inp=5, hid=3, direction=direction, states=True,
                  linear_before_reset=lbr)
    path = model.save(tmp_path)
    # z, r sums 2 (+2 bias); h~: the product with r 1, sum 1 (+1 bias; +2 when the
    # linear part comes before the reset); H = (1 - z) h~ + z H: 4
    _check_counts(model, path, 2 + 2 + 1 + 1 + 4 + (2 if lbr else 1),
                  {"Sigmoid": 2, "Tanh": 1})
    x = model.feed()
    env = run_graph(import_onnx(path), {"x": x})
    refs = ReferenceEvaluator(str(path)).run(None, {"x": x})
    for name, mine, theirs in zip(("Y", "Y_h"), model.reference(x, lbr=bool(lbr)), refs,
                                  strict=True):
        np.testing.assert_allclose(env[name], mine, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(env[name], theirs, rtol=1e-4, atol=1e-5)


def test_rnn_with_relu_and_clip(tmp_path: Path) -> None:
    model = Model("RNN", seq=6, batch=1, inp=4, hid=5, direction="reverse",
                  activations=["Relu"], clip=0.75)
    path = model.save(tmp_path)
    _check_counts(model, path, 1 + 1 + 1, {"Relu": 1})  # sum, bias, clip
    x = model.feed()
    env = run_graph(import_onnx(path), {"x": x})
    y, h = model.reference(x, f=lambda v: np.maximum(np.clip(v, -0.75, 0.75), 0))
    np.testing.assert_allclose(env["Y"], y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(env["Y_h"], h, rtol=1e-6, atol=1e-6)


def test_lstm_activations_and_clip(tmp_path: Path) -> None:
    """Non-default activations (alpha/beta taken in order by the functions that use
    them, as onnxruntime does) and clip, against the recurrence written here."""
    model = Model("LSTM", seq=4, batch=1, inp=3, hid=2, states=True, clip=0.5,
                  activations=["HardSigmoid", "Tanh", "Softsign"],
                  activation_alpha=[0.3], activation_beta=[0.6])
    path = model.save(tmp_path)
    _check_counts(model, path, 8 + 4 + 4, {"HardSigmoid": 3, "Tanh": 1, "Softsign": 1})
    x = model.feed()
    env = run_graph(import_onnx(path), {"x": x})
    want = model.reference(x, f=lambda v: np.clip(0.3 * v + 0.6, 0, 1),
                           hf=lambda v: v / (1 + np.abs(v)), clip=0.5)
    for name, mine in zip(("Y", "Y_h", "Y_c"), want, strict=True):
        np.testing.assert_allclose(env[name], mine, rtol=1e-6, atol=1e-6)


def test_two_layer_lstm_and_hooks(tmp_path: Path) -> None:
    """nn.LSTM(num_layers=2) exports two LSTM nodes (a Squeeze of the direction axis
    between): MACs add up; the hook sees each lowered layer by its name, W once over
    seq x batch rows, R once per step over batch rows."""
    seq, inp, hid = 5, 3, 4
    nodes = [mk("Transpose", ["x"], ["xt"], name="t", perm=[1, 0, 2]),
             mk("LSTM", ["xt", "W1", "R1", "B1"], ["y1", "", ""], name="l1", hidden_size=hid),
             mk("Squeeze", ["y1", "ax"], ["s1"], name="sq"),
             mk("LSTM", ["s1", "W2", "R2"], ["y2"], name="l2", hidden_size=hid)]
    inits = {"W1": _f32(1, 4 * hid, inp), "R1": _f32(1, 4 * hid, hid), "B1": _f32(1, 8 * hid),
             "W2": _f32(1, 4 * hid, hid), "R2": _f32(1, 4 * hid, hid),
             "ax": np.array([1], np.int64)}
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     [1, seq, inp])],
                          [helper.make_tensor_value_info("y2", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    path = tmp_path / "two.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    net = load_network(str(path))
    assert net.total_macs == seq * 4 * hid * (inp + hid) + seq * 4 * hid * (hid + hid)
    assert [la.name for la in net.layers] == ["l1.W", "l1.R", "l2.W", "l2.R"]
    calls: list[tuple[str, tuple[int, int]]] = []

    def hook(call: LinearCall) -> np.ndarray:
        calls.append((call.layer_name, call.rows.shape))
        return call.rows @ call.weights.T

    x = _f32(1, seq, inp, scale=1.0)
    got = run_graph(import_onnx(path), {"x": x}, hook)["y2"]
    assert calls == [("l1.W", (seq, inp))] + [("l1.R", (1, hid))] * seq + \
        [("l2.W", (seq, hid))] + [("l2.R", (1, hid))] * seq
    np.testing.assert_allclose(got, ReferenceEvaluator(str(path)).run(None, {"x": x})[0],
                               rtol=1e-4, atol=1e-5)


def test_quantized_lstm_weights_keep_levels(tmp_path: Path) -> None:
    """DequantizeLinear int8 W with one scale per gate row (axis 1) keeps its levels:
    the W layer's rows are the gate rows with their scales."""
    hid, inp = 3, 2
    levels = RNG.integers(-5, 6, size=(1, 4 * hid, inp)).astype(np.int8)
    step = (RNG.random(4 * hid) + 0.5).astype(np.float32)
    nodes = [mk("DequantizeLinear", ["wq", "ws"], ["W"], name="dq", axis=1),
             mk("Transpose", ["x"], ["xt"], name="t", perm=[1, 0, 2]),
             mk("LSTM", ["xt", "W", "R"], ["y"], name="rnn", hidden_size=hid)]
    inits = {"wq": levels, "ws": step, "R": _f32(1, 4 * hid, hid)}
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     [1, 3, inp])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    path = tmp_path / "q.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)]), str(path))
    w_layer, r_layer = load_network(str(path)).layers
    assert (w_layer.weight_bits, r_layer.weight_bits) == (8, 2)
    np.testing.assert_array_equal(w_layer.weights[:, :, 0, 0], levels[0])
    np.testing.assert_array_equal(w_layer.scale, step)
    x = _f32(1, 3, inp, scale=1.0)
    np.testing.assert_allclose(run_graph(import_onnx(path), {"x": x})["y"],
                               ReferenceEvaluator(str(path)).run(None, {"x": x})[0],
                               rtol=1e-4, atol=1e-5)


def test_designs_run_recurrent_and_upsampling_layers(tmp_path: Path) -> None:
    """Every design kind maps the lowered layers (a recurrent node's W and R, a
    ConvTranspose's 1x1 scatter layer): the run's MACs are the network's."""
    model = Model("LSTM", seq=4, batch=1, inp=8, hid=8)
    path = model.save(tmp_path)
    net = load_network(str(path))
    for arch in ("fat", "reram_ramp", "photonic"):
        res = imcsim.run(arch, str(path))
        assert res.totals["macs"] == net.total_macs == 4 * 4 * 8 * 16
        assert [la.name for la in res.layers] == ["rnn.W", "rnn.R"]
    nodes = [mk("ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2])]
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     [1, 4, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(_f32(4, 3, 2, 2), "w")])
    up = tmp_path / "up.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(up))
    for arch in ("fat", "reram_ramp", "photonic"):
        assert imcsim.run(arch, str(up)).totals["macs"] == 36 * 4 * 3 * 2 * 2


@pytest.mark.parametrize("change,message", [
    ({"input_forget": 1}, "input_forget=1 is not supported"),
    ({"activations": ["Sigmoid", "Tanh"]}, "must name 3 functions"),
    ({"activations": ["Sigmoid", "Gelu", "Tanh"]}, "supported are"),
    ({"direction": "sideways"}, "unknown direction"),
    ({"hidden_size": 5}, "W has shape"),
])
def test_recurrent_errors_are_one_line(tmp_path: Path, change, message) -> None:
    model = Model("LSTM", seq=3, batch=1, inp=2, hid=4, **change)
    with pytest.raises(WorkloadError, match=message) as err:
        import_onnx(model.save(tmp_path))
    assert err.value.key == "node rnn (LSTM)" and "\n" not in str(err.value)


def test_activation_weights_and_short_sequences_refused(tmp_path: Path) -> None:
    """W from an activation cannot be a weight layer; sequence_lens shorter than the
    sequence cannot run: one line each, naming the node."""
    hid = 2
    nodes = [mk("Transpose", ["x"], ["xt"], name="t", perm=[1, 0, 2]),
             mk("LSTM", ["xt", "wx", "R"], ["y"], name="rnn", hidden_size=hid)]
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     [1, 3, 2]),
                                       helper.make_tensor_value_info("wx", TensorProto.FLOAT,
                                                                     [1, 4 * hid, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(_f32(1, 4 * hid, hid), "R")])
    path = tmp_path / "w.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    with pytest.raises(WorkloadError, match="must be an initializer") as err:
        load_network(str(path))
    assert err.value.key == "node rnn (LSTM)"
    model = Model("LSTM", seq=3, batch=1, inp=2, hid=hid)
    path = model.save(tmp_path)
    graph = import_onnx(path)
    node = next(n for n in graph.nodes if n.op == "LSTM")
    node.inputs = [*node.inputs, "", "", ""][:4] + ["lens"]
    from imcsim.workload.graph import Tensor

    graph.initializers["lens"] = Tensor("lens", (1,), "int32", np.array([2], np.int32))
    with pytest.raises(WorkloadError, match="sequence_lens \\[2\\] shorter") as err:
        run_graph(graph, {"x": model.feed()})
    assert err.value.key == "node rnn (LSTM)"


def test_info_lists_layers_and_gate_work(tmp_path: Path) -> None:
    model = Model("GRU", seq=6, batch=1, inp=4, hid=8, direction="bidirectional")
    info = workload_info(load_network(str(model.save(tmp_path))))
    assert [r["name"] for r in info["layers"]] == ["rnn.W", "rnn.R.forward", "rnn.R.reverse"]
    assert info["weight_macs"] == 6 * 2 * 3 * 8 * (4 + 8) and info["activation_macs"] == 0
    assert info["layers"][0]["output_shape"] == [6, 2 * 3 * 8]
    gates = {r["name"]: r["elements"] for r in info["other_ops"] if r["name"].startswith("rnn.")}
    assert gates == {"rnn.gates": 6 * 2 * 8 * 11, "rnn.Sigmoid": 6 * 2 * 8 * 2,
                     "rnn.Tanh": 6 * 2 * 8 * 1}
    assert math.prod(info["other_ops"][-1]["output_shape"]) > 0


def test_native_round_trip_keeps_recurrent_nodes(tmp_path: Path) -> None:
    """`workload import` writes the recurrent node (its string-list attributes too) to
    the native format, which loads back to the same layers and gate work."""
    from imcsim.workload import import_to_native

    model = Model("LSTM", seq=3, batch=1, inp=2, hid=4, direction="bidirectional",
                  activations=["Sigmoid", "Tanh", "Softsign"] * 2)
    path = model.save(tmp_path)
    native = import_to_native(path, tmp_path / "lstm.yaml")
    a, b = load_network(str(path)), load_network(str(native))
    assert [(la.name, la.macs) for la in a.layers] == [(la.name, la.macs) for la in b.layers]
    assert a.other_ops == b.other_ops and a.total_params == b.total_params
