"""Discrete-event core on simpy: coarse jobs, exact integer cycles, shared resources.

The engine knows nothing of convolutions. It runs *phases* (a layer, or a layer's
reduction) separated by barriers. A phase is a set of queues; each queue belongs to one
owner (a subarray) and holds tasks to run in order; a task is a sequence of steps, each
holding one named shared resource (a bank bus, a bank controller, the subarray itself)
for an integer number of cycles, either in turn or alongside the rest of the task (a
stream). Steps wait when their resource is busy (contention).
One simpy event per step: never per cycle or per MAC. Phases of the shape the digital
simulator emits (one task per queue: a stream, then a step on the queue's own resource;
see `engine.stream`) skip simpy: `engine.fifo` replays its event order exactly, in numba.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from imcsim.engine.stream import StreamPhase


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


class JobRecord:
    """Start/end cycle of every step the engine ran (the trace exporter reads this).

    Public: the parallel lists `resource`, `kind`, `layer`, `start`, `end`. Blocks added
    by `add_block` (arrays, from the fast path) become list entries when first read.
    """

    def __init__(self, resource: list[str] | None = None, kind: list[str] | None = None,
                 layer: list[int] | None = None, start: list[int] | None = None,
                 end: list[int] | None = None):
        self._lists: tuple[list, list, list, list, list] = (
            list(resource or []), list(kind or []), list(layer or []), list(start or []),
            list(end or []))
        self._blocks: list[tuple] = []
        self._pending = 0

    def _flush(self) -> tuple[list, list, list, list, list]:
        if self._blocks:
            resource, kind, layer, start, end = self._lists
            for names, res, kinds, kind_idx, lay, st, en in self._blocks:
                resource += np.asarray(names, dtype=object)[res].tolist()
                kind += np.asarray(kinds, dtype=object)[kind_idx].tolist()
                layer += [lay] * len(st)
                start += st.tolist()
                end += en.tolist()
            self._blocks.clear()
            self._pending = 0
        return self._lists

    @property
    def resource(self) -> list[str]:
        return self._flush()[0]

    @property
    def kind(self) -> list[str]:
        return self._flush()[1]

    @property
    def layer(self) -> list[int]:
        return self._flush()[2]

    @property
    def start(self) -> list[int]:
        return self._flush()[3]

    @property
    def end(self) -> list[int]:
        return self._flush()[4]

    def add(self, resource: str, kind: str, layer: int, start: int, end: int) -> None:
        lists = self._flush()
        for column, value in zip(lists, (resource, kind, layer, start, end), strict=True):
            column.append(value)

    def add_block(self, names: Sequence[str], resource: np.ndarray, kinds: Sequence[str],
                  kind: np.ndarray, layer: int, start: np.ndarray, end: np.ndarray) -> None:
        """Append steps given as arrays: resource names[resource[i]], kind kinds[kind[i]]."""
        self._blocks.append((names, resource, kinds, kind, int(layer), start, end))
        self._pending += len(start)

    def busy_cycles(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for res, s, e in zip(self.resource, self.start, self.end, strict=True):
            out[res] = out.get(res, 0) + (e - s)
        return out

    def __len__(self) -> int:
        return len(self._lists[3]) + self._pending

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JobRecord):
            return NotImplemented
        return self._flush() == other._flush()

    def __repr__(self) -> str:
        return f"JobRecord({len(self)} steps)"


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


def run(phases: Sequence[Phase | StreamPhase], resources: list[str],
        exact_simpy: bool = False) -> EngineResult:
    """Run `phases` one after another (barrier between them) on the named resources.

    A phase whose every queue holds one task - a stream of overlap steps, then one step on
    a resource no other queue names - is timed by the exact solver of `engine.fifo` (same
    cycles, phase timings and record as simpy, without its events); any other phase runs
    in simpy. `exact_simpy=True` runs every phase in simpy (the reference).
    """
    from imcsim.engine.stream import StreamPhase, as_stream, time_phase

    def general(phase: Phase | StreamPhase) -> Phase:
        return phase.to_phase() if isinstance(phase, StreamPhase) else phase

    record = JobRecord()
    timings: list[PhaseTiming] = []
    if exact_simpy:
        now = _run_simpy([general(p) for p in phases], resources, 0, record, timings)
        return EngineResult(now, timings, record)
    known = set(resources)
    now, waiting = 0, []
    for phase in phases:
        fast = phase if isinstance(phase, StreamPhase) else as_stream(phase)
        if fast is not None and waiting:  # time runs on from the simpy phases before
            now = _run_simpy(waiting, resources, now, record, timings)
            waiting = []
        end = None if fast is None else time_phase(fast, now, record, known)
        if end is None:
            waiting.append(general(phase))
            continue
        timings.append(PhaseTiming(phase.name, phase.layer, now, end))
        now = end
    if waiting:
        now = _run_simpy(waiting, resources, now, record, timings)
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
    return int(env.now)
