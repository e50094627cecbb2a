"""The exact stream-phase solver (engine.fifo) against simpy: random phases, engineered
ties, and the real FAT runs."""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imcsim.engine.core as core
from imcsim.engine import Phase, Step, StreamPhase, run
from imcsim.engine.stream import as_stream

CYCLES = st.sampled_from([0, 0, 1, 1, 2, 3, 5, 8])  # zeros and small values: many ties


def outcome(res) -> tuple:
    """What must not change: cycles, phase timings, the record as a multiset."""
    rec = res.record
    return (res.cycles, [(t.name, t.layer, t.start, t.end) for t in res.phases],
            sorted(zip(rec.resource, rec.kind, rec.layer, rec.start, rec.end, strict=True)))


@st.composite
def stream_phase(draw, index: int) -> Phase | StreamPhase:
    """Queues of several banks: a stream over the bank's ctrl/bus, a chip-wide resource,
    a resource of the queue's own (or its final one), then the queue's own step. (A
    stream naming sub0, queue 0's own, sends the phase to simpy.)"""
    banks = draw(st.integers(1, 3))
    queues: dict[str, list[list[Step]]] = {}
    for q in range(draw(st.integers(0, 8))):
        b = draw(st.integers(0, banks - 1))
        pool = [f"bank{b}.ctrl", f"bank{b}.bus", "dram", f"own{q}", f"sub{q}", "sub0"]
        stream = draw(st.lists(st.tuples(st.sampled_from(pool), CYCLES, st.sampled_from("wt")),
                               max_size=3))
        task = [Step(r, c, kind, overlap=True) for r, c, kind in stream]
        queues[f"sub{q}"] = [task + [Step(f"sub{q}", draw(CYCLES), "compute")]]
    phase = Phase(f"s{index}", index, queues)
    return as_stream(phase) if draw(st.booleans()) else phase


@st.composite
def general_phase(draw, index: int) -> Phase:
    """Not the stream shape: two tasks in a queue, or a last step on a shared resource."""
    queues = {}
    for q in range(draw(st.integers(1, 4))):
        tasks = [[Step("bank0.bus", draw(CYCLES), "t", overlap=True),
                  Step(f"sub{q}" if q else "bank0.ctrl", draw(CYCLES), "compute")]
                 for _ in range(draw(st.integers(1, 2)))]
        queues[f"sub{q}"] = tasks
    return Phase(f"g{index}", index, queues)


@st.composite
def runs(draw) -> list:
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=4))
    return [draw(stream_phase(i) if fast else general_phase(i)) for i, fast in enumerate(kinds)]


RESOURCES = ([f"bank{b}.{x}" for b in range(3) for x in ("ctrl", "bus")] + ["dram"]
             + [f"sub{q}" for q in range(8)] + [f"own{q}" for q in range(8)])


def fast_shape(phase: Phase | StreamPhase) -> bool:
    """One task per queue, [overlap steps..., a step on a resource no other queue names]."""
    phase = phase.to_phase() if isinstance(phase, StreamPhase) else phase
    shared = core.shared_resources(phase)
    return all(len(tasks) == 1 and not tasks[0][-1].overlap
               and all(step.overlap for step in tasks[0][:-1])
               and tasks[0][-1].resource not in shared
               for tasks in phase.queues.values() if tasks)


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_fast_path_is_simpy(phases):
    via_simpy: list[str] = []
    real = core._run_simpy

    def spy(phases, *args):
        via_simpy.extend(p.name for p in phases)
        return real(phases, *args)

    core._run_simpy = spy
    try:
        fast = run(phases, RESOURCES)
    finally:
        core._run_simpy = real
    assert outcome(fast) == outcome(run(phases, RESOURCES, exact_simpy=True))
    # every phase of the stream shape whose last steps are private skipped simpy
    assert via_simpy == [p.name for p in phases if not fast_shape(p)]


