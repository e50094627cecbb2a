"""What the dynamo exporter writes without its optimiser (`torch.onnx.export(...,
dynamo=True, optimize=False)`), built with onnx.helper: CastLike of a constant scalar and
an activation (attention's scale, LayerNorm's epsilon, swin's new_zeros mask), and
`x.chunk(n)` / `x.split(s)` as SplitToSequence read by SequenceAt. Imported graphs
against onnx's reference evaluator on the same file; MACs against counts written out
from the layer sizes; refusals are one line naming the node."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imcsim.cli import main
from imcsim.errors import WorkloadError
from imcsim.functional.graph_exec import run_graph
from imcsim.workload import import_onnx, load_network, workload_info

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

RNG = np.random.default_rng(11)
mk = helper.make_node
F = TensorProto.FLOAT


def _save(tmp_path: Path, nodes: list, inputs: dict[str, list[int]], outputs: list[str],
          inits: dict[str, np.ndarray], value_info: dict[str, int] | None = None,
          opset: int = 18) -> Path:
    g = helper.make_graph(
        nodes, "m", [helper.make_tensor_value_info(k, F, v) for k, v in inputs.items()],
        [helper.make_tensor_value_info(o, F, None) for o in outputs],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
        value_info=[helper.make_tensor_value_info(k, t, None)
                    for k, t in (value_info or {}).items()])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return path


def _same_as_onnx(path: Path, feeds: dict[str, np.ndarray]) -> None:
    graph = import_onnx(path)
    got = run_graph(graph, feeds)
    want = ReferenceEvaluator(str(path)).run(None, feeds)
    for name, w in zip(graph.outputs, want, strict=True):
        np.testing.assert_allclose(got[name], w, rtol=1e-5, atol=1e-6)


def _attention(declare: bool) -> tuple[list, dict[str, np.ndarray], dict[str, int]]:
    """Q.K^T / sqrt(d) with the scale as the raw dynamo export has it: d a constant,
    CastLike'd to the scores' type, then Sqrt, Div; Q, K from a Linear each."""
    d = 8
    nodes = [mk("MatMul", ["x", "wq"], ["q"], name="q"),
             mk("MatMul", ["x", "wk"], ["k"], name="k"),
             mk("Transpose", ["k"], ["kt"], name="kt", perm=[0, 2, 1]),
             mk("MatMul", ["q", "kt"], ["scores"], name="qk"),
             mk("Reshape", ["scores", "same"], ["scores2"], name="rs"),
             mk("Constant", [], ["dim"], name="dim_c",
                value=numpy_helper.from_array(np.array(d, np.int64))),
             mk("CastLike", ["dim", "scores2"], ["dim_f"], name="castlike"),
             mk("Sqrt", ["dim_f"], ["root"], name="sqrt"),
             mk("Div", ["scores2", "root"], ["y"], name="div")]
    inits = {"wq": RNG.standard_normal((d, d)).astype(np.float32),
             "wk": RNG.standard_normal((d, d)).astype(np.float32),
             "same": np.array([1, 6, 6], np.int64)}
    return nodes, inits, ({"scores2": F} if declare else {})


@pytest.mark.parametrize("declare", [True, False], ids=["value_info", "inferred"])
def test_castlike_of_a_constant_folds_to_the_activation_type(tmp_path: Path,
                                                             declare: bool) -> None:
    """The CastLike target type comes from the file's value_info, else from onnx's type
    inference; the constant chain (CastLike, Sqrt) folds away, leaving Div by a
    constant."""
    nodes, inits, vi = _attention(declare)
    path = _save(tmp_path, nodes, {"x": [1, 6, 8]}, ["y"], inits, vi)
    graph = import_onnx(path)
    assert [n.op for n in graph.nodes] == ["MatMul", "MatMul", "Transpose", "MatMul",
                                           "Reshape", "Div"]
    root = graph.initializers[graph.nodes[-1].inputs[1]]
    assert root.dtype == "float32" and np.isclose(float(root.data), np.sqrt(8))
    _same_as_onnx(path, {"x": RNG.standard_normal((1, 6, 8)).astype(np.float32)})
    info = workload_info(load_network(str(path)))
    # two Linears 6 rows x 8 x 8; Q.K^T: 6 x 6 outputs x 8
    assert (info["weight_macs"], info["activation_macs"]) == (2 * 6 * 8 * 8, 6 * 6 * 8)


def test_castlike_to_an_integer_type(tmp_path: Path) -> None:
    """The cast follows the like-tensor's type: a float constant cast like an int64
    activation is truncated (what the reference evaluator does)."""
    nodes = [mk("Cast", ["x"], ["xi"], name="to_int", to=TensorProto.INT64),
             mk("CastLike", ["c", "xi"], ["ci"], name="castlike"),
             mk("Add", ["xi", "ci"], ["s"], name="add"),
             mk("Cast", ["s"], ["y"], name="back", to=F)]
    path = _save(tmp_path, nodes, {"x": [1, 4]}, ["y"], {"c": np.array(2.7, np.float32)},
                 {"xi": TensorProto.INT64})
    graph = import_onnx(path)
    c = graph.initializers["ci"]
    assert c.dtype == "int64" and int(c.data) == 2
    assert "CastLike" not in [n.op for n in graph.nodes]


def test_castlike_of_two_activations_is_a_cast(tmp_path: Path) -> None:
    nodes = [mk("Relu", ["x"], ["r"], name="relu"),
             mk("CastLike", ["r", "x"], ["y"], name="castlike")]
    path = _save(tmp_path, nodes, {"x": [1, 5]}, ["y"], {})
    graph = import_onnx(path)
    assert [(n.op, n.attrs.get("to")) for n in graph.nodes] == [("Relu", None),
                                                                ("Cast", F)]
    _same_as_onnx(path, {"x": RNG.standard_normal((1, 5)).astype(np.float32)})


def _chunks(split: np.ndarray | None, positions: list[int], keepdims: int = 1
            ) -> tuple[list, dict[str, np.ndarray]]:
    """x -> Conv 1x1 -> SplitToSequence along channels -> SequenceAt at `positions`
    -> Concat of the pieces read (a channel shuffle's shape of graph)."""
    inputs = ["c"] + (["split"] if split is not None else [])
    nodes = [mk("Conv", ["x", "w"], ["c"], name="conv"),
             mk("SplitToSequence", inputs, ["seq"], name="split", axis=1,
                keepdims=keepdims)]
    inits: dict[str, np.ndarray] = {"w": RNG.standard_normal((6, 3, 1, 1)).astype(np.float32)}
    if split is not None:
        inits["split"] = split
    outs = []
    for i, p in enumerate(positions):
        inits[f"p{i}"] = np.array(p, np.int64)
        nodes.append(mk("SequenceAt", ["seq", f"p{i}"], [f"piece{i}"],
                        name="" if i == 1 else f"at{i}"))  # (one unnamed)
        outs.append(f"piece{i}")
    nodes.append(mk("Concat", outs, ["y"], name="cat", axis=1))
    return nodes, inits


@pytest.mark.parametrize("split,positions,keepdims", [
    (np.array(2, np.int64), [2, 0, 1], 1),           # chunk(3): a scalar split
    (np.array(4, np.int64), [1, 0], 1),              # a short last piece
    (np.array([1, 3, 2], np.int64), [2, -3, 1], 1),  # sizes, negative position
    (None, [5, 0, -1], 0),                           # pieces of 1, axis squeezed
    (None, [3, -1], 1),                              # pieces of 1, axis kept
], ids=["scalar", "short-last", "sizes", "ones-squeezed", "ones-kept"])
def test_split_to_sequence_read_by_sequence_at(tmp_path: Path, split: np.ndarray | None,
                                               positions: list[int], keepdims: int) -> None:
    nodes, inits = _chunks(split, positions, keepdims)
    if split is None and not keepdims:  # the pieces lose the channel axis: stack them
        nodes[-1] = mk("Concat", [f"piece{i}" for i in range(len(positions))], ["y"],
                       name="cat", axis=0)
    path = _save(tmp_path, nodes, {"x": [1, 3, 4, 4]}, ["y"], inits)
    graph = import_onnx(path)
    assert not {"SplitToSequence", "SequenceAt"} & {n.op for n in graph.nodes}
    _same_as_onnx(path, {"x": RNG.standard_normal((1, 3, 4, 4)).astype(np.float32)})
    assert workload_info(load_network(str(path)))["weight_macs"] == 16 * 6 * 3


def test_sequence_refusals_are_one_line(tmp_path: Path, capsys) -> None:
    """A negative position over a scalar split, a sequence read by another op or that
    is a graph output: one line naming the node, exit 2, no traceback."""
    nodes, inits = _chunks(np.array(4, np.int64), [-1])
    path = _save(tmp_path, nodes, {"x": [1, 3, 4, 4]}, ["y"], inits)
    with pytest.raises(WorkloadError) as e:
        import_onnx(path)
    assert (e.value.source, e.value.key) == (str(path), "node at0 (SequenceAt)")
    assert "negative position" in str(e.value)

    at = mk("SequenceAt", ["seq", "p"], ["piece"], name="at")
    nodes = [mk("SplitToSequence", ["x"], ["seq"], name="split", axis=1),
             mk("ConcatFromSequence", ["seq"], ["y"], name="gather", axis=1)]
    for graph_nodes, outputs in ((nodes, ["y"]), ([nodes[0], at], ["piece", "seq"])):
        # read by another op; read by SequenceAt but also a graph output
        path = _save(tmp_path, graph_nodes, {"x": [1, 3, 4]}, outputs,
                     {"p": np.array(0, np.int64)})
        with pytest.raises(WorkloadError) as e:
            import_onnx(path)
        assert e.value.key == "node split (SplitToSequence)"
    path = _save(tmp_path, nodes, {"x": [1, 3, 4]}, ["y"], {})
    assert main(["workload", "info", str(path), "--format", "json"]) == 2
    out, err = capsys.readouterr()
    assert not out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "node split (SplitToSequence)" in lines[0]
    assert "unsupported operator" in lines[0]
