"""Chrome/Perfetto trace export: structure, exact busy cycles (also aggregated), atomic write."""

from __future__ import annotations

import json

import pytest

from imcsim.engine.types import BUS, COMPUTE, CONTROLLER, JobRecord, Resource
from imcsim.errors import UsageError
from imcsim.report.trace import (
    COUNTER_NAME,
    binned_busy_lane_cycles,
    build_trace,
    busy_lane_steps,
    busy_steps,
    trace_busy_cycles,
    write_trace,
)

SMALL_CHIP = [Resource("bank0.ctrl", CONTROLLER, 1, "bank 0"),
              Resource("bank0.bus", BUS, 1, "bank 0"),
              Resource("bank0.sub0", COMPUTE, 8, "bank 0"),
              Resource("bank0.sub1", COMPUTE, 8, "bank 0"),
              Resource("bank1.sub0", COMPUTE, 8, "bank 1")]

X_KEYS = {"name", "cat", "ph", "pid", "tid", "ts", "dur", "args"}
ARG_KEYS = {"layer", "kind", "start_cycle", "end_cycle", "busy_cycles", "merged"}


@pytest.fixture(scope="module")
def run_fat(fat, resnet20):
    from imcsim.simulate import simulate

    return simulate(fat, resnet20)


def small_record() -> JobRecord:
    """Three compute units of 8 lanes each; steps with all (-1) or some of their lanes."""
    rec = JobRecord(resources=SMALL_CHIP)
    for res, kind, layer, s, e, lanes in [
        ("bank0.ctrl", "weights", 0, 0, 4, -1), ("bank0.bus", "transfer", 0, 0, 6, -1),
        ("bank0.sub0", "compute", 0, 0, 10, -1), ("bank0.sub1", "compute", 0, 2, 12, 4),
        ("bank1.sub0", "compute", 0, 0, 5, -1), ("bank0.sub0", "compute", 1, 12, 20, 2),
        ("bank0.sub1", "compute", 1, 12, 14, 8), ("adc.pool", "convert", 1, 14, 15, -1),
        ("bank0.sub1", "program", 1, 14, 16, -1),
    ]:
        rec.add(res, kind, layer, s, e, lanes)
    return rec


def x_events(doc):
    return [e for e in doc["traceEvents"] if e["ph"] == "X"]


def thread_names(doc):
    return {(e["pid"], e["tid"]): e["args"]["name"] for e in doc["traceEvents"]
            if e["ph"] == "M" and e["name"] == "thread_name"}


def check_structure(doc, frequency_hz):
    assert isinstance(doc["traceEvents"], list)
    names = thread_names(doc)
    procs = {e["pid"]: e["args"]["name"] for e in doc["traceEvents"]
             if e["ph"] == "M" and e["name"] == "process_name"}
    for e in x_events(doc):
        assert X_KEYS <= e.keys() and ARG_KEYS <= e["args"].keys()
        a = e["args"]
        assert e["ts"] == pytest.approx(a["start_cycle"] / frequency_hz * 1e6, abs=1e-6)
        assert e["dur"] == pytest.approx((a["end_cycle"] - a["start_cycle"])
                                         / frequency_hz * 1e6, abs=1e-6)
        assert 0 < a["busy_cycles"] <= a["end_cycle"] - a["start_cycle"]
        assert e["cat"] == a["kind"]
        res = names[(e["pid"], e["tid"])]
        assert e["pid"] in procs
        if res.startswith("bank"):
            assert procs[e["pid"]] == "bank " + res[4:].split(".")[0]
    # events on one track never overlap (each resource holds one step at a time)
    by_track: dict = {}
    for e in x_events(doc):
        by_track.setdefault((e["pid"], e["tid"]), []).append(
            (e["args"]["start_cycle"], e["args"]["end_cycle"]))
    for spans in by_track.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_small_record_layout_and_counter(tmp_path):
    rec = small_record()
    path = write_trace(tmp_path / "t.json", rec, 2e9, layer_names=["conv1", "fc"])
    doc = json.loads(path.read_text())
    check_structure(doc, 2e9)
    names = thread_names(doc)
    assert names[(1, 0)] == "bank0.ctrl" and names[(1, 1)] == "bank0.bus"
    assert names[(1, 2)] == "bank0.sub0" and names[(2, 0)] == "bank1.sub0"
    assert names[(0, 1)] == "adc.pool"  # not in the resource table: the chip process
    assert trace_busy_cycles(doc) == rec.busy_cycles()
    (ctrl,) = [e for e in x_events(doc) if (e["pid"], e["tid"]) == (1, 0)]
    assert ctrl["args"]["layer_name"] == "conv1" and ctrl["name"] == "conv1 weights"
    assert ctrl["args"]["start_cycle"] == 0 and ctrl["args"]["end_cycle"] == 4
    counter = [(e["ts"], e["args"][COUNTER_NAME]) for e in doc["traceEvents"]
               if e["ph"] == "C"]
    # lanes computing: 16 at 0, 20 at 2 (1 ns), 12 at 5, 4 at 10, 10 at 12, 2 at 14 ...
    assert counter == [(0.0, 16), (0.001, 20), (0.0025, 12), (0.005, 4), (0.006, 10),
                       (0.007, 2), (0.01, 0)]
    assert doc["otherData"]["busy_lanes_counter"] == "exact"
    assert doc["otherData"]["compute_lanes"] == 24


