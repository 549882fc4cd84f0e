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

    def __init__(self, source: OpSource, seed: int, concurrency: int, rate: float) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.source = source
        self.concurrency = concurrency
        self.mean_gap = concurrency / rate
        self._rngs = [random.Random(f"{seed}:worker:{w}") for w in range(concurrency)]

    def next(self, worker: int) -> tuple[float, Op]:
        rng = self._rngs[worker]
        return rng.expovariate(1 / self.mean_gap), self.source(rng)
