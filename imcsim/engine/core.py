"""The engine's runner: phases one after another (barriers between them), each on simpy
or, when it has the stream shape, on the exact array solver (`engine.stream`).

One simpy event per step: never per cycle or per MAC. Phases of the shape the bit-serial
designs emit (one task per queue: a stream, then a step on the queue's own resource; see
`engine.stream`) skip simpy: `engine.fifo` replays its event order exactly (no simpy).
The data types (resources with roles, steps, phases, the record) are in `engine.types`.
"""

from __future__ import annotations

from collections.abc import Sequence

from imcsim.engine.stream import as_stream, time_phase
from imcsim.engine.types import (
    EngineResult,
    JobRecord,
    Phase,
    PhaseTiming,
    Resource,
    Step,
    StreamPhase,
    as_resources,
)


def shared_resources(phase: Phase) -> set[str]:
    """Resources more than one queue of the phase uses (the only ones that can contend)."""
    users: dict[str, int] = {}
    for tasks in phase.queues.values():
        for name in {step.resource for task in tasks for step in task}:
            users[name] = users.get(name, 0) + 1
    return {name for name, count in users.items() if count > 1}


def run(phases: Sequence[Phase | StreamPhase], resources: Sequence[Resource | str],
        exact_simpy: bool = False) -> EngineResult:
    """Run `phases` one after another (barrier between them) on `resources` (Resource
    objects, or bare names: role "other", one lane).

    A phase whose every queue holds one task - a stream of overlap steps, then one step on
    a resource no other queue names - is timed by the exact solver of `engine.fifo` (same
    cycles, phase timings and record as simpy, without its events); any other phase runs
    in simpy. `exact_simpy=True` runs every phase in simpy (the reference).
    """
    table = as_resources(resources)
    names = [r.name for r in table]

    def general(phase: Phase | StreamPhase) -> Phase:
        return phase.to_phase() if isinstance(phase, StreamPhase) else phase

    record = JobRecord(resources=table)
    timings: list[PhaseTiming] = []
    if exact_simpy:
        now = _run_simpy([general(p) for p in phases], names, 0, record, timings)
        return EngineResult(now, timings, record)
    known = set(names)
    now = 0
    waiting: list[Phase] = []
    for phase in phases:
        fast = phase if isinstance(phase, StreamPhase) else as_stream(phase)
        if fast is not None and waiting:  # time runs on from the simpy phases before
            now = _run_simpy(waiting, names, now, record, timings)
            waiting = []
        end = None if fast is None else time_phase(fast, now, record, known)
        if end is None:
            waiting.append(general(phase))
            continue
        timings.append(PhaseTiming(phase.name, phase.layer, now, end))
        now = end
    if waiting:
        now = _run_simpy(waiting, names, now, record, timings)
    return EngineResult(now, timings, record)


def _run_simpy(phases: list[Phase], resources: list[str], t0: int, record: JobRecord,
               timings: list[PhaseTiming]) -> int:
    """Run `phases` in simpy from cycle `t0` (appending to record and timings); the end."""
    import simpy

    env = simpy.Environment(initial_time=t0)
    pool = {name: simpy.Resource(env, capacity=1) for name in resources}

    def hold(step: Step, layer: int, shared: bool):
        if not shared:  # only this queue uses it: no contention, no request needed
            start = int(env.now)
            yield env.timeout(step.cycles)
            record.add(step.resource, step.kind, layer, start, int(env.now), step.lanes)
            return
        with pool[step.resource].request() as req:
            yield req
            start = int(env.now)
            yield env.timeout(step.cycles)
            record.add(step.resource, step.kind, layer, start, int(env.now), step.lanes)

    def stream(steps: list[Step], layer: int, shared: set[str]):
        for step in steps:
            yield from hold(step, layer, step.resource in shared)

    def queue_proc(tasks: list[list[Step]], layer: int, shared: set[str]):
        for task in tasks:
            streams, pending = [], []
            for step in task:
                if step.cycles <= 0:
                    continue
                if step.overlap:  # consecutive overlap steps form one stream, in order
                    pending.append(step)
                    continue
                if pending and step.resource not in shared:
                    # the step's resource is this queue's own: it starts now and cannot
                    # wait, so run the stream in this process and let the step's timer
                    # run alongside (same timing as two processes, fewer events)
                    start = int(env.now)
                    yield from stream(pending, layer, shared)
                    pending = []
                    left = start + step.cycles - int(env.now)
                    if left > 0:
                        yield env.timeout(left)
                    record.add(step.resource, step.kind, layer, start, start + step.cycles,
                               step.lanes)
                    continue
                if pending:
                    streams.append(env.process(stream(pending, layer, shared)))
                    pending = []
                yield from hold(step, layer, step.resource in shared)
            if pending:
                streams.append(env.process(stream(pending, layer, shared)))
            if streams:
                yield env.all_of(streams)

    def driver():
        for phase in phases:
            start = int(env.now)
            shared = shared_resources(phase)
            procs = [env.process(queue_proc(tasks, phase.layer, shared))
                     for tasks in phase.queues.values() if tasks]
            if procs:
                yield env.all_of(procs)
            timings.append(PhaseTiming(phase.name, phase.layer, start, int(env.now)))

    env.process(driver())
    env.run()
    return int(env.now)