def test_busy_steps_and_bins_are_exact():
    rec = small_record()
    change, level = busy_lane_steps(rec)
    assert list(change) == [0, 2, 5, 10, 12, 14, 20]
    assert list(level) == [16, 20, 12, 4, 10, 2, 0]
    busy = binned_busy_lane_cycles(rec, [0, 2.5, 7, 20, 30])
    assert list(busy) == pytest.approx([42.0, 74.0, 76.0, 0.0])
    assert busy.sum() == 10 * 8 + 10 * 4 + 5 * 8 + 8 * 2 + 2 * 8  # the program step: none
    _, (change, level) = busy_steps(rec)
    assert list(level) == [2, 3, 2, 1, 2, 1, 0]


def test_counter_and_timeline_agree_with_the_reported_utilisation(run_fat):
    """The trace counter integrates to the busy lane-cycles the per-layer table reports."""
    rec = run_fat.record
    change, level = busy_lane_steps(rec)
    total = float((level[:-1] * (change[1:] - change[:-1])).sum())
    reported = sum(la.utilisation * la.cycles for la in run_fat.layers)
    assert total / (rec.compute_lanes() * run_fat.cycles) == pytest.approx(
        reported / run_fat.cycles, rel=1e-12)
    assert rec.compute_lanes() == run_fat.lanes_total


def test_real_run_busy_cycles_equal_record(run_fat, tmp_path):
    rec = run_fat.record
    path = write_trace(tmp_path / "run.json", rec, run_fat.frequency_hz,
                       layer_names=[la.name for la in run_fat.layers])
    doc = json.loads(path.read_text())
    check_structure(doc, run_fat.frequency_hz)
    assert len(x_events(doc)) == len(rec)
    assert all(e["args"]["merged"] == 1 for e in x_events(doc))
    assert trace_busy_cycles(doc) == rec.busy_cycles()
    assert doc["otherData"]["aggregated_tracks"] == {}


@pytest.mark.parametrize("limit", [2, 30, 200])
def test_aggregation_bounds_tracks_and_preserves_busy_cycles(run_fat, tmp_path, limit):
    rec = run_fat.record
    doc = json.loads(write_trace(tmp_path / "agg.json", rec, run_fat.frequency_hz,
                                 max_events_per_track=limit).read_text())
    check_structure(doc, run_fat.frequency_hz)
    assert trace_busy_cycles(doc) == rec.busy_cycles()
    per_track: dict = {}
    for e in x_events(doc):
        per_track.setdefault((e["pid"], e["tid"]), []).append(e)
    steps: dict = {}
    for r, k, la, s in zip(rec.resource, rec.kind, rec.layer, rec.start, strict=True):
        steps.setdefault(r, []).append((s, k, la))
    names = thread_names(doc)
    aggregated = doc["otherData"]["aggregated_tracks"]
    for key, events in per_track.items():
        res = names[key]
        assert sum(e["args"]["merged"] for e in events) == len(steps[res])
        # at most the limit, unless the runs of one kind and layer alone exceed it
        kinds_layers = [(k, la) for _, k, la in sorted(steps[res])]
        runs = 1 + sum(a != b for a, b in zip(kinds_layers, kinds_layers[1:], strict=False))
        assert len(events) <= max(limit, runs)
        assert (res in aggregated) == (len(events) < len(steps[res]))
    assert len([e for e in doc["traceEvents"] if e["ph"] == "C"]) <= limit
    assert len(x_events(doc)) < len(rec)


def test_merged_events_keep_kind_and_layer():
    rec = JobRecord(resources=SMALL_CHIP)
    t = 0
    for layer in (0, 1):
        for _ in range(10):
            rec.add("bank0.sub0", "compute", layer, t, t + 3)
            t += 5  # 2 idle cycles between steps
    doc = build_trace(rec, 1e9, max_events_per_track=4)
    events = x_events(doc)
    assert [(e["args"]["layer"], e["args"]["merged"]) for e in events] == [
        (0, 5), (0, 5), (1, 5), (1, 5)]
    first = events[0]["args"]
    assert (first["start_cycle"], first["end_cycle"], first["busy_cycles"]) == (0, 23, 15)
    assert events[0]["name"] == "L0 compute (x5)"
    assert trace_busy_cycles(doc) == {"bank0.sub0": 60}


def test_counter_is_binned_when_too_long():
    rec = JobRecord(resources=SMALL_CHIP)
    for i in range(100):
        rec.add("bank0.sub0", "compute", 0, 10 * i, 10 * i + 5)
    doc = build_trace(rec, 1e9, max_events_per_track=11)
    counter = [e for e in doc["traceEvents"] if e["ph"] == "C"]
    assert len(counter) == 11
    assert doc["otherData"]["busy_lanes_counter"].startswith("time-weighted mean")
    assert counter[-1]["args"][COUNTER_NAME] == 0


def test_write_is_atomic_and_deterministic(run_fat, tmp_path):
    out = tmp_path / "traces" / "t.json"
    a = write_trace(out, run_fat.record, run_fat.frequency_hz).read_bytes()
    b = write_trace(out, run_fat.record, run_fat.frequency_hz).read_bytes()
    assert a == b
    assert [p.name for p in out.parent.iterdir()] == ["t.json"]  # no temp file left


def test_empty_record_and_bad_arguments(tmp_path):
    doc = json.loads(write_trace(tmp_path / "e.json", JobRecord(), 1e9).read_text())
    assert x_events(doc) == [] and trace_busy_cycles(doc) == {}
    with pytest.raises(UsageError):
        build_trace(JobRecord(), 0.0)
    with pytest.raises(UsageError):
        build_trace(JobRecord(), 1e9, max_events_per_track=1)
