"""The engine's data types: resources with roles, steps, phases, the job record.

The engine knows nothing of convolutions. It runs *phases* (a layer, or a layer's
reduction) separated by barriers. A phase is a set of queues; each queue belongs to one
owner (a subarray, a tile, a core) and holds tasks to run in order; a task is a sequence
of steps, each holding one named shared resource for an integer number of cycles,
either in turn or alongside the rest of the task (a stream). Steps wait when their
resource is busy (contention).

Every resource carries a *role* from one vocabulary (`ROLES`) and a number of *lanes*
(the parallel datapaths of a compute unit: the columns of a bit-serial subarray or of a
crossbar tile, the MAC cells of a photonic core); every step a *kind* (`STEP_KINDS`) and
the lanes it keeps busy. Reports and traces read roles, kinds and lanes, never names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# roles of engine resources
COMPUTE = "compute"  # a compute unit: subarray, crossbar tile, photonic core
BUS = "bus"
CONTROLLER = "controller"
CONVERTER = "converter"  # ADC / DAC pools
LASER = "laser"
DIGITAL_UNIT = "digital_unit"
OTHER = "other"
ROLES = (COMPUTE, BUS, CONTROLLER, CONVERTER, LASER, DIGITAL_UNIT, OTHER)

# kinds of engine steps
STEP_COMPUTE = "compute"  # a compute unit computing (what utilisation counts)
STEP_WEIGHTS = "weights"  # a controller walking weights
STEP_TRANSFER = "transfer"  # data moved on a bus
STEP_PROGRAM = "program"  # weights written into an array or a core
STEP_KINDS = (STEP_COMPUTE, STEP_WEIGHTS, STEP_TRANSFER, STEP_PROGRAM)

ALL_LANES = -1  # a step's lanes: every lane of its resource


@dataclass(frozen=True)
class Resource:
    """A shared engine resource: its name, role, lanes and the group it is drawn in
    (a trace process, e.g. a bank)."""

    name: str
    role: str = OTHER
    lanes: int = 1
    group: str = "chip"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"resource {self.name!r}: unknown role {self.role!r} "
                             f"(choose from {', '.join(ROLES)})")
        if self.lanes < 1:
            raise ValueError(f"resource {self.name!r}: lanes must be >= 1, got {self.lanes}")


def as_resources(resources: Sequence[Resource | str]) -> list[Resource]:
    """Resources from resources or bare names (a bare name: role "other", one lane)."""
    return [r if isinstance(r, Resource) else Resource(r) for r in resources]


@dataclass
class Step:
    """Hold `resource` for `cycles`. Consecutive `overlap` steps form a stream that runs,
    in order, alongside the task's next step (weights walked and data moved while the
    subarray computes); the task ends when all its steps have ended. `lanes`: how many
    of the resource's lanes the step keeps busy (ALL_LANES: all of them)."""

    resource: str
    cycles: int
    kind: str
    overlap: bool = False
    lanes: int = ALL_LANES


@dataclass
class Phase:
    name: str
    layer: int
    queues: dict[str, list[list[Step]]]  # owner -> tasks (each a list of steps)


def _ints(value: npt.ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, np.int64)
    out[...] = value
    return out


