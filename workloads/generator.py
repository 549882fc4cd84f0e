"""Seeded operation streams and the pacing between them.

Each worker draws from its own random source derived from the run's seed and the worker's
number, so the sequence of operations every worker offers is reproducible whatever the
interleaving the threads happen to get.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from contract.client import Op

OpSource = Callable[[random.Random], Op]


class Generator:
    """Hands each worker its next operation and how long to wait before issuing it.

    `rate` is the target total operations per second over all `concurrency` workers; gaps are
    exponentially distributed so that workers do not fall into lock-step.
    """

    def __init__(self, source: OpSource, seed: int, concurrency: int, rate: float,
                 reads: OpSource | None = None) -> None:
        """`reads`, if the workload has one, draws a read-only operation, for phases in which a fault
        package lets clients only read (`harness.client_gate`)."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.source = source
        self.reads = reads
        self.concurrency = concurrency
        self.mean_gap = concurrency / rate
        self._rngs = [random.Random(f"{seed}:worker:{w}") for w in range(concurrency)]

    def next(self, worker: int, reads_only: bool = False) -> tuple[float, Op | None]:
        """The gap before the worker's next operation, and the operation: a read when `reads_only`
        (None if the workload has no read-only operation)."""
        rng = self._rngs[worker]
        gap = rng.expovariate(1 / self.mean_gap)
        if reads_only:
            return gap, self.reads(rng) if self.reads is not None else None
        return gap, self.source(rng)
