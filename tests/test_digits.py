"""The trained ternary networks shipped in workloads/digits/ (see its README.md).

Checks the shipped files against their manifest: they load through every reader, the
accuracy imcsim computes is the recorded one, and the FAT bit-serial micro-programs give
bit-identical outputs (ternary x unsigned 8-bit with power-of-two activation scales is
exact arithmetic). No torch or scikit-learn here: the held-out split is shipped.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from imcsim.designs.bitserial.functional import DigitalHook
from imcsim.functional.accuracy import accuracy, predict
from imcsim.functional.graph_exec import run_graph
from imcsim.workload.graph import trainable_parameter_count
from imcsim.workload.loader import load_network
from imcsim.workload.native import read_native
from tests.conftest import ARCH, ROOT

DIGITS = ROOT / "workloads" / "digits"
MANIFEST = yaml.safe_load((DIGITS / "manifest.yaml").read_text())
NETS = sorted(MANIFEST["networks"])


@pytest.fixture(scope="module")
def split():
    with np.load(DIGITS / "test_split.npz") as d:
        return d["images"], d["labels"]


@pytest.fixture(scope="module")
def graphs():
    return {name: read_native(DIGITS / f"{name}.yaml") for name in NETS}


@pytest.fixture(scope="module")
def exact_logits(graphs, split):
    return {name: run_graph(g, {g.inputs[0].name: split[0]})[g.outputs[0]]
            for name, g in graphs.items()}


def weight_nodes(graph):
    return [n for n in graph.nodes if n.op in ("Conv", "Gemm", "MatMul")]


def test_manifest_lists_the_three_networks_and_files():
    assert NETS == ["digits_cnn_sparse", "digits_cnn_twn", "digits_resnet20"]
    for entry in MANIFEST["networks"].values():
        for f in entry["files"].values():
            assert (DIGITS / f).is_file(), f
    assert MANIFEST["command"] == "python workloads/digits/train_digits.py"
    assert isinstance(MANIFEST["seed"], int)


def test_shipped_files_are_small():
    total = sum(p.stat().st_size for p in DIGITS.iterdir() if p.is_file())
    assert total < 400_000, total


def test_split_shape(split):
    images, labels = split
    assert images.dtype == np.float32 and images.shape == (360, 1, 8, 8)
    assert labels.shape == (360,) and set(np.unique(labels)) == set(range(10))
    assert images.min() >= 0 and images.max() <= 1
    assert MANIFEST["data"]["test_samples"] == len(labels)


@pytest.mark.parametrize("name", NETS)
def test_loads_with_levels_kept(name, graphs):
    g = graphs[name]
    net = load_network(str(DIGITS / f"{name}.yaml"))
    entry = MANIFEST["networks"][name]
    assert [la.name for la in net.layers] == [n.name for n in weight_nodes(g)]
    assert "levels from the file kept" in net.quantizer
    assert net.input_shape == (1, 8, 8)
    for la in net.layers:
        w = g.initializers[la.weight_name]
        assert la.weight_bits == 2 and w.bits == 2
        assert np.array_equal(la.weights.reshape(w.data.shape), w.data)
    assert net.total_params == entry["parameters"] == trainable_parameter_count(g)
    assert net.total_macs == entry["macs"]["total"]
    assert {la.name: la.macs for la in net.layers} == entry["macs"]["per_layer"]


@pytest.mark.parametrize("name", NETS)
def test_every_weight_layer_reads_an_unsigned_8bit_quant(name, fat, graphs):
    """The precondition of the bit-serial path, and of exactness."""
    g = graphs[name]
    producers = {o: n for n in g.nodes for o in n.outputs}
    acc_bits = fat.datatypes.accumulator_bits
    for node in weight_nodes(g):
        w = g.initializers[node.inputs[1]]
        assert w.dtype == "int8" and set(np.unique(w.data)) <= {-1, 0, 1}
        assert w.scale.dtype == np.float32 and np.all(w.scale > 0)
        assert int(np.prod(w.scale.shape)) == w.data.shape[0]  # one scale per out channel
        q = producers[node.inputs[0]]
        assert q.op == "Quant" and q.attrs["signed"] == 0 and q.attrs["narrow"] == 0
        scale, zp, bits = (float(g.initializers[q.inputs[i]].data) for i in (1, 2, 3))
        assert zp == 0.0 and bits == 8
        assert scale == 2.0 ** round(np.log2(scale))  # power of two: exact products
        assert 255 * int(np.prod(w.data.shape[1:])) < 2 ** (acc_bits - 1)


@pytest.mark.parametrize("name", NETS)
def test_onnx_imports_to_the_same_layers(name):
    pytest.importorskip("onnx")
    from imcsim.workload.onnx_import import import_onnx

    native = load_network(str(DIGITS / f"{name}.yaml"))
    imported = load_network(str(DIGITS / f"{name}.onnx"))
    assert isinstance(import_onnx(DIGITS / f"{name}.onnx").nodes, list)
    assert [(la.name, la.macs) for la in imported.layers] == \
        [(la.name, la.macs) for la in native.layers]
    for a, b in zip(imported.layers, native.layers, strict=True):
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.scale, b.scale)
    assert imported.total_params == native.total_params


@pytest.mark.parametrize("name", NETS)
def test_onnx_gives_the_same_predictions(name, graphs, split):
    pytest.importorskip("onnx")
    from imcsim.workload.onnx_import import import_onnx

    g = import_onnx(DIGITS / f"{name}.onnx")
    assert np.array_equal(predict(g, split[0]), predict(graphs[name], split[0]))


@pytest.mark.parametrize("name", NETS)
def test_exact_accuracy_is_the_manifest_one(name, graphs, split):
    acc = accuracy(graphs[name], *split)
    rec = MANIFEST["networks"][name]["accuracy"]
    assert acc.samples == rec["samples"] == 360
    assert acc.correct == rec["imcsim_exact_correct"]
    assert round(acc.value, 6) == rec["imcsim_exact"]
    assert acc.value >= 0.95
    assert abs(rec["torch"] - rec["imcsim_exact"]) <= 0.01


@pytest.mark.parametrize("name", NETS)
def test_fat_bit_serial_reproduces_the_outputs_exactly(name, fat, graphs, split,
                                                      exact_logits):
    """Full held-out split through the micro-programs: logits bit-identical, so the
    predictions and the accuracy are the manifest's."""
    g = graphs[name]
    env = run_graph(g, {g.inputs[0].name: split[0]}, DigitalHook(fat))
    logits = env[g.outputs[0]]
    assert np.array_equal(logits, exact_logits[name])
    correct = int(np.count_nonzero(np.argmax(logits, axis=1) == split[1]))
    rec = MANIFEST["networks"][name]["accuracy"]
    assert correct == rec["imcsim_exact_correct"]
    assert round(correct / len(split[1]), 6) == rec["fat_bit_serial"]


