"""Layers as pipeline stages over a batch of inputs, where weights stay on chip.

Stage l takes s_l cycles per input (the layer's time alone, as the engine timed it for
one input, weight copies included). Between stages l and l + 1 a buffer holds C_l
inputs' activations (`pipeline.stage_buffer_inputs`); a stage reserves a slot of its
output buffer when it starts an input, and the slot is freed when the next stage has
finished that input. Resources that several stages share (a chip-wide bus) serve every
stage: inputs enter no faster than one per E cycles, E the busiest shared resource's
cycles per input. So, inputs i in order and stages l in order,

    start[l, i] = max(end[l, i - 1],            the stage is free
                      end[l - 1, i],            its input is ready
                      end[l + 1, i - C_l],      a slot of its output buffer is free
                      i E  (l = 0))             the shared resources keep up
    end[l, i]   = start[l, i] + s_l

(the same recurrences as the pipelined schedules of ISAAC, Shafiee et al., ISCA 2016,
and NeuroSim's pipeline mode, at whole-input granularity). Stages follow the network's
layer order as a chain: a layer on a parallel branch (a residual downsample) waits for
the layer listed before it, which can only lengthen the latency, not the interval. A stage waiting only for an
output slot is *blocked* (stalled on a full buffer). The first input's latency is
end[L - 1, 0]; the steady-state throughput is (N - 1) / (end[L - 1, N - 1] -
end[L - 1, 0]), never above 1 / max_l s_l.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Schedule:
    """A pipelined run of `inputs` inputs: (stages, inputs) start and end cycles."""

    stage_cycles: np.ndarray  # (L,) s_l
    capacity: np.ndarray  # (L - 1,) C_l, inputs per inter-stage buffer
    entry_interval: int  # E
    start: np.ndarray
    end: np.ndarray
    blocked: np.ndarray  # (L,) cycles each stage waited only for an output slot

    @property
    def inputs(self) -> int:
        return self.end.shape[1]

    @property
    def latency_cycles(self) -> int:
        return int(self.end[-1, 0])

    @property
    def cycles(self) -> int:
        return int(self.end[-1, -1])

    @property
    def interval_cycles(self) -> float:
        """Steady-state cycles per input (the latency for a single input)."""
        if self.inputs == 1:
            return float(self.latency_cycles)
        return float(self.end[-1, -1] - self.end[-1, 0]) / (self.inputs - 1)

    def bottleneck(self) -> int:
        """The slowest stage."""
        return int(np.argmax(self.stage_cycles))


def schedule(stage_cycles: Sequence[int], capacity: Sequence[int], inputs: int,
             entry_interval: int = 0) -> Schedule:
    """The pipelined schedule of `inputs` inputs through stages of `stage_cycles`, with
    `capacity` inputs per inter-stage buffer (one fewer than the stages, each >= 1)."""
    s = np.asarray(stage_cycles, dtype=np.int64)
    cap = np.asarray(capacity, dtype=np.int64)
    n_stages = len(s)
    if n_stages < 1 or inputs < 1:
        raise ValueError("a pipeline needs at least one stage and one input")
    if len(cap) != n_stages - 1 or np.any(cap < 1):
        raise ValueError(f"need {n_stages - 1} buffer capacities >= 1, got {cap.tolist()}")
    start = np.zeros((n_stages, inputs), dtype=np.int64)
    end = np.zeros((n_stages, inputs), dtype=np.int64)
    blocked = np.zeros(n_stages, dtype=np.int64)
    for i in range(inputs):
        for stage in range(n_stages):
            ready = max(int(end[stage, i - 1]) if i else 0,
                        int(end[stage - 1, i]) if stage else i * entry_interval)
            slot = 0
            if stage < n_stages - 1 and i >= cap[stage]:
                slot = int(end[stage + 1, i - cap[stage]])
            start[stage, i] = max(ready, slot)
            blocked[stage] += max(0, slot - ready)
            end[stage, i] = start[stage, i] + s[stage]
    return Schedule(s, cap, int(entry_interval), start, end, blocked)


def shared_interval(record: Any) -> tuple[int, str | None]:
    """The busiest resource that more than one layer uses, from a single-input engine
    record (`JobRecord`): its busy cycles per input (the entry interval E) and its name
    (None: no sharing)."""
    users: dict[str, set[int]] = {}
    for r, layer in zip(record.resource, record.layer, strict=True):
        users.setdefault(r, set()).add(int(layer))
    shared = [(cycles, r) for r, cycles in record.busy_cycles().items() if len(users[r]) > 1]
    if not shared:
        return 0, None
    cycles, name = max(shared)
    return int(cycles), name


def summary(sched: Schedule, names: Sequence[str], bits_per_input: Sequence[int],
            shared: str | None, frequency_hz: float) -> dict[str, Any]:
    """The schedule as report figures: per stage its time, buffer and stalls."""
    stages = []
    for k, name in enumerate(names):
        entry: dict[str, Any] = {"name": name, "cycles_per_input": int(sched.stage_cycles[k]),
                                 "blocked_cycles": int(sched.blocked[k])}
        if k < len(sched.capacity):
            entry["buffer_inputs"] = int(sched.capacity[k])
            entry["buffer_kib"] = int(sched.capacity[k]) * bits_per_input[k] / 8192
        stages.append(entry)
    slowest = names[sched.bottleneck()]
    bound = shared if shared is not None and sched.entry_interval > sched.stage_cycles.max() \
        else f"stage {slowest}"
    return {
        "stages": stages,
        "bottleneck": slowest,
        "bound_by": bound,
        "entry_interval_cycles": sched.entry_interval,
        "shared_resource": shared,
        "interval_cycles": sched.interval_cycles,
        "inter_stage_buffer_kib": float(sum(e.get("buffer_kib", 0.0) for e in stages)),
        "blocked_cycles": int(sched.blocked.sum()),
        "latency_s": sched.latency_cycles / frequency_hz,
    }
