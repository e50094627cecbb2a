"""The length of a stream phase in closed form, where FIFO order is item order.

A stream phase (`StreamPhase`) runs, per queue k, a stream of steps on shared resources
while its own resource works its final step from the phase start. When each stream
column uses resources of its own and every resource is requested in queue order, each
resource serves its queues as a max-plus scan: a queue arriving at A_k with d_k cycles
leaves at

    T_k = max(T_prev, A_k) + d_k = S_k + max_{j <= k} (A_j - S_{j-1}),

S the running sum of d over the queues of that resource (a step of <= 0 cycles is
skipped: no request, T_k = A_k). Every final step must have cycles (a queue without
one streams from a process started after all the others: another order). The phase
lasts max_k max(T_k, final_k). This is the
event replay's (`engine.fifo`) answer without replaying events; where the conditions do
not hold, `makespan` says None and the caller times the phase with the engine. The tests
check it against the engine on random phases (tests/test_engine_makespan.py).
"""

from __future__ import annotations

import numpy as np

from imcsim.engine.types import StreamPhase


def makespan(phase: StreamPhase) -> int | None:
    """Cycles of `phase` from its start, or None where FIFO order is not queue order."""
    res, cyc = phase.stream_res, phase.stream_cycles
    n, k = res.shape
    if n == 0:
        return 0
    final = phase.final_res
    if len(np.unique(final)) != n or np.isin(final, res).any():
        return None  # a final step that is not private
    if np.any(phase.final_cycles <= 0):
        return None  # such a queue streams in a process started after all others
    columns = [set(res[:, j][res[:, j] >= 0].tolist()) for j in range(k)]
    for j in range(k):
        if any(columns[j] & columns[i] for i in range(k) if i != j):
            return None  # a resource in two stream columns
    leave = np.zeros(n, dtype=np.int64)
    for j in range(k):
        arrive = leave
        leave = arrive.copy()
        active = (res[:, j] >= 0) & (cyc[:, j] > 0)
        for r in np.unique(res[active, j]):
            idx = np.flatnonzero(active & (res[:, j] == r))
            a = arrive[idx]
            if np.any(np.diff(a) < 0):
                return None  # requested out of queue order
            d = cyc[idx, j]
            s = np.cumsum(d)
            leave[idx] = s + np.maximum.accumulate(a - (s - d))
    return int(max(leave.max(), phase.final_cycles.max(initial=0), 0))
