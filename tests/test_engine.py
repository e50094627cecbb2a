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
