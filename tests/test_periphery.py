"""The digital periphery: where non-MAC work runs (placement), its cost on the vector unit
against the per-class formula, and whole transformer runs with the unit timed."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

import imcsim
from imcsim.arch import load_arch
from imcsim.cli import main
from imcsim.errors import ConfigError, UsageError, WorkloadError
from imcsim.periphery.placement import Placed, place
from imcsim.periphery.plan import op_cost
from imcsim.periphery.work import OP_WORK, class_counts
from imcsim.simulate import simulate
from imcsim.workload.op_kinds import OpWork
from tests.conftest import ARCH

TRANSFORMER = ARCH / "fat_transformer.yaml"


@pytest.fixture(scope="module")
def bert16():
    return imcsim.load_network("bert_base", seq=16)


@pytest.fixture(scope="module")
def unit_arch():
    return load_arch(TRANSFORMER)


def test_without_a_vector_unit_attention_has_nowhere_to_run(fat, bert16):
    with pytest.raises(WorkloadError) as info:
        place(fat, bert16)
    assert info.value.key.startswith("node encoder.layer.0.attention.self.scores (MatMul)")
    # a CNN's non-MAC work stays in the untimed periphery, as before
    cnn = imcsim.load_network("resnet20")
    assert {p.place for p in place(fat, cnn)} == {"periphery"}


def test_placement_by_kind_and_by_op(unit_arch, bert16):
    placed = place(unit_arch, bert16)
    assert {p.place for p in placed} == {"vector_unit"}
    softmax_out = dataclasses.replace(unit_arch, placement=dataclasses.replace(
        unit_arch.placement, ops={"Softmax": "periphery"}))
    where = {p.work.op: p.place for p in place(softmax_out, bert16)}
    assert where["Softmax"] == "periphery" and where["LayerNormalization"] == "vector_unit"
    bad = dataclasses.replace(unit_arch, placement=dataclasses.replace(
        unit_arch.placement, ops={"Softmax": "gpu"}))
    with pytest.raises(ConfigError) as info:
        place(bad, bert16)
    assert info.value.key == "placement.ops.Softmax"
    nowhere = dataclasses.replace(unit_arch, placement=dataclasses.replace(
        unit_arch.placement, activation="periphery"))
    with pytest.raises(WorkloadError, match="untimed periphery"):
        place(nowhere, bert16)


@pytest.mark.parametrize("op, kind", [("Softmax", "reduction"), ("Add", "elementwise"),
                                      ("Transpose", "data"), ("MatMul", "activation")])
def test_op_cost_follows_the_per_class_formula(unit_arch, op, kind):
    unit = unit_arch.vector_unit
    work = OpWork("n", op, kind, macs=4096 if kind == "activation" else 0, elements=1000,
                  output_shape=(1, 1000), index=0)
    cost = op_cost(Placed(work, "vector_unit"), unit, unit_arch.clock.frequency_hz, batch=2)
    if kind == "activation":
        per = {"mac": 4096 * 2}
    else:
        per = {c: n * 1000 * 2 for c, n in OP_WORK.get(op, {kind: 1}).items()}
    assert class_counts(work, 2) == per
    unit_cycles = sum(n * getattr(unit.cycles_per_element, c) for c, n in per.items())
    assert cost.compute_cycles == math.ceil(unit_cycles / unit.lanes)  # unit at 1 GHz
    assert cost.link_cycles == math.ceil(2 * 1000 * 2 * unit.element_bits
                                         / unit.link_bits_per_cycle)
    assert cost.energy_pj["vector_unit"] == pytest.approx(
        sum(n * getattr(unit.energy_pj_per_element, c) for c, n in per.items()))


def test_a_transformer_runs_with_its_vector_work_timed(unit_arch, bert16):
    res = simulate(unit_arch, bert16)
    assert res.cycles == sum(la.cycles for la in res.layers) + sum(op.cycles for op in res.ops)
    assert sum(op.macs for op in res.ops if op.kind == "activation") == bert16.activation_macs
    assert len(res.ops) == len(bert16.other_ops)
    assert all(op.cycles >= 1 for op in res.ops)
    e = res.energy_breakdown_j
    assert e["vector_unit"] > 0 and e["vector_link"] > 0
    assert e["vector_unit_leakage"] == pytest.approx(
        unit_arch.vector_unit.leakage_w * res.time_s)
    assert res.area_breakdown_mm2["vector_unit"] == unit_arch.vector_unit.area_mm2
    # the weight layers are mapped as on fat.yaml: the same arrays
    alone = simulate(load_arch(ARCH / "fat.yaml"), dataclasses.replace(bert16, other_ops=()))
    assert [la.cycles for la in res.layers] == [la.cycles for la in alone.layers]


def test_run_json_and_refusals(capsys):
    assert main(["run", "--arch", str(TRANSFORMER), "--net", "gpt2", "--seq", "4",
                 "--format", "json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {op["kind"] for op in doc["ops"]} == {"activation", "elementwise", "reduction",
                                                 "data"}
    assert main(["run", "--arch", "fat", "--net", "gpt2", "--seq", "4"]) == 2
    err = capsys.readouterr().err
    assert "h.0.attn.scores (MatMul)" in err and "no vector_unit" in err
    assert err.count("\n") == 1


def test_pipelined_batches_with_vector_work_are_refused():
    arch = dataclasses.replace(load_arch(ARCH / "reram_ramp.yaml"),
                               vector_unit=load_arch(TRANSFORMER).vector_unit)
    with pytest.raises(UsageError, match="pipelined batch"):
        simulate(arch, imcsim.load_network("resnet20"), batch=2)
