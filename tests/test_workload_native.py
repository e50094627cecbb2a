"""The native graph format: exact round trips (hypothesis, zoo networks) and bad files."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imcsim.errors import WorkloadError
from imcsim.workload import load_network, read_native, write_native
from imcsim.workload.graph import Graph, Node, Tensor, graph_equal
from imcsim.workload.native import pack_ternary, unpack_ternary
from imcsim.workload.zoo import lstm, resnet20

# ---------------------------------------------------------------- random graphs

_names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
_scalar = st.one_of(st.integers(-2**62, 2**62), _floats, _names, st.booleans())
_attr = st.one_of(_scalar, st.lists(st.integers(-9, 99), max_size=5),
                  st.lists(_floats, max_size=3), st.lists(_names, max_size=3))
_shape = st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple)
_DTYPES = ("float32", "float64", "float16", "int64", "int32", "uint8", "int8", "bool")


@st.composite
def _tensor(draw, name: str) -> Tensor:
    kind = draw(st.sampled_from(("float", "ternary", "int8", "other")))
    shape = draw(_shape)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = math.prod(shape)
    if kind == "float":
        data = rng.standard_normal(n).astype(np.float32).reshape(shape)
    elif kind == "ternary":
        data = rng.integers(-1, 2, n).astype(np.int8).reshape(shape)
    elif kind == "int8":
        data = rng.integers(-128, 128, n).astype(np.int8).reshape(shape)
    else:
        dtype = draw(st.sampled_from(_DTYPES))
        data = (rng.standard_normal(n) * 50).astype(dtype).reshape(shape)
    scale = bits = None
    if kind in ("ternary", "int8") and draw(st.booleans()):
        bits = 2 if kind == "ternary" else draw(st.integers(3, 8))
        sshape = (shape[0],) + (1,) * (len(shape) - 1) if shape else ()
        scale = rng.random(sshape).astype(draw(st.sampled_from(("float32", "float64"))))
    return Tensor(name, tuple(data.shape), data.dtype.name, data, scale, bits)


@st.composite
def _graphs(draw) -> Graph:
    names = draw(st.lists(_names, min_size=1, max_size=12, unique=True))
    n_init = draw(st.integers(0, len(names)))
    inits = {nm: draw(_tensor(nm)) for nm in names[:n_init]}
    inputs = [Tensor(nm, draw(st.one_of(st.none(), _shape)), draw(st.sampled_from(_DTYPES)))
              for nm in draw(st.lists(_names, max_size=3))]
    nodes = [Node(draw(_names), draw(st.sampled_from(("Conv", "Relu", "Gemm", "Split", "X"))),
                  draw(st.lists(st.sampled_from(names + [""]), max_size=4)),
                  draw(st.lists(_names, min_size=1, max_size=3)),
                  draw(st.dictionaries(_names, _attr, max_size=4)))
             for _ in range(draw(st.integers(0, 6)))]
    return Graph(draw(_names), inputs, draw(st.lists(_names, max_size=3)), nodes, inits)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(_graphs(), st.sampled_from(("g.yaml", "g.json", "g.yml")))
def test_random_graph_round_trip(tmp_path: Path, graph: Graph, file: str) -> None:
    path = write_native(graph, tmp_path / file)
    assert path == tmp_path / file and (tmp_path / "g.npz").exists()
    back = read_native(path)
    assert graph_equal(graph, back)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-1, 1), max_size=41))
def test_ternary_packing(values: list[int]) -> None:
    levels = np.array(values, np.int8)
    packed = pack_ternary(levels)
    assert packed.dtype == np.uint8 and packed.size == -(-len(values) // 4)
    np.testing.assert_array_equal(unpack_ternary(packed, levels.shape), levels)


def test_packing_layout() -> None:
    packed = pack_ternary(np.array([1, -1, 0, 1, -1], np.int8))
    assert packed.tolist() == [0b01_00_11_01, 0b11]


# ---------------------------------------------------------------- zoo round trips


@pytest.mark.parametrize("factory", [resnet20, lstm])
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_zoo_round_trip(tmp_path: Path, factory, suffix: str) -> None:
    g = factory(0)
    back = read_native(write_native(g, tmp_path / f"net{suffix}"))
    assert graph_equal(g, back)


def test_native_file_loads_like_zoo(tmp_path: Path) -> None:
    path = write_native(resnet20(seed=4), tmp_path / "r20.yaml")
    net, zoo = load_network(str(path)), load_network("resnet20", seed=4)
    assert net.source == str(path) and net.name == "resnet20"
    assert (net.total_macs, net.total_params, net.input_shape) == (
        zoo.total_macs, zoo.total_params, zoo.input_shape)
    for a, b in zip(net.layers, zoo.layers, strict=True):
        assert a.name == b.name and a.macs == b.macs
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.scale, b.scale)
    assert net.quantizer == "TWN (delta=0.7*mean|W|) of the file's float weights (22 layers)"


def _ternary_graph() -> Graph:
    """Conv with stored ternary levels and scales, then a float Gemm."""
    rng = np.random.default_rng(0)
    levels = rng.integers(-1, 2, (8, 4, 3, 3)).astype(np.int8)
    scale = rng.random((8, 1, 1, 1)).astype(np.float32)
    fc = rng.standard_normal((5, 8)).astype(np.float32)
    return Graph("tq", [Tensor("x", (1, 4, 6, 6))], ["fc"], [
        Node("conv", "Conv", ["x", "w"], ["conv"], {"pads": [1, 1, 1, 1]}),
        Node("gap", "GlobalAveragePool", ["conv"], ["gap"]),
        Node("flat", "Flatten", ["gap"], ["flat"]),
        Node("fc", "Gemm", ["flat", "fcw"], ["fc"], {"transB": 1}),
    ], {"w": Tensor("w", levels.shape, "int8", levels, scale, 2),
        "fcw": Tensor("fcw", fc.shape, "float32", fc)})


def test_stored_levels_are_kept(tmp_path: Path) -> None:
    g = _ternary_graph()
    path = write_native(g, tmp_path / "tq.yaml")
    text = path.read_text()
    assert "encoding: ternary2" in text and "bits: 2" in text and "scale_shape: [8, 1, 1, 1]" in text
    with np.load(tmp_path / "tq.npz") as z:
        assert z["data/w"].dtype == np.uint8 and z["data/w"].size == 8 * 4 * 9 // 4
    for sparsity in (None, 0.9):
        net = load_network(str(path), sparsity=sparsity)
        conv, fc = net.layers
        np.testing.assert_array_equal(conv.weights, g.initializers["w"].data)
        np.testing.assert_array_equal(conv.scale, g.initializers["w"].scale.ravel())
        assert conv.weight_bits == 2 and fc.weight_bits == 2
    assert net.quantizer == ("levels from the file kept (1 layers, 2-bit); layer-wise top-k "
                             "to sparsity 0.90 of the file's float weights (1 layers)")
    assert np.count_nonzero(fc.weights == 0) == round(0.9 * 40)


# ---------------------------------------------------------------- bad files


@pytest.fixture()
def good(tmp_path: Path) -> Path:
    return write_native(_ternary_graph(), tmp_path / "net.yaml")


def _edit(path: Path, fn) -> None:
    doc = yaml.safe_load(path.read_text())
    fn(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _error(path: Path) -> WorkloadError:
    with pytest.raises(WorkloadError) as e:
        read_native(path)
    return e.value


def test_malformed_yaml(good: Path) -> None:
    good.write_text("format: imcsim-graph\nnodes: [\n  - {name: a\n")
    err = _error(good)
    assert err.source == str(good) and "malformed YAML" in str(err) and "line" in str(err)


def test_malformed_json(tmp_path: Path) -> None:
    (tmp_path / "n.json").write_text('{"format": "imcsim-graph",}')
    err = _error(tmp_path / "n.json")
    assert "malformed JSON" in str(err) and err.source == str(tmp_path / "n.json")


@pytest.mark.parametrize("edit, key, fragment", [
    (lambda d: d.update(extra=1), "extra", "unknown key 'extra'"),
    (lambda d: d["nodes"][1].update(atrs={}), "nodes[1].atrs", "unknown key 'atrs'"),
    (lambda d: d["nodes"][0].pop("op"), "nodes[0].op", "required key is missing"),
    (lambda d: d["initializers"][0].update(encoding="int4"), "initializers[0].encoding",
     "unknown encoding"),
    (lambda d: d["inputs"][0].update(shape=[1, "a"]), "inputs[0].shape", "non-negative ints"),
    (lambda d: d["nodes"][0]["attrs"].update(pads={"a": 1}), "nodes[0].attrs.pads",
     "attribute values"),
    (lambda d: d.update(version=2), "format", "version 1"),
    (lambda d: d["initializers"][0].update(dtype="float32"), "initializers[0].dtype",
     "needs dtype int8"),
])
def test_bad_document(good: Path, edit, key: str, fragment: str) -> None:
    _edit(good, edit)
    err = _error(good)
    assert err.source == str(good) and err.key == key and fragment in str(err)


def test_missing_npz(good: Path) -> None:
    good.with_suffix(".npz").unlink()
    err = _error(good)
    assert err.source == str(good) and err.key == "weights" and "not found" in str(err)


def test_missing_array(good: Path) -> None:
    npz = good.with_suffix(".npz")
    with np.load(npz) as z:
        arrays = {k: z[k] for k in z.files if k != "data/fcw"}
    np.savez(npz, **arrays)
    err = _error(good)
    assert err.source == str(npz) and err.key == "initializer fcw" and "missing" in str(err)


@pytest.mark.parametrize("initializer, shape, fragment", [
    ("fcw", [5, 9], "shape [5, 8] disagrees with the graph's [5, 9]"),
    ("w", [8, 4, 3, 4], "packed ternary data must be uint8 of length 96"),
])
def test_array_shape_disagrees(good: Path, initializer: str, shape: list[int],
                               fragment: str) -> None:
    def edit(d: dict) -> None:
        for entry in d["initializers"]:
            if entry["name"] == initializer:
                entry["shape"] = shape
    _edit(good, edit)
    err = _error(good)
    assert err.key == f"initializer {initializer}" and fragment in str(err)
    assert err.source == str(good.with_suffix(".npz"))


def test_bad_ternary_code(good: Path) -> None:
    npz = good.with_suffix(".npz")
    with np.load(npz) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["data/w"][3] = 0b10
    np.savez(npz, **arrays)
    assert "invalid code 2" in str(_error(good))


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_truncated_npz(good: Path, keep: float) -> None:
    npz = good.with_suffix(".npz")
    data = npz.read_bytes()
    npz.write_bytes(data[: int(len(data) * keep)])
    err = _error(good)
    assert err.source == str(npz) and "truncated or corrupt" in str(err)


def test_corrupt_member(good: Path) -> None:
    """A zip whose central directory is fine but one member's bytes are short."""
    npz = good.with_suffix(".npz")
    with np.load(npz) as z:
        arrays = {k: z[k] for k in z.files}
    with zipfile.ZipFile(npz, "w") as zf:
        for k, v in arrays.items():
            zf.writestr(f"{k}.npy", b"\x93NUMPY garbage" if k == "data/fcw" else v.tobytes())
    err = _error(good)
    assert err.source == str(npz) and err.key is not None


