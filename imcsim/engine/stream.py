"""Stream phases: one task per queue, a stream of overlap steps then one private step.

`StreamPhase` (in `engine.types`) holds such a phase as arrays. `time_phase` times one
with the event replay of `engine.fifo`, exactly as `core.run` does in simpy;
`as_stream` turns a `Phase` of that shape into one.
"""

from __future__ import annotations

import numpy as np

from imcsim.engine.types import JobRecord, Phase, StreamPhase


def as_stream(phase: Phase) -> StreamPhase | None:
    """`phase` as a `StreamPhase` if every queue holds one task [overlap steps..., one
    non-overlap step]; None otherwise. (Whether the last resource is private is checked
    by `time_phase`.)"""
    names: dict[str, int] = {}
    kinds: dict[str, int] = {}
    tasks = []
    for queue in phase.queues.values():
        if not queue:
            continue  # no process in simpy either
        if len(queue) != 1 or not queue[0] or queue[0][-1].overlap:
            return None
        task = queue[0]
        if not all(step.overlap for step in task[:-1]) or not all(
                isinstance(step.cycles, int | np.integer) for step in task):
            return None  # (fractional cycles: simpy's own clock)
        tasks.append(task)
    n = len(tasks)
    k = max((len(task) - 1 for task in tasks), default=0)
    sres = np.full((n, k), -1, np.int64)
    scyc = np.zeros((n, k), np.int64)
    skind = np.zeros((n, k), np.int64)
    fres, fcyc, fkind = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    flanes = np.empty(n, np.int64)
    for i, task in enumerate(tasks):
        for j, step in enumerate(task):
            r = names.setdefault(step.resource, len(names))
            m = kinds.setdefault(step.kind, len(kinds))
            if j < len(task) - 1:
                sres[i, j], scyc[i, j], skind[i, j] = r, step.cycles, m
            else:
                fres[i], fcyc[i], fkind[i], flanes[i] = r, step.cycles, m, step.lanes
    return StreamPhase(phase.name, phase.layer, list(names), list(kinds), sres, scyc, skind,
                       fres, fcyc, fkind, flanes)


def time_phase(phase: StreamPhase, t0: int, record: JobRecord, known: set[str]) -> int | None:
    """Run `phase` from cycle `t0` exactly as simpy would: records its steps, returns its
    end; None (nothing recorded) if a final step's resource is not private to its queue.
    `known`: the engine's resource names (simpy looks the shared ones up: KeyError)."""
    from imcsim.engine.fifo import run_phase

    status, end, shared, res, kind, start, stop, lanes = run_phase(
        t0, phase.stream_res, phase.stream_cycles, phase.stream_kind, phase.final_res,
        phase.final_cycles, phase.final_kind, phase.final_lanes, len(phase.names))
    if status < 0:
        raise IndexError(f"phase {phase.name!r}: a resource index is outside its names "
                         "(or a stream slot without resource has cycles)")
    if status == 0:
        return None
    for r in np.flatnonzero(shared).tolist():
        if phase.names[r] not in known:
            raise KeyError(phase.names[r])
    record.add_block(phase.names, res, phase.kinds, kind, phase.layer, start, stop, lanes)
    return int(end)
