"""The zoo's transformers against counts derived independently from their published
configurations (layers L, width d, MLP width f, heads h, vocabulary and positions):

    weight MACs per token and layer = d (3 d) + d d + 2 d f     (Q, K, V; output; MLP)
    attention MACs per layer        = 2 h s^2 (d / h)            (Q K^T and A V)

plus each model's own extras, and the parameter totals of the published models
(torchvision vit_b_16; bert-base-uncased with its pooler; GPT-2 124 M with the LM head
tied to the token embedding). Graphs are built without drawing their weights."""

from __future__ import annotations

import json

import pytest

from imcsim.cli import main
from imcsim.errors import UsageError
from imcsim.workload.builder import deferred_weights
from imcsim.workload.graph import trainable_parameter_count
from imcsim.workload.loader import read_graph
from imcsim.workload.op_kinds import ACTIVATION, WEIGHT, graph_work
from imcsim.workload.shapes import infer_shapes

L, D, F, H = 12, 768, 3072, 12


def encoder_macs(tokens: int) -> tuple[int, int]:
    per_layer = tokens * (D * 3 * D + D * D + 2 * D * F)
    return L * per_layer, L * 2 * H * tokens * tokens * (D // H)


def layer_params(ln: int = 2) -> int:
    """One layer: Q, K, V, output and two MLP Linears with biases, `ln` LayerNorms."""
    return (3 * D * D + 3 * D) + (D * D + D) + (D * F + F) + (F * D + D) + ln * 2 * D


def counts(name: str, seq: int | None = None) -> tuple[int, int, int]:
    with deferred_weights():
        graph = read_graph(name, 0, seq=seq)
    work = graph_work(graph, infer_shapes(graph, source=name), name)
    weight = sum(w.macs for w in work if w.kind == WEIGHT)
    act = sum(w.macs for w in work if w.kind == ACTIVATION)
    return weight, act, trainable_parameter_count(graph)


def test_vit_b_16():
    weight, act, params = counts("vit_b_16")
    enc_w, enc_a = encoder_macs(197)
    patches = 196 * D * (3 * 16 * 16)
    assert weight == patches + enc_w + D * 1000 == 16_848_500_736  # published-figures.md
    assert act == enc_a == 715_327_488
    embed = D * 3 * 16 * 16 + D + D + 197 * D  # patch conv with bias, class token, positions
    assert params == embed + L * layer_params() + 2 * D + D * 1000 + 1000 == 86_567_656


@pytest.mark.parametrize("seq", [None, 16, 512])
def test_bert_base(seq):
    tokens = seq or 128
    weight, act, params = counts("bert_base", seq)
    enc_w, enc_a = encoder_macs(tokens)
    assert weight == enc_w + D * D  # the pooler's dense layer on the first token
    assert act == enc_a
    embeddings = (30522 + 512 + 2) * D + 2 * D
    assert params == embeddings + L * layer_params() + D * D + D == 109_482_240


@pytest.mark.parametrize("seq", [None, 16, 1024])
def test_gpt2(seq):
    tokens = seq or 128
    weight, act, params = counts("gpt2", seq)
    enc_w, enc_a = encoder_macs(tokens)
    assert weight == enc_w + tokens * D * 50257  # LM head, tied to the token embedding
    assert act == enc_a  # causal attention computed dense, masked
    embeddings = 50257 * D + 1024 * D
    assert params == embeddings + L * layer_params() + 2 * D == 124_439_808


def test_seq_is_checked():
    with pytest.raises(UsageError, match="1..1024 tokens"):
        read_graph("gpt2", 0, seq=1025)
    with pytest.raises(UsageError, match="no token sequence"):
        read_graph("vit_b_16", 0, seq=16)


def test_workload_info_prints_the_split(capsys):
    assert main(["workload", "info", "gpt2", "--seq", "8"]) == 0
    out = capsys.readouterr().out
    weight, act, _ = counts("gpt2", 8)
    assert f"weight MACs: {weight:,}" in out and f"activation x activation MACs: {act:,}" in out


@pytest.mark.parametrize("cache", [1, 128, 1024])
def test_gpt2_decode_step(cache):
    """One new token, the cache N tokens once it is added: one token's weight MACs,
    attention over N positions, the N - 1 earlier tokens' K/V as graph inputs (no
    parameters), and the K/V traffic."""
    with deferred_weights():
        graph = read_graph("gpt2", 0, kv_cache=cache)
    work = graph_work(graph, infer_shapes(graph, source="gpt2"), "gpt2")
    weight = sum(w.macs for w in work if w.kind == WEIGHT)
    act = sum(w.macs for w in work if w.kind == ACTIVATION)
    assert weight == encoder_macs(1)[0] + D * 50257
    assert act == L * 2 * H * cache * (D // H)
    past = [t for t in graph.inputs if t.name.startswith("past_")]
    assert len(past) == (2 * L if cache > 1 else 0)
    assert all(t.shape == (1, H, cache - 1, D // H) for t in past)
    assert trainable_parameter_count(graph) == 124_439_808
    assert graph.meta["kv_elements_written"] == L * 2 * D
    assert graph.meta["kv_elements_read"] == L * 2 * cache * D


def test_decode_options_are_checked(capsys):
    for bad in (0, 1025):
        with pytest.raises(UsageError, match="1..1024"):
            read_graph("gpt2", 0, kv_cache=bad)
    with pytest.raises(UsageError, match="no decoder"):
        read_graph("bert_base", 0, kv_cache=4)
    assert main(["workload", "info", "gpt2", "--kv-cache", "4"]) == 2
    assert "go together" in capsys.readouterr().err
    assert main(["run", "--arch", "fat_transformer", "--net", "gpt2", "--decode",
                 "--kv-cache", "8", "--format", "json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["network"]["kv_cache_tokens"] == 8 and doc["total"]["batch"] == 1
    assert sum(op["macs"] for op in doc["ops"] if op["kind"] == "activation") == \
        L * 2 * H * 8 * (D // H)
