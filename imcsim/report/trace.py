"""Chrome trace event export of an engine `JobRecord` (open in Perfetto or chrome://tracing).

Layout of the written JSON (format: "Trace Event Format", JSON object form):

* one process per resource group of the engine's resource table (a bank, the crossbar
  tiles, the photonic cores; ``pid`` 1, 2, ... in table order, named after the group)
  with one thread per resource in table order (named after the resource); resources the
  table does not list land in process 0, ``chip``;
* one complete event (``ph: "X"``) per engine step, ``ts``/``dur`` in microseconds
  (cycles / frequency_hz * 1e6), ``args`` with the exact cycles (``start_cycle``,
  ``end_cycle``, ``busy_cycles``), the ``layer`` index (and ``layer_name`` when given),
  the ``kind`` and ``merged`` (how many steps the event stands for);
* a counter (``ph: "C"``) ``busy lanes`` in process 0: how many lanes of the compute
  units (resources of role "compute") are computing (steps of kind "compute"), exact at
  every change, or, when that has more than `max_events_per_track` changes, the
  time-weighted mean per bin; divided by the lanes of all compute units (``otherData``)
  it is the utilisation the report states.

Size is bounded: a track with more than `max_events_per_track` steps has runs of
consecutive steps of the same kind and layer merged into aggregates of equal length
(the smallest that fits), so ``busy_cycles`` still add up to the engine's exact busy cycles
(an aggregate's ``dur`` spans its first start to its last end, idle gaps included).
Nothing here computes a new figure: it re-lays out the recorded steps.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from imcsim.atomic import check_file_target, write_or_collect
from imcsim.errors import UsageError

CHIP_PID = 0
COUNTER_NAME = "busy lanes"


def _track_ids(record: Any) -> tuple[dict[str, tuple[int, int]], dict[int, str]]:
    """(pid, tid) of each resource and the name of each process: one process per
    resource group (table order), one thread per resource; unlisted ones in ``chip``."""
    ids: dict[str, tuple[int, int]] = {}
    groups: dict[str, int] = {}
    tids: dict[int, int] = {}
    for res in record.resources.values():
        pid = groups.setdefault(res.group, len(groups) + 1)
        ids[res.name] = (pid, tids.get(pid, 0))
        tids[pid] = tids.get(pid, 0) + 1
    used = set(record.resource)
    other = sorted(used - set(ids))
    for i, name in enumerate(other):
        ids[name] = (CHIP_PID, 1 + i)
    names = {pid: group for group, pid in groups.items()}
    names[CHIP_PID] = "chip"
    ids = {name: ids[name] for name in ids if name in used}
    return dict(sorted(ids.items(), key=lambda kv: kv[1])), names


def _level_steps(starts: np.ndarray, ends: np.ndarray, weights: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Change points (increasing) and the summed weight of the intervals open from each."""
    times = np.concatenate([starts, ends])
    delta = np.concatenate([weights, -weights])
    order = np.argsort(times, kind="stable")
    times, level = times[order], np.cumsum(delta[order])
    change, first = np.unique(times, return_index=True)
    last = np.r_[first[1:], len(times)] - 1
    return change, level[last] if len(times) else level


def busy_lane_steps(record: Any) -> tuple[np.ndarray, np.ndarray]:
    """Change points (cycles, increasing) and the number of compute lanes busy from each."""
    _, starts, ends, lanes = record.compute_steps()
    return _level_steps(starts, ends, lanes)


def busy_steps(record: Any) -> tuple[tuple[np.ndarray, np.ndarray],
                                      tuple[np.ndarray, np.ndarray]]:
    """(change points, busy lanes) and (change points, busy compute units), from one
    read of the record's compute steps."""
    _, starts, ends, lanes = record.compute_steps()
    return (_level_steps(starts, ends, lanes),
            _level_steps(starts, ends, np.ones(len(starts), np.int64)))


