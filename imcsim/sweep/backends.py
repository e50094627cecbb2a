"""Where sweep batches run: inline, on a local process pool, or on a Dask cluster.

`open_backend` connects first (so an unreachable scheduler fails before anything is
written) and yields a `Backend`: how many batches it runs at once, and `map`, which
yields (batch, result) pairs as batches finish, in any order. Leaving the context
cancels what has not started and shuts the workers down. Dask is imported only when
asked for.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from imcsim.errors import UsageError

Batch = Sequence[Any]
Fn = Callable[[Batch], Any]
# (batch, result) pairs as batches finish; close() stops the work left
Results = Generator[tuple[Batch, Any], None, None]


@dataclass(frozen=True)
class Backend:
    parallelism: int
    map: Callable[[Fn, Sequence[Batch]], Results]


def check_workers(workers: int | None) -> int:
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers must be a positive integer, got {workers!r}",
                         key="workers")
    return workers


def check_dask(dask: str | None) -> str | None:
    if dask is None or dask == "local":
        return dask
    if not isinstance(dask, str) or "://" not in dask:
        raise UsageError(f"expected 'local' or a scheduler address like tcp://HOST:PORT, got "
                         f"{dask!r}", key="dask")
    try:
        from urllib.parse import urlsplit

        parts = urlsplit(dask)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError as exc:
        raise UsageError(f"malformed scheduler address {dask!r}: {exc}", key="dask") from None
    if not parts.hostname:
        raise UsageError(f"no host in scheduler address {dask!r}", key="dask")
    return dask


def _inline(fn: Fn, batches: Sequence[Batch]) -> Results:
    for batch in batches:
        yield batch, fn(batch)


def _quiet_worker(parent: int) -> None:
    """Pool workers leave Ctrl-C to the parent, which stops them (no traceback each),
    draw weights on one thread each (the pool already runs one worker per core), and
    die with the sweep process `parent`, however it ends (even SIGKILL)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("IMCSIM_THREADS", "1")
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int, every_s: float = 0.5) -> None:
    """Exit this process as soon as process `parent` is gone."""
    while True:
        time.sleep(every_s)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # alive, another user's (a reused pid cannot be ours)
            continue


def _stop(ex: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers now (their batches are lost)."""
    terminate = getattr(ex, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    for proc in list((getattr(ex, "_processes", None) or {}).values()):
        proc.terminate()
    ex.shutdown(wait=True, cancel_futures=True)


def _pool(workers: int) -> Callable[[Fn, Sequence[Batch]], Results]:
    def run(fn: Fn, batches: Sequence[Batch]) -> Results:
        # forkserver (else spawn): workers start clean, whatever threads this process has
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        ex = ProcessPoolExecutor(max_workers=min(workers, len(batches)), mp_context=ctx,
                                 initializer=_quiet_worker, initargs=(os.getpid(),))
        try:
            futures = {ex.submit(fn, b): b for b in batches}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        except BaseException:  # an error, Ctrl-C, or the consumer stopped early
            _stop(ex)
            raise
        ex.shutdown(wait=True)
    return run


@contextmanager
def _ignoring_sigint() -> Iterator[None]:
    """SIGINT ignored while processes are started, so that they inherit that (a
    terminal's Ctrl-C reaches the whole process group: only this process handles it,
    and the workers print no traceback)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _dask_client(dask: str, workers: int, timeout: float) -> Iterator[Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("Dask is not installed: pip install 'imcsim[dask]'",
                         key="dask") from None
    if dask == "local":
        with _ignoring_sigint():  # the workers start with Ctrl-C ignored: the sweep
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1,  # stops them
                                   processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(dask, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {dask} within {timeout:g} s: "
                         f"{exc}", key="dask") from None
    with client:
        yield client


def _dask_map(client: Any) -> Callable[[Fn, Sequence[Batch]], Results]:
    def run(fn: Fn, batches: Sequence[Batch]) -> Results:
        from dask.distributed import as_completed as dask_completed

        futures = {client.submit(fn, b, pure=False): b for b in batches}
        try:
            for fut in dask_completed(list(futures)):
                yield futures[fut], fut.result()  # a task's error is raised here
        finally:
            client.cancel(list(futures))
    return run


@contextmanager
def open_backend(workers: int, dask: str | None, connect_timeout: float = 10.0
                 ) -> Iterator[Backend]:
    """Inline (workers == 1), a process pool, or Dask ("local" or a scheduler address;
    its workers' threads are its parallelism)."""
    if dask is not None:
        with _dask_client(dask, workers, connect_timeout) as client:
            threads = sum(client.nthreads().values()) or workers
            yield Backend(threads, _dask_map(client))
    elif workers == 1:
        yield Backend(1, _inline)
    else:
        yield Backend(workers, _pool(workers))
