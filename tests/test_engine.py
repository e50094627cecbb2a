"""The discrete-event core: contention, streams, barriers, the job record."""

from __future__ import annotations

from imcsim.engine import Phase, Step, run


def test_shared_bus_serialises_and_subarrays_run_in_parallel():
    tasks = {f"sub{i}": [[Step("bus", 10, "transfer"), Step(f"sub{i}", 100, "compute")]]
             for i in range(3)}
    res = run([Phase("p", 0, tasks)], ["bus", "sub0", "sub1", "sub2"])
    # transfers at 0-10, 10-20, 20-30; the last compute ends at 130
    assert res.cycles == 130
    assert res.record.busy_cycles() == {"bus": 30, "sub0": 100, "sub1": 100, "sub2": 100}


def test_overlapped_stream_runs_alongside_compute():
    tasks = {"sub0": [[Step("bus", 40, "transfer", overlap=True), Step("sub0", 100, "compute")]],
             "sub1": [[Step("bus", 40, "transfer", overlap=True), Step("sub1", 30, "compute")]]}
    res = run([Phase("p", 0, tasks)], ["bus", "sub0", "sub1"])
    # sub1's transfer waits for sub0's (0-40), runs 40-80: its task ends at 80
    assert res.cycles == 100
    assert sorted(zip(res.record.resource, res.record.start, res.record.end, strict=True)) == [
        ("bus", 0, 40), ("bus", 40, 80), ("sub0", 0, 100), ("sub1", 0, 30)]


def test_phases_are_separated_by_barriers():
    p1 = Phase("a", 0, {"s0": [[Step("s0", 50, "compute")]], "s1": [[Step("s1", 5, "compute")]]})
    p2 = Phase("b", 1, {"s1": [[Step("s1", 5, "compute")]]})
    res = run([p1, p2], ["s0", "s1"])
    assert res.cycles == 55
    assert [(t.start, t.end) for t in res.phases] == [(0, 50), (50, 55)]
    assert list(res.layer_cycles(2)) == [50, 5]


def test_queue_runs_its_tasks_in_order():
    tasks = {"s0": [[Step("s0", 3, "compute")], [Step("s0", 4, "compute")]]}
    res = run([Phase("p", 0, tasks)], ["s0"])
    assert res.cycles == 7 and res.record.start == [0, 3]


def test_record_blocks_read_as_lists_in_order():
    import numpy as np

    from imcsim.engine import JobRecord

    rec = JobRecord()
    rec.add("a", "compute", 0, 0, 4)
    rec.add_block(["x", "y"], np.array([1, 0]), ["k0", "k1"], np.array([0, 1]), 2,
                  np.array([1, 2]), np.array([3, 7]))
    assert len(rec) == 3
    rec.add("a", "compute", 3, 7, 8)
    assert rec.resource == ["a", "y", "x", "a"] and rec.kind == ["compute", "k0", "k1",
                                                                  "compute"]
    assert rec.layer == [0, 2, 2, 3] and rec.start == [0, 1, 2, 7] and rec.end == [4, 3, 7, 8]
    assert all(type(v) is int for v in rec.start + rec.end + rec.layer)
    assert rec.busy_cycles() == {"a": 5, "y": 2, "x": 5} and len(rec) == 4


def test_simpy_and_fast_phases_mix_and_time_runs_on():
    stream = {f"s{i}": [[Step("bus", 3, "transfer", overlap=True), Step(f"s{i}", 2, "compute")]]
              for i in range(3)}
    two_tasks = {"s0": [[Step("s0", 4, "compute")], [Step("bus", 1, "transfer")]]}
    phases = [Phase("a", 0, two_tasks), Phase("b", 1, stream), Phase("c", 2, two_tasks),
              Phase("d", 3, stream)]
    names = ["bus", "s0", "s1", "s2"]
    res, ref = run(phases, names), run(phases, names, exact_simpy=True)
    # a: 0-5; b: bus 5-8, 8-11, 11-14; c: 14-19; d: 19-28
    assert [(t.start, t.end) for t in res.phases] == [(0, 5), (5, 14), (14, 19), (19, 28)]
    assert res.cycles == ref.cycles == 28 and res.phases == ref.phases
    key = sorted(zip(res.record.resource, res.record.start, res.record.end, strict=True))
    assert key == sorted(zip(ref.record.resource, ref.record.start, ref.record.end,
                             strict=True))