def test_tie_order_follows_simpy_events():
    """qb asks for R at 5 after its step on C; qa asks at 5 after a step on its own
    resource. A request's grant is one event more than a plain timer, so qa's timer
    (scheduled at 0 when qa starts) fires before qb's (scheduled when C's grant arrives)
    and qa gets R first - unless C is named by one queue only, when qb's step on C is a
    plain timer too and queue order decides. qc names C without using it."""
    def phase(c_shared: bool) -> Phase:
        return Phase("p", 0, {
            "qb": [[Step("C", 5, "w", True), Step("R", 2, "t", True), Step("qb", 1, "c")]],
            "qa": [[Step("own", 5, "w", True), Step("R", 3, "t", True), Step("qa", 1, "c")]],
            "qc": [[Step("C" if c_shared else "D", 0, "w", True), Step("qc", 1, "c")]]})

    for c_shared, expected in ((True, [(5, 8), (8, 10)]), (False, [(5, 7), (7, 10)])):
        res = run([phase(c_shared)], ["C", "R", "D"])
        rec = res.record
        on_r = sorted((s, e) for r, s, e in zip(rec.resource, rec.start, rec.end, strict=True)
                      if r == "R")
        assert on_r == expected and res.cycles == 10
        assert outcome(res) == outcome(run([phase(c_shared)], ["C", "R", "D"], exact_simpy=True))


def test_release_hands_over_through_its_event():
    """A freed resource reaches its next waiter by the release *event*, after events
    already due at that cycle. At 5, A's end frees R for B while C's end moves C from P to
    the free S: C's grant is scheduled before R's release event is processed, so C's step
    on S (3) is timed before B's on R (3); at 8 C asks for Z first: Z is C 8-10, B 10-11
    (a grant made at the release itself would give B 8-9, C 9-11). D names P and S."""
    def flow(r: str, c: int) -> Step:
        return Step(r, c, "t", overlap=True)

    q = {"A": [[flow("R", 5), Step("A", 1, "c")]],
         "B": [[flow("R", 3), flow("Z", 1), Step("B", 1, "c")]],
         "C": [[flow("P", 5), flow("S", 3), flow("Z", 2), Step("C", 1, "c")]],
         "D": [[flow("P", 0), flow("S", 0), Step("D", 1, "c")]]}
    res = run([Phase("p", 0, q)], ["R", "Z", "P", "S"])
    rec = res.record
    assert sorted((s, e) for r, s, e in zip(rec.resource, rec.start, rec.end, strict=True)
                  if r == "Z") == [(8, 10), (10, 11)]
    assert res.cycles == 11
    assert outcome(res) == outcome(run([Phase("p", 0, q)], ["R", "Z", "P", "S"],
                                       exact_simpy=True))


def test_queue_without_final_step_streams_last():
    """A queue whose own step has no cycles runs its stream in a child process, started
    after every queue: q2 comes first in the phase but gets the bus after q1."""
    q = {"q2": [[Step("ctrl", 0, "w", True), Step("bus", 2, "t", True), Step("q2", 0, "c")]],
         "q0": [[Step("ctrl", 2, "w", True), Step("bus", 3, "t", True), Step("q0", 1, "c")]],
         "q1": [[Step("ctrl", 0, "w", True), Step("bus", 4, "t", True), Step("q1", 10, "c")]],
         "q3": [[Step("ctrl", 3, "w", True), Step("bus", 1, "t", True), Step("q3", 5, "c")]]}
    res = run([Phase("p", 0, q), Phase("next", 1, {"q0": [[Step("q0", 4, "c")]]})],
              ["ctrl", "bus"])
    # ctrl: q0 0-2, q3 2-5; bus in request order: q1 0-4, q2 4-6, q0 (at 2) 6-9, q3 9-10
    assert outcome(res) == (14, [("p", 0, 0, 10), ("next", 1, 10, 14)], sorted([
        ("bus", "t", 0, 0, 4), ("bus", "t", 0, 4, 6), ("bus", "t", 0, 6, 9),
        ("bus", "t", 0, 9, 10), ("ctrl", "w", 0, 0, 2), ("ctrl", "w", 0, 2, 5),
        ("q0", "c", 0, 0, 1), ("q1", "c", 0, 0, 10), ("q3", "c", 0, 0, 5),
        ("q0", "c", 1, 10, 14)]))