@dataclass
class StreamPhase:
    """A phase as arrays: queue i = one task [stream steps of row i] + [final step i].

    Queue i streams steps (stream_res[i, j], stream_cycles[i, j], stream_kind[i, j]) in
    order, j = 0..k-1, while its owner resource final_res[i] works final_cycles[i] on
    final_lanes[i] lanes (ALL_LANES by default). Resources and kinds are indices into the
    `names` and `kinds` tables; a stream slot with resource -1 is no step (padding). Any
    array-likes are accepted (a 1-d stream is one step per queue; kinds may be one per
    stream column or one for all); they are stored as contiguous int64 arrays.
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
    final_lanes: np.ndarray | int = ALL_LANES  # (n,)

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
        self.final_lanes = _ints(self.final_lanes, (n,))

    def __len__(self) -> int:
        return len(self.final_res)

    def to_phase(self) -> Phase:
        """The same phase as `Step` objects (for the simpy path)."""
        names, kinds = self.names, self.kinds
        queues: dict[str, list[list[Step]]] = {}
        assert isinstance(self.final_lanes, np.ndarray)
        for sres, scyc, skind, fres, fcyc, fkind, flanes in zip(
                self.stream_res.tolist(), self.stream_cycles.tolist(),
                self.stream_kind.tolist(), self.final_res.tolist(),
                self.final_cycles.tolist(), self.final_kind.tolist(),
                self.final_lanes.tolist(), strict=True):
            task = [Step(names[r], c, kinds[m], overlap=True)
                    for r, c, m in zip(sres, scyc, skind, strict=True) if r >= 0]
            task.append(Step(names[fres], fcyc, kinds[fkind], lanes=flanes))
            queues.setdefault(names[fres], []).append(task)
        return Phase(self.name, self.layer, queues)


class JobRecord:
    """Start/end cycle of every step the engine ran (reports and traces read this).

    Public: the parallel lists `resource`, `kind`, `layer`, `start`, `end`, `lanes`
    (ALL_LANES: every lane of the resource), and `resources`, the engine's resource
    table by name (roles, lanes, groups). Blocks added by `add_block` (arrays, from the
    fast path) become list entries when first read.
    """

    def __init__(self, resource: list[str] | None = None, kind: list[str] | None = None,
                 layer: list[int] | None = None, start: list[int] | None = None,
                 end: list[int] | None = None, lanes: list[int] | None = None,
                 resources: Sequence[Resource | str] = ()):
        n = len(start or [])
        self._lists: tuple[list, list, list, list, list, list] = (
            list(resource or []), list(kind or []), list(layer or []), list(start or []),
            list(end or []), list(lanes) if lanes is not None else [ALL_LANES] * n)
        self._blocks: list[tuple] = []
        self._pending = 0
        self.resources: dict[str, Resource] = {r.name: r for r in as_resources(resources)}

    def _flush(self) -> tuple[list, list, list, list, list, list]:
        if self._blocks:
            resource, kind, layer, start, end, lanes = self._lists
            for names, res, kinds, kind_idx, lay, st, en, ln in self._blocks:
                resource += np.asarray(names, dtype=object)[res].tolist()
                kind += np.asarray(kinds, dtype=object)[kind_idx].tolist()
                layer += [lay] * len(st)
                start += st.tolist()
                end += en.tolist()
                lanes += ln.tolist()
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

    @property
    def lanes(self) -> list[int]:
        return self._flush()[5]

    def add(self, resource: str, kind: str, layer: int, start: int, end: int,
            lanes: int = ALL_LANES) -> None:
        lists = self._flush()
        for column, value in zip(lists, (resource, kind, layer, start, end, lanes),
                                 strict=True):
            column.append(value)

    def add_block(self, names: Sequence[str], resource: np.ndarray, kinds: Sequence[str],
                  kind: np.ndarray, layer: int, start: np.ndarray, end: np.ndarray,
                  lanes: np.ndarray | None = None) -> None:
        """Append steps given as arrays: resource names[resource[i]], kind kinds[kind[i]]."""
        if lanes is None:
            lanes = np.full(len(start), ALL_LANES, np.int64)
        self._blocks.append((names, resource, kinds, kind, int(layer), start, end, lanes))
        self._pending += len(start)

    def busy_cycles(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for res, s, e in zip(self.resource, self.start, self.end, strict=True):
            out[res] = out.get(res, 0) + (e - s)
        return out

    def compute_steps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The compute steps on compute units: (layer, start, end, busy lanes) arrays.

        Read from the fast path's array blocks directly (no list is built for them)."""
        parts = []
        for names, res, kinds, kind_idx, lay, st, en, ln in self._blocks:
            unit_lanes = np.array([self._compute_lanes_of(n) for n in names], np.int64)
            is_compute = np.array([k == STEP_COMPUTE for k in kinds], bool)
            sel = is_compute[kind_idx] & (unit_lanes[res] > 0)
            lanes = np.where(ln[sel] == ALL_LANES, unit_lanes[res[sel]], ln[sel])
            parts.append((np.full(int(sel.sum()), lay, np.int64), st[sel], en[sel], lanes))
        resource, kind, layer, start, end, lanes_list = self._lists
        sel = [i for i, (r, k) in enumerate(zip(resource, kind, strict=True))
               if k == STEP_COMPUTE and self._compute_lanes_of(r) > 0]
        if sel:
            lanes = [lanes_list[i] if lanes_list[i] != ALL_LANES
                     else self._compute_lanes_of(resource[i]) for i in sel]
            parts.append((np.asarray([layer[i] for i in sel], np.int64),
                          np.asarray([start[i] for i in sel], np.int64),
                          np.asarray([end[i] for i in sel], np.int64),
                          np.asarray(lanes, np.int64)))
        if not parts:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty, empty
        return tuple(np.concatenate([p[i] for p in parts]).astype(np.int64)
                     for i in range(4))  # type: ignore[return-value]

    def _compute_lanes_of(self, resource: str) -> int:
        """The lanes of `resource` if it is a compute unit, else 0."""
        entry = self.resources.get(resource)
        return entry.lanes if entry is not None and entry.role == COMPUTE else 0

    def compute_lanes(self) -> int:
        """Lanes of all compute units."""
        return sum(r.lanes for r in self.resources.values() if r.role == COMPUTE)

    def compute_units(self) -> int:
        return sum(r.role == COMPUTE for r in self.resources.values())

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