def binned_integral(change: np.ndarray, level: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The integral of a step function inside each bin ``[edges[i], edges[i+1])``.

    Exact for any (also fractional) edges: the integral is piecewise linear, so
    interpolating it at the edges loses nothing.
    """
    edges = np.asarray(edges, dtype=np.float64)
    if len(change) == 0:
        return np.zeros(len(edges) - 1)
    integral = np.r_[0.0, np.cumsum(level[:-1] * np.diff(change).astype(np.float64))]
    return np.diff(np.interp(edges, change.astype(np.float64), integral))


def binned_busy_lane_cycles(record: Any, edges: np.ndarray) -> np.ndarray:
    """Lane-cycles of the compute units spent computing inside each bin."""
    return binned_integral(*busy_lane_steps(record), edges)


def _groups(kinds: list[str], layers: list[int], limit: int) -> list[tuple[int, int]]:
    """Index ranges [i, j) of consecutive steps to emit as one event (at most `limit`
    events when runs of equal kind and layer allow it; one per run at the coarsest)."""
    n = len(kinds)
    if n <= limit:
        return [(i, i + 1) for i in range(n)]
    runs, i = [], 0
    while i < n:
        j = i + 1
        while j < n and kinds[j] == kinds[i] and layers[j] == layers[i]:
            j += 1
        runs.append((i, j))
        i = j
    lengths = [j - i for i, j in runs]
    lo, hi = 1, max(lengths)
    while lo < hi:  # smallest group size that fits
        mid = (lo + hi) // 2
        if sum(-(-length // mid) for length in lengths) <= limit:
            hi = mid
        else:
            lo = mid + 1
    return [(s, min(s + lo, j)) for i, j in runs for s in range(i, j, lo)]


def _us(cycles: float, scale: float) -> float:
    """Microseconds, rounded to 1e-9 us (far below a cycle) to drop float noise."""
    return round(float(cycles) * scale, 9)


def _counter_events(record: Any, scale: float, limit: int) -> tuple[list[dict], str]:
    change, level = busy_lane_steps(record)
    if len(change) <= limit:
        return [{"name": COUNTER_NAME, "ph": "C", "pid": CHIP_PID, "ts": _us(t, scale),
                 "args": {COUNTER_NAME: int(v)}} for t, v in zip(change, level, strict=True)], \
            "exact"
    edges = np.linspace(0.0, float(change[-1]), limit)
    mean = binned_integral(change, level, edges) / np.diff(edges)
    events = [{"name": COUNTER_NAME, "ph": "C", "pid": CHIP_PID, "ts": _us(t, scale),
               "args": {COUNTER_NAME: round(float(v), 6)}} for t, v in zip(edges, mean, strict=False)]
    events.append({"name": COUNTER_NAME, "ph": "C", "pid": CHIP_PID,
                   "ts": _us(edges[-1], scale), "args": {COUNTER_NAME: 0}})
    return events, f"time-weighted mean over {limit - 1} equal bins"


def build_trace(record: Any, frequency_hz: float, max_events_per_track: int = 20000,
                layer_names: Sequence[str] | None = None) -> dict[str, Any]:
    """The trace document (see the module docstring) of an engine `JobRecord`."""
    if not frequency_hz > 0:
        raise UsageError(f"frequency must be positive, got {frequency_hz}", key="frequency_hz")
    if max_events_per_track < 2:
        raise UsageError(f"must be at least 2, got {max_events_per_track}",
                         key="max_events_per_track")
    scale = 1e6 / frequency_hz  # microseconds per cycle
    ids, process_names = _track_ids(record)
    events: list[dict[str, Any]] = []
    pids = sorted({pid for pid, _ in ids.values()} | {CHIP_PID})
    for pid in pids:
        name = process_names[pid]
        events.append({"name": "process_name", "ph": "M", "pid": pid, "args": {"name": name}})
        events.append({"name": "process_sort_index", "ph": "M", "pid": pid,
                       "args": {"sort_index": pid}})
    for res, (pid, tid) in ids.items():
        events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                       "args": {"name": res}})
        events.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid,
                       "args": {"sort_index": tid}})
    per_track: dict[str, list[int]] = {res: [] for res in ids}
    for i, res in enumerate(record.resource):
        per_track[res].append(i)
    aggregated: dict[str, dict[str, int]] = {}
    for res, idx in per_track.items():
        idx.sort(key=lambda i: (record.start[i], record.end[i]))
        kinds = [record.kind[i] for i in idx]
        layers = [int(record.layer[i]) for i in idx]
        groups = _groups(kinds, layers, max_events_per_track)
        if len(groups) < len(idx):
            aggregated[res] = {"steps": len(idx), "events": len(groups)}
        pid, tid = ids[res]
        for a, b in groups:
            first, members = idx[a], idx[a:b]
            start, end = int(record.start[first]), int(record.end[idx[b - 1]])
            busy = sum(int(record.end[i]) - int(record.start[i]) for i in members)
            layer = layers[a]
            label = layer_names[layer] if layer_names is not None else f"L{layer}"
            args: dict[str, Any] = {"layer": layer}
            if layer_names is not None:
                args["layer_name"] = label
            args.update({"kind": kinds[a], "start_cycle": start, "end_cycle": end,
                         "busy_cycles": busy, "merged": b - a})
            name = f"{label} {kinds[a]}" + (f" (x{b - a})" if b - a > 1 else "")
            events.append({"name": name, "cat": kinds[a], "ph": "X", "pid": pid, "tid": tid,
                           "ts": _us(start, scale), "dur": _us(end - start, scale), "args": args})
    counter, counter_mode = _counter_events(record, scale, max_events_per_track)
    events += counter
    return {
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": {
            "generator": "imcsim", "frequency_hz": frequency_hz,
            "time_unit": "us = cycles / frequency_hz * 1e6; exact cycles in args",
            "max_events_per_track": max_events_per_track,
            "aggregated_tracks": aggregated, "busy_lanes_counter": counter_mode,
            "compute_lanes": record.compute_lanes(),
        },
    }


def build_pipeline_trace(schedule: Any, stage_names: Sequence[str],
                         frequency_hz: float) -> dict[str, Any]:
    """The trace of a pipelined batch (`imcsim.pipeline.Schedule`): process ``pipeline``
    with one thread per stage (a layer), one complete event per input on each stage
    (``args``: the input, exact start and end cycles, and the cycles the stage waited
    for a slot of its output buffer before it, ``blocked_cycles``)."""
    if not frequency_hz > 0:
        raise UsageError(f"frequency must be positive, got {frequency_hz}", key="frequency_hz")
    scale = 1e6 / frequency_hz
    pid = 1
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": pid, "args": {"name": "pipeline"}},
        {"name": "process_sort_index", "ph": "M", "pid": pid, "args": {"sort_index": pid}}]
    for tid, name in enumerate(stage_names):
        events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                       "args": {"name": name}})
        events.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid,
                       "args": {"sort_index": tid}})
    for tid, name in enumerate(stage_names):
        for i in range(schedule.inputs):
            start, end = int(schedule.start[tid, i]), int(schedule.end[tid, i])
            events.append({"name": f"input {i}", "cat": "stage", "ph": "X", "pid": pid,
                           "tid": tid, "ts": _us(start, scale), "dur": _us(end - start, scale),
                           "args": {"stage": name, "input": i, "start_cycle": start,
                                    "end_cycle": end, "busy_cycles": end - start}})
    return {"traceEvents": events, "displayTimeUnit": "ns",
            "otherData": {"generator": "imcsim", "frequency_hz": frequency_hz,
                          "time_unit": "us = cycles / frequency_hz * 1e6; exact cycles in args",
                          "pipeline": {"stages": len(stage_names), "inputs": schedule.inputs}}}


def dumps_trace(doc: dict[str, Any]) -> str:
    """Compact JSON, one trace event per line (diffable, deterministic)."""
    def compact(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=False)

    body = ",\n".join(compact(e) for e in doc["traceEvents"])
    rest = "".join(f",{json.dumps(k)}:{compact(v)}"
                   for k, v in doc.items() if k != "traceEvents")
    return '{"traceEvents":[\n' + body + "\n]" + rest + "}\n"


def write_trace(path: str | Path, record: Any, frequency_hz: float,
                max_events_per_track: int = 20000,
                layer_names: Sequence[str] | None = None,
                sink: dict[Path, bytes] | None = None, schedule: Any = None) -> Path:
    """Write the Chrome/Perfetto trace of `record` (of the pipelined `schedule` when
    given: stages as tracks, inputs as slices) to `path` atomically (or add it to `sink`,
    for the caller to write with the rest of its output set); the path."""
    path = check_file_target(path, UsageError, "trace")
    if schedule is not None:
        doc = build_pipeline_trace(schedule, layer_names or [], frequency_hz)
    else:
        doc = build_trace(record, frequency_hz, max_events_per_track, layer_names)
    text = dumps_trace(doc)
    write_or_collect({path: text.encode("utf-8")}, sink, UsageError)
    return path


def trace_busy_cycles(trace_doc: dict[str, Any]) -> dict[str, int]:
    """Busy cycles per resource name, summed over the complete events' ``args``."""
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in trace_doc["traceEvents"]
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    out: dict[str, int] = {}
    for e in trace_doc["traceEvents"]:
        if e.get("ph") == "X":
            res = names[(e["pid"], e["tid"])]
            out[res] = out.get(res, 0) + int(e["args"]["busy_cycles"])
    return out
