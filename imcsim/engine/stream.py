"""Stream phases: one task per queue, a stream of overlap steps then one private step.

`StreamPhase` holds such a phase as arrays (no `Step` objects): queue i streams steps
(stream_res[i, j], stream_cycles[i, j], stream_kind[i, j]) in order, j = 0..k-1, while
its owner resource final_res[i] works final_cycles[i]. Resources and kinds are indices
into the `names` and `kinds` tables; a stream slot with resource -1 is no step (padding).
`time_phase` times one with the numba kernels of `engine.fifo`, exactly as `core.run`
does in simpy; `as_stream` turns a `Phase` of that shape into one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imcsim.engine.core import JobRecord, Phase, Step


def _ints(value: object, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, np.int64)
    out[...] = value
    return out


@dataclass
class StreamPhase:
    """A phase as arrays: queue i = one task [stream steps of row i] + [final step i].

    The queues run in row order; queue i is owned by names[final_res[i]]. Any array-likes
    are accepted (a 1-d stream is one step per queue; kinds may be one per stream column
    or one for all); they are stored as contiguous int64 arrays of the full shapes.
    """

    name: str
    layer: int
    names: Sequence[str]
    kinds: Sequence[str]
    stream_res: np.ndarray  # (n, k), -1: no step
    stream_cycles: np.ndarray  # (n, k)
    stream_kind: np.ndarray  # (n, k)
    final_res: np.ndarray  # (n,)
    final_cycles: np.ndarray  # (n,)
    final_kind: np.ndarray  # (n,)

    def __post_init__(self) -> None:
        res = np.asarray(self.stream_res)
        shape = (len(res), 1) if res.ndim == 1 else res.shape
        n = shape[0]
        self.stream_res = _ints(res.reshape(shape), shape)
        self.stream_cycles = _ints(np.reshape(self.stream_cycles, shape), shape)
        self.stream_kind = _ints(self.stream_kind, shape)
        self.final_res = _ints(self.final_res, (n,))
        self.final_cycles = _ints(self.final_cycles, (n,))
        self.final_kind = _ints(self.final_kind, (n,))

    def __len__(self) -> int:
        return len(self.final_res)

    def to_phase(self) -> Phase:
        """The same phase as `Step` objects (for the simpy path)."""
        names, kinds = self.names, self.kinds
        queues: dict[str, list[list[Step]]] = {}
        for sres, scyc, skind, fres, fcyc, fkind in zip(
                self.stream_res.tolist(), self.stream_cycles.tolist(),
                self.stream_kind.tolist(), self.final_res.tolist(),
                self.final_cycles.tolist(), self.final_kind.tolist(), strict=True):
            task = [Step(names[r], c, kinds[m], overlap=True)
                    for r, c, m in zip(sres, scyc, skind, strict=True) if r >= 0]
            task.append(Step(names[fres], fcyc, kinds[fkind]))
            queues.setdefault(names[fres], []).append(task)
        return Phase(self.name, self.layer, queues)


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
    for i, task in enumerate(tasks):
        for j, step in enumerate(task):
            r = names.setdefault(step.resource, len(names))
            m = kinds.setdefault(step.kind, len(kinds))
            if j < len(task) - 1:
                sres[i, j], scyc[i, j], skind[i, j] = r, step.cycles, m
            else:
                fres[i], fcyc[i], fkind[i] = r, step.cycles, m
    return StreamPhase(phase.name, phase.layer, list(names), list(kinds), sres, scyc, skind,
                       fres, fcyc, fkind)


def time_phase(phase: StreamPhase, t0: int, record: JobRecord, known: set[str]) -> int | None:
    """Run `phase` from cycle `t0` exactly as simpy would: records its steps, returns its
    end; None (nothing recorded) if a final step's resource is not private to its queue.
    `known`: the engine's resource names (simpy looks the shared ones up: KeyError)."""
    from imcsim.engine.fifo import run_phase

    status, end, shared, res, kind, start, stop = run_phase(
        t0, phase.stream_res, phase.stream_cycles, phase.stream_kind, phase.final_res,
        phase.final_cycles, phase.final_kind, len(phase.names))
    if status < 0:
        raise IndexError(f"phase {phase.name!r}: a resource index is outside its names "
                         "(or a stream slot without resource has cycles)")
    if status == 0:
        return None
    for r in np.flatnonzero(shared):
        if phase.names[r] not in known:
            raise KeyError(phase.names[r])
    record.add_block(phase.names, res, phase.kinds, kind, phase.layer, start, stop)
    return int(end)
