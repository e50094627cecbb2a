"""Exact solver of a stream phase: a replay of simpy's event order, in plain Python.

Each queue runs one task: a stream of overlap steps, then one step on a resource no other
queue uses (so it never waits; its time runs from the phase start). `solve` replays what
`core.run` does in simpy for that shape, event by event, but only the events that decide
the timing and the order of grants:

* the queue processes start at the phase start (URGENT, queue order) and run their
  stream in their own process; a queue whose final step has no cycles runs its stream in
  a child process, started (URGENT) after every queue process;
* a step on a resource only its queue uses is a timeout; a step on a shared resource is a
  request (granted at once if the resource is free and nobody waits before it, else on a
  release, FIFO by request), then a timeout; its end releases the resource (the release
  event hands it to the head of the FIFO) and requests the next step, in that order;
* events at the same cycle run by priority, then in the order they were scheduled.

Steps with cycles <= 0 are skipped, as simpy skips them. Events that only end processes
(timers of the final step, process ends, conditions) are left out: they schedule nothing
that could change a grant, and leaving them out keeps the order of the others. A phase
starts after a barrier, with no event pending and every resource free, so each phase is
solved on its own from its start cycle (event ids only order events: they restart too).
The tests replay random phases against simpy (tests/test_engine_fastpath.py).
"""

from __future__ import annotations

import heapq

import numpy as np

# what an event does, in its low 2 bits (the rest is a queue or a resource index)
_START = 0  # a grant reaches queue q: its step starts (simpy: the request event)
_END = 1  # queue q's step ends (the timeout): release, then its next step
_GRANT = 2  # resource r is handed to the head of its FIFO (the release event)
_NEXT = 3  # queue q goes on to its next step with cycles (not an event: done in place)


def solve(t0, res, cyc, shared, final):
    """Stream step starts (n, k; -1 where skipped) and queue ends (n,) of one phase.

    res, cyc: (n, k) resource index and cycles of each queue's stream steps, in order;
    shared: per resource index, whether more than one queue names it (then it is a FIFO);
    final: (n,) cycles of each queue's last step, on a resource of its own, from t0.
    Plain Python on lists with `heapq` (a phase has a few hundred events: faster than
    loading a compiled kernel, and nothing to compile).
    """
    n, k = res.shape
    t0 = int(t0)
    resl, cycl, fin = res.tolist(), cyc.tolist(), final.tolist()
    sh = shared.tolist()
    start = [[-1] * k for _ in range(n)]
    done = [-1] * n  # when each queue's stream ended
    pos = [0] * n  # each queue's current stream step
    nxt = [-1] * n  # FIFOs as linked lists of queues
    busy = [False] * len(sh)
    head = [-1] * len(sh)
    tail = [-1] * len(sh)
    heap: list[tuple[int, int, int]] = []  # cycle, event id (schedule order), event
    push, pop = heapq.heappush, heapq.heappop
    eid = 0
    # the queue processes start in order (URGENT); a queue without a final step runs its
    # stream in a child process, started after all of them
    first = [q for late in (False, True) for q in range(n)
             if any(c > 0 for c in cycl[q]) and (fin[q] <= 0) == late]
    i = 0
    while True:
        if i < len(first):
            x, act, now = first[i], _NEXT, t0
            i += 1
        elif heap:
            now, _, v = pop(heap)
            x, act = v >> 2, v & 3
        else:
            break
        if act == _START:
            p = pos[x]
            start[x][p] = now
            push(heap, (now + cycl[x][p], eid, (x << 2) | _END))
            eid += 1
            continue
        if act == _END:
            r = resl[x][pos[x]]
            if sh[r]:  # the release: the resource is free now, handed on by its event
                busy[r] = False
                push(heap, (now, eid, (r << 2) | _GRANT))
                eid += 1
            pos[x] += 1
            act = _NEXT
        if act == _NEXT:
            p, cx = pos[x], cycl[x]
            while p < k and cx[p] <= 0:
                p += 1
            pos[x] = p
            if p == k:
                done[x] = now
                continue
            r = resl[x][p]
            if not sh[r]:  # a plain timeout
                start[x][p] = now
                push(heap, (now + cx[p], eid, (x << 2) | _END))
                eid += 1
                continue
            nxt[x] = -1  # a request: join the FIFO, which is served at once if it can be
            if tail[r] >= 0:
                nxt[tail[r]] = x
            else:
                head[r] = x
            tail[r] = x
            x = r
        # _GRANT (simpy's _trigger_put): a free resource goes to its FIFO's head
        h = head[x]
        if h >= 0 and not busy[x]:
            head[x] = nxt[h]
            if nxt[h] < 0:
                tail[x] = -1
            busy[x] = True
            push(heap, (now, eid, (h << 2) | _START))
            eid += 1
    ends = [max(t0 + max(f, 0), d) for f, d in zip(fin, done, strict=True)]
    return (np.array(start, dtype=np.int64).reshape(n, k),
            np.array(ends, dtype=np.int64).reshape(n))


def users(res: np.ndarray, cyc: np.ndarray, final: np.ndarray, n_res: int
          ) -> tuple[np.ndarray, bool]:
    """How many queues name each resource (stream or final step, with or without cycles),
    and whether every index is valid (in range; -1 only for a stream slot without cycles)."""
    n, k = res.shape
    slots = np.concatenate([res, final[:, None]], axis=1)
    skipped = np.zeros(slots.shape, bool)
    skipped[:, :k] = (res == -1) & (cyc <= 0)
    named = slots[~skipped]
    if named.size and (named.min() < 0 or named.max() >= n_res):
        return np.zeros(n_res, np.int64), False
    queue = np.broadcast_to(np.arange(n, dtype=np.int64)[:, None], slots.shape)[~skipped]
    pairs = np.unique(queue * n_res + named)  # each (queue, resource) once
    return np.bincount(pairs % n_res, minlength=n_res).astype(np.int64), True


def run_phase(t0, res, cyc, kind, final_res, final, final_kind, final_lanes, n_res):
    """One stream phase from t0: (status, end, shared, and the record: resource, kind,
    start, end, lanes, by end cycle; a stream step's lanes are -1, all of its resource's).
    status 1: done; 0: a final resource is not private (not run); -1: a resource index is
    out of range (not run). The event replay is `solve`; the record is
    laid out here with numpy (queue by queue, stream steps then the final step, then
    stably by end cycle: the order simpy records them in)."""
    count, valid = users(res, cyc, final_res, n_res)
    shared = count > 1
    n, k = res.shape
    empty = np.empty(0, np.int64)
    if not valid:
        return -1, t0, shared, empty, empty, empty, empty, empty
    if n and np.any(count[final_res] > 1):
        return 0, t0, shared, empty, empty, empty, empty, empty
    start, ends = solve(t0, res, cyc, shared, final)
    column = np.full((n, 1), t0, np.int64)
    present = np.concatenate([start >= 0, (final > 0)[:, None]], axis=1)
    entries = [np.concatenate(parts, axis=1)[present] for parts in (
        (res, final_res[:, None]), (kind, final_kind[:, None]), (start, column),
        (start + cyc, column + final[:, None]),
        (np.full((n, k), -1, np.int64), final_lanes[:, None]))]
    order = np.argsort(entries[3], kind="stable")
    end = max(int(t0), int(ends.max())) if n else int(t0)
    return (1, end, shared, *(e[order] for e in entries))