def test_write_rejects_bad_suffix_and_attr(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match=r"\.yaml, \.yml or \.json"):
        write_native(resnet20(), tmp_path / "x.txt")
    g = _ternary_graph()
    g.nodes[0].attrs["bad"] = {"no": 1}
    with pytest.raises(WorkloadError) as e:
        write_native(g, tmp_path / "x.yaml")
    assert e.value.key == "node conv (Conv)"
    assert not list(tmp_path.iterdir())  # nothing written


def test_semantic_errors_name_the_file(good: Path) -> None:
    _edit(good, lambda d: d["nodes"][0].update(inputs=["x", "nope"]))
    with pytest.raises(WorkloadError) as e:
        load_network(str(good))
    assert e.value.source == str(good) and e.value.key == "node conv (Conv)"


def test_shipped_ternary_resnet20() -> None:
    path = Path(__file__).resolve().parents[1] / "workloads" / "resnet20_ternary.yaml"
    net, zoo = load_network(str(path), sparsity=0.7), load_network("resnet20")
    assert net.name == "resnet20_ternary" and net.total_params == zoo.total_params == 272_474
    assert net.quantizer == "levels from the file kept (22 layers, 2-bit)"
    for a, b in zip(net.layers, zoo.layers, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.scale, b.scale)


def test_quantize_graph_round_trip(tmp_path: Path) -> None:
    from imcsim.workload.lower import lower, quantize_graph
    from imcsim.workload.quantize import ternarize_twn

    g = quantize_graph(lstm(), ternarize_twn)
    t = g.initializers["fc.weight"]
    assert (t.dtype, t.bits, t.scale.shape) == ("int8", 2, (10, 1))
    assert graph_equal(g, read_native(write_native(g, tmp_path / "l.yaml")))
    ref = lower(lstm(), ternarize_twn)
    for a, b in zip(lower(g, ternarize_twn), ref, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.scale, b.scale)