@pytest.mark.parametrize("name", NETS)
def test_sparsity_matches_the_manifest(name, graphs):
    rec = MANIFEST["networks"][name]["sparsity"]
    zeros = total = 0
    per = {}
    for node in weight_nodes(graphs[name]):
        d = graphs[name].initializers[node.inputs[1]].data
        per[node.name] = round(np.count_nonzero(d == 0) / d.size, 6)
        zeros, total = zeros + int(np.count_nonzero(d == 0)), total + d.size
    assert per == rec["per_layer"]
    assert (zeros, total) == (rec["zero_weights"], rec["weights"])
    assert round(zeros / total, 6) == rec["total"]


def test_twn_and_sparse_zero_fractions():
    nets = MANIFEST["networks"]
    for name in ("digits_cnn_twn", "digits_resnet20"):  # TWN: roughly 40% zeros
        assert 0.35 <= nets[name]["sparsity"]["total"] <= 0.5
        assert all(0.3 <= s <= 0.55 for s in nets[name]["sparsity"]["per_layer"].values())
    sparse = nets["digits_cnn_sparse"]["sparsity"]  # top-k: 80% of every layer
    assert sparse["total"] == pytest.approx(0.8, abs=0.005)
    assert all(s == pytest.approx(0.8, abs=0.005) for s in sparse["per_layer"].values())


def test_resnet20_shape(graphs):
    g = graphs["digits_resnet20"]
    convs = [n for n in weight_nodes(g) if "downsample" not in n.name]
    assert len(convs) == 20  # 19 convs + fc
    assert [n.name for n in weight_nodes(g) if "downsample" in n.name] == \
        ["layer2.0.downsample", "layer3.0.downsample"]
    assert sum(n.op == "Add" for n in g.nodes) == 9


def test_cli_run(capsys):
    from imcsim.cli import main

    net = str(DIGITS / "digits_cnn_twn.yaml")
    assert main(["run", "--arch", str(ARCH / "fat.yaml"), "--net", net]) == 0
    text = capsys.readouterr().out
    assert "digits_cnn_twn" in text and "total:" in text
    assert main(["run", "--arch", str(ARCH / "fat.yaml"), "--net", net, "--accuracy",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rec = MANIFEST["networks"]["digits_cnn_twn"]["accuracy"]
    assert doc["accuracy"]["samples"] == 360
    assert round(doc["accuracy"]["reference"], 6) == rec["imcsim_exact"]
    assert round(doc["accuracy"]["simulated"], 6) == rec["imcsim_exact"]
    assert [la["macs"] for la in doc["layers"]] == \
        list(MANIFEST["networks"]["digits_cnn_twn"]["macs"]["per_layer"].values())
