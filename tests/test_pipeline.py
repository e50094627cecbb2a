"""Batches and pipelines: the schedule's recurrences against an independent simpy model,
its bounds, and the batch runs of each kind of design."""

from __future__ import annotations

import json

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import imcsim
from imcsim.arch import load_arch
from imcsim.cli import main
from imcsim.pipeline import schedule
from imcsim.simulate import simulate
from tests.conftest import ARCH


def simpy_pipeline(stage_cycles, capacity, inputs, entry):
    """Stages as processes taking inputs in order; a stage takes a slot of its output
    buffer (a container of `capacity` slots) before it starts an input and gives back a
    slot of its input buffer when it has finished one."""
    env = simpy.Environment()
    n = len(stage_cycles)
    done = [[env.event() for _ in range(inputs)] for _ in range(n)]
    slots = [simpy.Container(env, capacity=c, init=c) for c in capacity]
    ends = np.zeros((n, inputs), dtype=np.int64)

    def stage(k):
        for i in range(inputs):
            if k == 0:
                yield env.timeout(max(0, i * entry - env.now))
            else:
                yield done[k - 1][i]
            if k < n - 1:
                yield slots[k].get(1)
            yield env.timeout(stage_cycles[k])
            ends[k, i] = env.now
            if k > 0:
                yield slots[k - 1].put(1)
            done[k][i].succeed()

    for k in range(n):
        env.process(stage(k))
    env.run()
    return ends


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_schedule_equals_an_event_simulation(data):
    n = data.draw(st.integers(1, 5))
    cycles = [data.draw(st.integers(1, 40)) for _ in range(n)]
    capacity = [data.draw(st.integers(1, 3)) for _ in range(n - 1)]
    inputs = data.draw(st.integers(1, 8))
    entry = data.draw(st.integers(0, 50))
    sched = schedule(cycles, capacity, inputs, entry)
    assert np.array_equal(sched.end, simpy_pipeline(cycles, capacity, inputs, entry))
    # never faster than the slowest stage or the shared resources allow
    if inputs > 1:
        assert sched.interval_cycles >= max(max(cycles), entry) - 1e-9
    if all(c >= inputs for c in capacity):
        assert sched.blocked.sum() == 0


def test_a_small_buffer_stalls_the_stage_before_a_slow_one():
    """Fast, slow, fast: with one slot the first stage waits for the slow one to finish
    each input before it may start the next; with two it runs ahead."""
    one = schedule([10, 50, 10], [1, 1], 6)
    two = schedule([10, 50, 10], [2, 2], 6)
    assert one.blocked[0] > 0 and two.blocked[0] < one.blocked[0]
    assert two.interval_cycles == pytest.approx(50)
    assert one.latency_cycles == two.latency_cycles == 70


@pytest.fixture(scope="module")
def resnet18():
    return imcsim.load_network("resnet18")


@pytest.mark.parametrize("design", ["reram_ramp.yaml", "pcm.yaml"])
def test_resident_designs_pipeline_a_batch(design, resnet18):
    arch = load_arch(ARCH / design)
    res = simulate(arch, resnet18, batch=16)
    doc = res.to_dict()
    total, pipe = doc["total"], doc["pipeline"]
    assert total["batch"] == 16 and pipe is not None
    assert total["throughput_per_s"] >= 3 / total["latency_s"]
    slowest = max(s["cycles_per_input"] for s in pipe["stages"])
    assert total["throughput_per_s"] <= arch.clock.frequency_hz / slowest * (1 + 1e-9)
    # buffers and weight copies are reported
    assert all(s["buffer_kib"] > 0 for s in pipe["stages"][:-1])
    assert pipe["inter_stage_buffer_kib"] == pytest.approx(
        sum(s["buffer_kib"] for s in pipe["stages"][:-1]))
    assert all(la["details"]["mapping"]["copies"] >= 1 for la in doc["layers"])
    assert sum(la["details"]["mapping"]["copies"] > 1 for la in doc["layers"]) > 0
    # a batch of 16 costs 16 inputs' dynamic energy, its leakage over its own length
    single = simulate(arch, resnet18)
    dynamic = {k: v for k, v in res.energy_breakdown_j.items() if k != "leakage"}
    assert sum(dynamic.values()) == pytest.approx(
        16 * sum(v for k, v in single.energy_breakdown_j.items() if k != "leakage"))
    assert res.energy_breakdown_j["leakage"] == pytest.approx(
        single.energy_breakdown_j["leakage"] * res.cycles / single.cycles)


def test_too_small_inter_stage_buffers_stall_the_pipeline(resnet18):
    runs = {k: simulate(load_arch(ARCH / "pcm.yaml", {"pipeline.stage_buffer_inputs": k}),
                        resnet18, batch=8) for k in (1, 2)}
    assert runs[1].pipeline["blocked_cycles"] > 0
    assert runs[1].throughput_per_s < runs[2].throughput_per_s
    assert runs[1].latency_s == runs[2].latency_s  # the first input never waits


def test_digital_batch_runs_inputs_side_by_side(fat, resnet20):
    """No resident weights: layer by layer, the batch's pixels side by side; an FC layer's
    weights are scanned once per batch, so a batch costs less per input."""
    one, four = simulate(fat, resnet20), simulate(fat, resnet20, batch=4)
    assert four.pipeline is None and four.batch == 4
    assert four.macs == 4 * one.macs
    assert four.cycles < 4 * one.cycles and four.energy_j < 4 * one.energy_j
    fc1, fc4 = one.layers[-1], four.layers[-1]
    assert fc4.details["skipped"] == fc1.details["skipped"]  # zeros met once per batch
    assert four.latency_s == four.time_s
    assert four.throughput_per_s == pytest.approx(4 / four.time_s)


def test_batch_on_the_command_line(capsys, tmp_path):
    assert main(["run", "--arch", "pcm", "--net", "resnet20", "--batch", "4", "--format",
                 "json", "--quiet", "--trace", str(tmp_path / "t.json"), "--plot",
                 str(tmp_path / "plots"), "--plot-format", "svg"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["total"]["batch"] == 4 and "pipeline" in doc
    trace = json.loads((tmp_path / "t.json").read_text())
    slices = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    assert len(slices) == 4 * len(doc["layers"])  # a slice per input per stage
    # the single-input record's timeline would mislead: the pipeline's Gantt instead
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "pipeline.svg", "run_cycles.svg", "run_energy.svg", "run_utilisation.svg"]
    assert main(["run", "--arch", "fat", "--net", "resnet20", "--batch", "0"]) == 2
    assert "batch" in capsys.readouterr().err
