"""Independent parts of a history searched in worker processes, one per core (`--jobs`).

Keys share nothing (see `checkers.linearizable`), so several can be searched at once.
Processes, not threads: the search is pure Python and holds the GIL. Workers are forked, so
they inherit the parts and the model as they lie in memory: ops hold transition closures,
which cannot be pickled, and copying a million ops to each worker would cost more than it
saves. Only a part's index goes to a worker, and only its small result comes back.

A worker costs a fork and a round trip, so only heavy parts go to one: big parts
(MIN_WORKER_OPS ops or more) and parts that already used up a round's budget; and only when a
round has at least two of them, else the parent does all the work with no overhead. Parts
are handed back in the order they were given, so the caller merges them exactly as it would
with one process, and the answer does not depend on the number of jobs.

The budget holds across workers: the deadline is a CLOCK_MONOTONIC instant, the same in every
process, and the memory limit is per key, so each worker keeps it for the key it searches
(with N jobs, up to N keys' memos at once). The progress line sums what each worker's search
has stored, from a shared array. Parts no longer wanted (after a failure, or on Ctrl-C) are
cancelled: their search stops at its next progress call.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

# Parts smaller than this are searched in the parent in their first round: for them a fork and
# a round trip cost about as much as the search (about 10 us an op on this machine's cores).
MIN_WORKER_OPS = 2_000
# How often the parent redraws the progress line while it waits for a worker, s.
WAIT_STEP = 0.25

# Work(index, configuration budget, progress callback or None) -> a picklable result.
Work = Callable[[int, int, Callable[[int], None] | None], Any]


def default_jobs() -> int:
    """The cores this process may run on (its CPU affinity), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


class _Cancelled(Exception):
    """Raised in a worker's search, from its progress callback, to stop a part no longer wanted."""


# Set in each worker when it starts (inherited through fork, never pickled).
_work: Work | None = None
_stored: Any = None
_cancelled_below: Any = None


def _start(work: Work, stored: Any, cancelled_below: Any) -> None:
    global _work, _stored, _cancelled_below
    _work, _stored, _cancelled_below = work, stored, cancelled_below
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it cancels and joins us


def _run(index: int, budget: int, generation: int) -> Any:
    assert _work is not None

    def tick(stored: int) -> None:
        _stored[index] = stored
        if _cancelled_below.value > generation:
            raise _Cancelled

    try:
        return _work(index, budget, tick)
    except _Cancelled:
        return None
    finally:
        _stored[index] = 0


class Dispatcher:
    """Runs `work` for the parts of each round, heavy ones in up to `jobs` forked workers."""

    def __init__(self, work: Work, sizes: Sequence[int], jobs: int) -> None:
        self.work = work
        self.sizes = sizes
        self.jobs = jobs if can_fork() else 1
        self.seen: set[int] = set()
        self.pool: ProcessPoolExecutor | None = None
        self.generation = 0
        self.stored: Any = None
        self.cancelled_below: Any = None

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.cancelled_below.value = self.generation + 1
            self.pool.shutdown(wait=True, cancel_futures=True)  # joined, so their CPU time is counted
            self.pool = None

    def _pool(self, heavy: int) -> ProcessPoolExecutor:
        if self.pool is None:
            ctx = multiprocessing.get_context("fork")
            self.stored = ctx.Array("q", len(self.sizes), lock=False)
            self.cancelled_below = ctx.Value("q", 0, lock=False)
            self.pool = ProcessPoolExecutor(
                min(self.jobs, heavy), ctx, _start, (self.work, self.stored, self.cancelled_below)
            )
        return self.pool

    def round(
        self, indices: Sequence[int], budget: int, tick: Callable[[int], None] | None
    ) -> Iterator[tuple[int, Any]]:
        """Yield (index, result) for `indices` in their order; a result is None if its worker died.

        `tick`, if given, is called with the configurations stored by the searches under way.
        Closing the iterator early cancels the parts not yet yielded.
        """
        self.generation += 1
        heavy = [i for i in indices if i in self.seen or self.sizes[i] >= MIN_WORKER_OPS]
        self.seen.update(indices)
        futures: dict[int, Future[Any]] = {}
        if self.jobs > 1 and len(heavy) >= 2:
            pool = self._pool(len(heavy))
            futures = {i: pool.submit(_run, i, budget, self.generation) for i in heavy}
        try:
            for i in indices:
                future = futures.pop(i, None)
                yield i, self.work(i, budget, tick) if future is None else self._wait(future, futures, tick)
        finally:
            if futures:
                self.cancelled_below.value = self.generation + 1
                for future in futures.values():
                    future.cancel()

    def _wait(self, future: Future[Any], others: dict[int, Future[Any]], tick: Callable[[int], None] | None) -> Any:
        while True:
            try:
                return future.result(timeout=WAIT_STEP if tick else None)
            except FutureTimeout:
                assert tick is not None
                tick(sum(self.stored))
            except BrokenProcessPool:
                return None
