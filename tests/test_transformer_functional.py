"""A tiny quantized transformer block (one attention head, its two activation x activation
MatMuls fed by quantizers) executed value by value: exactly on the digital bit-serial
design (weight layers and attention products through the micro-programs, equal to the
integer reference), and with noise on an analog crossbar."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imcsim.arch import load_arch
from imcsim.circuits.adder_styles import add_counts
from imcsim.circuits.multiply import multiply_counts
from imcsim.designs.bitserial.functional import DigitalHook
from imcsim.designs.bitserial.matmul_functional import BitSerialMatmul
from imcsim.designs.protocol import HookOptions
from imcsim.designs.registry import design_kind
from imcsim.errors import WorkloadError
from imcsim.functional.graph_exec import run_graph
from imcsim.workload.graph import Graph, Node, Tensor
from tests.conftest import ARCH

S, D = 5, 8  # tokens, model width (one head)


def _quant(name, x, scale, zp, signed):
    """A QONNX Quant node and its constant inputs."""
    consts = {f"{name}.s": np.float64(scale), f"{name}.zp": np.float64(zp),
              f"{name}.bits": np.float64(8)}
    return Node(name, "Quant", [x, *consts], [name], {"signed": int(signed), "narrow": 0}), consts


def tiny_block(seed: int = 0) -> Graph:
    """x -> Q, K, V (ternary weights) -> softmax(Q K^T) V -> output projection."""
    rng = np.random.default_rng(seed)
    inits = {}
    for w in ("wq", "wk", "wv", "wo"):
        inits[w] = Tensor(w, (D, D), "int8", data=rng.integers(-1, 2, (D, D)).astype(np.int8),
                          scale=np.float32(0.5), bits=2)
    nodes, consts = [], {}

    def quant(name, x, scale, zp, signed):
        node, c = _quant(name, x, scale, zp, signed)
        nodes.append(node)
        consts.update(c)
        return name

    def op(name, kind, inputs, **attrs):
        nodes.append(Node(name, kind, inputs, [name], attrs))
        return name

    x = quant("xq", "x", 4 / 128, 128, False)
    q = quant("qq", op("q", "MatMul", [x, "wq"]), 6 / 127, 0, True)
    kt = quant("ktq", op("kt", "Transpose", [op("k", "MatMul", [x, "wk"])], perm=[0, 2, 1]),
               6 / 127, 0, True)
    p = quant("pq", op("p", "Softmax", [op("scores", "MatMul", [q, kt])], axis=-1),
              1 / 255, 0, False)
    v = quant("vq", op("v", "MatMul", [x, "wv"]), 6 / 127, 0, True)
    ctx = quant("ctxq", op("ctx", "MatMul", [p, v]), 6 / 128, 128, False)
    out = op("out", "MatMul", [ctx, "wo"])
    for name, value in consts.items():
        inits[name] = Tensor(name, (), "float64", data=np.asarray(value))
    return Graph("tiny", [Tensor("x", (1, S, D))], [out], nodes, inits)


@pytest.fixture(scope="module")
def graph():
    return tiny_block()


@pytest.fixture(scope="module")
def feeds():
    return {"x": np.random.default_rng(1).standard_normal((3, S, D))}


def test_digital_design_runs_the_block_exactly(graph, feeds):
    fat = load_arch(ARCH / "fat_transformer.yaml")
    exact = run_graph(graph, feeds)
    matmul = BitSerialMatmul(fat)
    digital = run_graph(graph, feeds, DigitalHook(fat), matmul=matmul)
    for name in ("scores", "ctx", "out"):
        np.testing.assert_allclose(digital[name], exact[name], rtol=0, atol=1e-9)
    # the integer products themselves, from the quantized operands
    qa = np.rint(exact["qq"] / (6 / 127)).astype(np.int64)
    qb = np.rint(exact["ktq"] / (6 / 127)).astype(np.int64)
    np.testing.assert_array_equal(
        np.rint(digital["scores"] / (6 / 127) ** 2).astype(np.int64), qa @ qb)
    assert np.abs(exact["scores"]).max() > 0  # not a product of zeros
    # every step ran, all columns at once: per k, the operands' rows written, one multiply
    # and one accumulate (the programs' own counts), for both attention products
    style, acc = fat.sense_amp.kind, fat.datatypes.accumulator_bits
    assert [(k, chunks) for _, _, k, chunks in matmul.calls] == [(D, 1), (S, 1)]
    for key in ("write", "activate", "sense"):
        want = sum(k * chunks * ((wa + wb) * (key == "write")
                                 + multiply_counts(style, wa, wb).get(key, 0)
                                 + add_counts(style, acc).get(key, 0))
                   for wa, wb, k, chunks in matmul.calls)
        assert matmul.counts[key] == want, key


def test_the_kind_gives_the_multiply_hook_only_for_attention_on_the_arrays():
    fat = load_arch(ARCH / "fat_transformer.yaml")
    kind = design_kind("bitserial")
    on = HookOptions(functional=True)
    assert kind.matmul_hook(fat, on) is None  # placed on the vector unit: exact
    arrays = load_arch(ARCH / "fat_transformer.yaml", {"placement.activation": "arrays"})
    assert isinstance(kind.matmul_hook(arrays, on), BitSerialMatmul)
    assert kind.matmul_hook(arrays, HookOptions()) is None


def test_operands_not_from_a_quantizer_are_refused(graph, feeds):
    fat = load_arch(ARCH / "fat_transformer.yaml")
    plain = dataclasses.replace(graph, nodes=[
        dataclasses.replace(n, inputs=["q", "kt"]) if n.name == "scores" else n
        for n in graph.nodes])
    with pytest.raises(WorkloadError, match="from a quantizer") as info:
        run_graph(plain, feeds, DigitalHook(fat), matmul=BitSerialMatmul(fat))
    assert "scores" in info.value.key


def test_an_analog_design_runs_the_block_with_noise(graph, feeds):
    pcm = load_arch(ARCH / "pcm.yaml")
    hook, _ = design_kind("crossbar").accuracy_hook(pcm, np.random.default_rng(0),
                                                    HookOptions())
    exact = run_graph(graph, feeds)["out"]
    noisy = run_graph(graph, feeds, hook)["out"]
    err = np.abs(noisy - exact).max() / np.abs(exact).max()
    assert 0 < err < 0.5
    assert np.corrcoef(noisy.ravel(), exact.ravel())[0, 1] > 0.9
