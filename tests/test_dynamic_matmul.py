"""Attention's activation x activation matmuls on a design's own arrays (placement
`arrays`): the bit-serial model against its formula built from the micro-programs, the
crossbar model's programming and endurance, the placement's errors, and a decode step's
per-token report."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import imcsim
from imcsim.arch import load_arch
from imcsim.circuits import microprogram as mp
from imcsim.circuits.multiply import multiply_program
from imcsim.cli import main
from imcsim.designs.bitserial.costs import primitive_costs, subarray_op_costs
from imcsim.designs.bitserial.dynamic import dynamic_matmul
from imcsim.designs.bitserial.plan import resources
from imcsim.errors import ConfigError, WorkloadError
from imcsim.periphery.placement import place
from imcsim.workload.op_kinds import OpWork
from tests.conftest import ARCH


def _on_arrays(arch):
    return dataclasses.replace(arch, placement=dataclasses.replace(arch.placement,
                                                                   activation="arrays"))


@pytest.fixture(scope="module")
def fat_t():
    return load_arch(ARCH / "fat_transformer.yaml")


@pytest.fixture(scope="module")
def bert8():
    return imcsim.load_network("bert_base", seq=8)


def _matmul(heads, m, k, n):
    return OpWork("att", "MatMul", "activation", heads * m * n * k, heads * m * n,
                  (1, heads, m, n), 0)


@pytest.mark.parametrize("heads,m,k,n", [(12, 128, 64, 128), (2, 3, 5, 7), (12, 1, 64, 1024)])
def test_bitserial_matmul_follows_its_micro_programs(fat_t, heads, m, k, n):
    """Cycles of the busiest subarray and the cells written, from the multiply program's
    own instructions (not its closed form) and the docstring's schedule."""
    names = [r.name for r in resources(fat_t)]
    got = dynamic_matmul(fat_t, _matmul(heads, m, k, n), 1, names, 0)
    bits, acc = fat_t.datatypes.activation_bits, fat_t.datatypes.accumulator_bits
    prim, ops = primitive_costs(fat_t), subarray_op_costs(fat_t)
    rows = list(range(5 * bits))
    program = multiply_program(fat_t.sense_amp.kind, rows[:bits], rows[bits:2 * bits],
                               rows[2 * bits:4 * bits], rows[4 * bits:5 * bits], 200, 201,
                               202 if fat_t.sense_amp.kind == "parapim" else None)
    mul_cycles = prim.cost(dict(mp.program_counts(program))).cycles
    slots = fat_t.subarrays * fat_t.chip.columns
    copies = max(1, min(m, slots // (heads * n)))
    jobs, per_job = heads * n * copies, -(-m // copies)
    stationary = k * bits + 4 * bits + acc + ops.reserved_rows <= fat_t.chip.rows
    step = (bits if stationary else 2 * bits) * ops.load_row.cycles + mul_cycles + ops.add.cycles
    out = k * step + acc * (ops.readout_row.cycles + ops.reset_row.cycles)
    used = min(fat_t.subarrays, -(-jobs // fat_t.chip.columns))
    busiest = -(-jobs // used)  # jobs of the busiest subarray
    rounds = -(-busiest // fat_t.chip.columns)
    b_once = k * bits * ops.load_row.cycles if stationary else 0
    assert got.phase.final_cycles.max() == rounds * (b_once + per_job * out)
    assert len(got.phase) == used
    a_bits = heads * n * m * k * bits
    b_bits = jobs * k * bits if stationary else a_bits
    assert got.written_bits == a_bits + b_bits
    assert got.details["multiply_cycles"] == mul_cycles
    assert got.endurance is None  # SOT-MRAM's endurance is not stated as a limit


def test_attention_placed_on_bitserial_arrays_runs_there(fat_t, bert8):
    arrays = imcsim.run(_on_arrays(fat_t), bert8)
    unit = imcsim.run(fat_t, bert8)
    doc = arrays.to_dict()
    att = [op for op in doc["ops"] if op["kind"] == "activation"]
    assert att and {op["unit"] for op in att} == {"arrays"}
    assert all(op["details"]["written_bits"] > 0 for op in att)
    assert {op["unit"] for op in unit.to_dict()["ops"]} == {"vector_unit"}
    assert all(layer["unit"] == "arrays" for layer in doc["layers"])
    # the weight layers are the same work either way
    assert [la["cycles"] for la in doc["layers"]] == \
        [la["cycles"] for la in unit.to_dict()["layers"]]
    assert "on the arrays: 24 nodes" in arrays.text()
    assert sum(op["cycles"] for op in doc["ops"]) + sum(la["cycles"] for la in doc["layers"]) \
        == doc["total"]["cycles"]


def test_attention_on_reram_crossbars_reports_programming_and_endurance(bert8):
    arch = load_arch(ARCH / "reram_transformer.yaml")
    default = place(arch, bert8)
    assert {p.place for p in default if p.work.kind == "activation"} == {"vector_unit"}
    res = imcsim.run(_on_arrays(arch), bert8)
    att = [op for op in res.to_dict()["ops"] if op["kind"] == "activation"]
    assert len(att) == 24 and {op["unit"] for op in att} == {"arrays"}
    endurance = arch.crossbar.programming.endurance_writes
    for op in att:
        d = op["details"]
        assert op["energy_breakdown_j"]["programming"] > 0
        assert d["written_bits"] == d["heads"] * d["k"] * d["n"] * 2 * 8  # pair x 8 slices
        assert d["inferences_to_endurance"] == endurance / d["writes_per_cell"]
    per_run = sum(op["details"]["writes_per_cell"] for op in att)
    assert f"endurance {endurance:.3g} writes: {endurance / per_run:.3g} runs" in res.text()


def test_only_matmuls_of_two_activations_go_to_the_arrays(fat_t, bert8):
    softmax = dataclasses.replace(fat_t, placement=dataclasses.replace(
        fat_t.placement, ops={"Softmax": "arrays"}))
    with pytest.raises(ConfigError) as info:
        place(softmax, bert8)
    assert info.value.key == "placement.ops.Softmax"
    with pytest.raises(ConfigError) as info:  # a kind of work other than activation
        load_arch(ARCH / "fat_transformer.yaml", {"placement.elementwise": "arrays"})
    assert info.value.key == "placement.elementwise"
    assert load_arch(ARCH / "fat_transformer.yaml",
                     {"placement.activation": "arrays"}).placement.activation == "arrays"


def test_an_array_that_cannot_be_rewritten_names_the_node(bert8):
    aid = _on_arrays(load_arch(ARCH / "aid_sram.yaml"))
    with pytest.raises(WorkloadError, match="placed on the arrays, but the AID") as info:
        imcsim.run(aid, bert8)
    assert info.value.key.startswith("node encoder.layer.0.attention.self.scores")


def test_gpt2_decode_step_with_a_full_cache_reports_per_token(capsys):
    assert main(["run", "--arch", "fat_transformer", "--net", "gpt2", "--decode",
                 "--kv-cache", "1024", "--format", "json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    net = doc["network"]
    assert net["kv_cache_tokens"] == 1024 and net["kv_written_into"] == "buffer"
    assert net["kv_bytes_written"] == 12 * 2 * 768
    assert net["kv_bytes_read"] == 12 * 2 * 1024 * 768
    assert net["latency_per_token_s"] == pytest.approx(doc["total"]["latency_s"])
    assert net["energy_per_token_j"] == pytest.approx(doc["total"]["energy_j"])
    assert np.isfinite(net["energy_per_token_j"]) and net["energy_per_token_j"] > 0


def test_the_trace_and_files_show_the_units(tmp_path, fat_t, bert8):
    """Nodes timed beside the weight layers get their names in the trace, rows in
    layers.csv (with their unit) and bars of their unit's colour in the cycles plot."""
    res = imcsim.run(_on_arrays(fat_t), bert8)
    res.save(trace=tmp_path / "t.json", out=tmp_path / "o")
    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    tracks = {e["args"].get("name") for e in events if e.get("ph") == "M"}
    assert {"vector", "vector.link"} <= tracks
    named = {e["args"]["layer_name"] for e in events if e.get("ph") == "X"}
    assert {"encoder.layer.0.attention.self.scores", "encoder.layer.0.attention.output.LayerNorm",
            "encoder.layer.0.attention.self.query.matmul"} <= named
    rows = (tmp_path / "o" / "layers.csv").read_text().splitlines()
    units = [line.split(",")[2] for line in rows[1:]]
    assert set(units) == {"arrays", "vector_unit"}
    from imcsim.report.plots import _figure_run_cycles

    ax = _figure_run_cycles(res.to_dict()).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["arrays", "vector unit"]
