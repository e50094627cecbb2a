"""Discrete-event core on simpy: coarse jobs, exact integer cycles, shared resources.

The engine knows nothing of convolutions. It runs *phases* (a layer, or a layer's
reduction) separated by barriers. A phase is a set of queues; each queue belongs to one
owner (a subarray) and holds tasks to run in order; a task is a sequence of steps, each
holding one named shared resource (a bank bus, a bank controller, the subarray itself)
for an integer number of cycles, either in turn or alongside the rest of the task (a
stream). Steps wait when their resource is busy (contention).
One simpy event per step: never per cycle or per MAC.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Step:
    """Hold `resource` for `cycles`. Consecutive `overlap` steps form a stream that runs,
    in order, alongside the task's next step (weights walked and data moved while the
    subarray computes); the task ends when all its steps have ended."""

    resource: str
    cycles: int
    kind: str
    overlap: bool = False


@dataclass
class Phase:
    name: str
    layer: int
    queues: dict[str, list[list[Step]]]  # owner -> tasks (each a list of steps)


@dataclass
class JobRecord:
    """Start/end cycle of every step the engine ran (the trace exporter reads this)."""

    resource: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    layer: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)

    def add(self, resource: str, kind: str, layer: int, start: int, end: int) -> None:
        self.resource.append(resource)
        self.kind.append(kind)
        self.layer.append(layer)
        self.start.append(start)
        self.end.append(end)

    def busy_cycles(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for res, s, e in zip(self.resource, self.start, self.end, strict=True):
            out[res] = out.get(res, 0) + (e - s)
        return out

    def __len__(self) -> int:
        return len(self.start)


@dataclass
class PhaseTiming:
    name: str
    layer: int
    start: int
    end: int


@dataclass
class EngineResult:
    cycles: int
    phases: list[PhaseTiming]
    record: JobRecord

    def layer_cycles(self, n_layers: int) -> np.ndarray:
        out = np.zeros(n_layers, dtype=np.int64)
        for ph in self.phases:
            out[ph.layer] += ph.end - ph.start
        return out


def shared_resources(phase: Phase) -> set[str]:
    """Resources more than one queue of the phase uses (the only ones that can contend)."""
    users: dict[str, int] = {}
    for tasks in phase.queues.values():
        for name in {step.resource for task in tasks for step in task}:
            users[name] = users.get(name, 0) + 1
    return {name for name, count in users.items() if count > 1}


def run(phases: list[Phase], resources: list[str]) -> EngineResult:
    """Run `phases` one after another (barrier between them) on the named resources."""
    import simpy

    env = simpy.Environment()
    pool = {name: simpy.Resource(env, capacity=1) for name in resources}
    record = JobRecord()
    timings: list[PhaseTiming] = []

    def hold(step: Step, layer: int, shared: bool):
        if not shared:  # only this queue uses it: no contention, no request needed
            start = int(env.now)
            yield env.timeout(step.cycles)
            record.add(step.resource, step.kind, layer, start, int(env.now))
            return
        with pool[step.resource].request() as req:
            yield req
            start = int(env.now)
            yield env.timeout(step.cycles)
            record.add(step.resource, step.kind, layer, start, int(env.now))

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
                    record.add(step.resource, step.kind, layer, start, start + step.cycles)
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
    return EngineResult(int(env.now), timings, record)
