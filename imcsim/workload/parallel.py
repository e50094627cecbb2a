"""A small thread pool for the weight pipeline (drawing and ternarizing weight tensors).

numpy's random generators, ufuncs, reductions and np.partition release the GIL on large
arrays, so independent weight tensors are processed in parallel by threads. Each task
depends on its own inputs only (every tensor has its own generator), so results do not
depend on the number of threads or on the order the tasks run in.

Thread count: `IMCSIM_THREADS` if set (a positive integer, e.g. 1 in worker processes
that already run one per core), else the usable cores, at most MAX_THREADS; never more
than there are tasks. One thread runs the tasks inline, without a pool.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeVar

from imcsim.errors import UsageError

T = TypeVar("T")
R = TypeVar("R")

MAX_THREADS = 4
THREADS_ENV = "IMCSIM_THREADS"


def cpu_count() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it), >= 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def thread_count(n_tasks: int, threads: int | None = None) -> int:
    """Threads to use for `n_tasks` independent tasks (see the module docstring);
    `threads`, if given, replaces the environment / core count."""
    if threads is None:
        env = os.environ.get(THREADS_ENV, "").strip()
        if env:
            try:
                threads = int(env)
            except ValueError:
                threads = 0
            if threads < 1:
                raise UsageError(f"must be a positive integer, got {env!r}",
                                 key=THREADS_ENV)
        else:
            threads = min(MAX_THREADS, cpu_count())
    return max(1, min(int(threads), n_tasks))


def map_ordered(fn: Callable[[T], R], items: Sequence[T], costs: Sequence[float],
                threads: int | None = None) -> list[R]:
    """[fn(x) for x in items], on a thread pool (if more than one thread, see
    `thread_count`) where the tasks start largest cost first.

    Results come back in `items` order. If tasks fail, the exception of the first failing
    item (in `items` order) is raised, as the serial loop would (after all tasks ended).
    """
    n = thread_count(len(items), threads)
    if n == 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    order = sorted(range(len(items)), key=lambda i: -costs[i])
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="imcsim-weights") as pool:
        futures = {i: pool.submit(fn, items[i]) for i in order}
    return [futures[i].result() for i in range(len(items))]