def test_stream_phase_round_trip_and_shapes():
    names = ["bank0.ctrl", "bank0.bus", "bank0.sub0", "bank0.sub1"]
    ph = StreamPhase("p", 3, names, ["weights", "transfer", "compute"],
                     [[0, 1], [0, 1]], [[2, 0], [1, 4]], [0, 1], [2, 3], [5, 1], 2)
    assert ph.stream_kind.shape == (2, 2) and ph.final_kind.tolist() == [2, 2]
    steps = ph.to_phase().queues
    assert list(steps) == ["bank0.sub0", "bank0.sub1"]
    assert steps["bank0.sub0"] == [[Step("bank0.ctrl", 2, "weights", True),
                                    Step("bank0.bus", 0, "transfer", True),
                                    Step("bank0.sub0", 5, "compute")]]
    back = as_stream(ph.to_phase())
    assert back is not None and outcome(run([back], names)) == outcome(run([ph], names))
    # ctrl 0-2 (sub0) 2-3 (sub1); bus: sub1 3-7; ends: sub0 5, sub1 7
    assert outcome(run([ph], names)) == (7, [("p", 3, 0, 7)], sorted([
        ("bank0.ctrl", "weights", 3, 0, 2), ("bank0.ctrl", "weights", 3, 2, 3),
        ("bank0.bus", "transfer", 3, 3, 7), ("bank0.sub0", "compute", 3, 0, 5),
        ("bank0.sub1", "compute", 3, 0, 1)]))


def test_unknown_shared_resource_raises_like_simpy():
    ph = Phase("p", 0, {f"s{i}": [[Step("nope", 1, "t", True), Step(f"s{i}", 1, "c")]]
                        for i in range(2)})
    for exact in (False, True):
        with pytest.raises(KeyError):
            run([ph], ["s0", "s1"], exact_simpy=exact)


def _simulate_both(arch, net, monkeypatch):
    import imcsim.simulate as sim

    fast = sim.simulate(arch, net)
    monkeypatch.setattr(sim, "run", functools.partial(run, exact_simpy=True))
    slow = sim.simulate(arch, net)
    monkeypatch.undo()
    return fast, slow


def _same_run(fast, slow) -> None:
    assert fast.to_dict() == slow.to_dict()  # cycles, energy, utilisation of every layer
    a, b = fast.record, slow.record
    assert sorted(zip(a.resource, a.kind, a.layer, a.start, a.end, strict=True)) == sorted(
        zip(b.resource, b.kind, b.layer, b.start, b.end, strict=True))
    assert a.busy_cycles() == b.busy_cycles() and len(a) == len(b)


def test_fat_resnet20_fast_path_equals_simpy(fat, resnet20, monkeypatch):
    fast, slow = _simulate_both(fat, resnet20, monkeypatch)
    _same_run(fast, slow)


def test_fat_resnet18_fast_path_equals_simpy(fat, monkeypatch):
    from imcsim.workload.loader import load_network

    fast, slow = _simulate_both(fat, load_network("resnet18"), monkeypatch)
    _same_run(fast, slow)


def test_stream_phase_with_two_items_on_one_subarray_runs_in_simpy():
    """Two rows on one subarray make one queue of two tasks: not the stream shape."""
    names = ["bank0.ctrl", "bank0.bus", "bank0.sub0", "bank0.sub1"]
    ph = StreamPhase("p", 0, names, ["weights", "transfer", "compute"],
                     [[0, 1]] * 3, [[2, 1], [1, 4], [3, 3]], [0, 1], [2, 3, 2], [5, 1, 2], 2)
    assert [len(tasks) for tasks in ph.to_phase().queues.values()] == [2, 1]
    assert outcome(run([ph], names)) == outcome(run([ph], names, exact_simpy=True))
    assert outcome(run([ph], names))[0] == 11  # sub0: task 1 ends at 5; task 2: ctrl 5-8, bus 8-11


def test_stream_phase_with_bad_index_raises():
    names = ["bus", "s0"]
    for res, cyc, final in (([[0]], [[1]], [2]), ([[-1]], [[1]], [1]), ([[5]], [[0]], [1])):
        with pytest.raises(IndexError):
            run([StreamPhase("p", 0, names, ["k"], res, cyc, 0, final, [1], 0)], names)
    ok = StreamPhase("p", 0, names, ["k"], [[-1]], [[0]], 0, [1], [3], 0)  # padding
    assert run([ok], names).cycles == 3
