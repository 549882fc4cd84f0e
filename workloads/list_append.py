"""Elle's list-append workload: transactions of appends and reads over lists, checked for cycles.

Each transaction has 1 to `max-txn-length` micro-ops on a few keys: `["append", k, v]` adds v to
the list at k, `["r", k, null]` reads it. Every appended value is unique, so a read's list tells
exactly which appends it saw and in which order: the version order of each key is known, and
the checker (checkers.txn, Elle's method) can find write-write, write-read and read-write
dependencies between transactions and the cycles that no serial order allows.

Keys rotate: each worker moves to fresh keys every `key-rotation` transactions, so lists stay
short and the checker stays fast however long the run.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any, ClassVar

from checkers.checker import Checker, Compose
from checkers.history import Event
from checkers.txn import MODELS, TxnChecker, read_txn_history
from contract.client import Completion, Op
from contract.options import Option, choice, number
from workloads.base import Workload
from workloads.txn_client import run_txn


class ListAppend(Workload):
    name = "list-append"
    description = ("transactions of appends and reads over lists (Elle); checked for dependency cycles "
                   "against a consistency model")
    options: ClassVar = (
        Option("active-keys", "keys a worker picks from at a time", default=8, parse=number(1, 1000, integer=True),
               metavar="N"),
        Option("max-txn-length", "micro-ops per transaction, at most", default=4,
               parse=number(1, 100, integer=True), metavar="N"),
        Option("key-rotation", "transactions a worker makes before moving on to a fresh key", default=4,
               parse=number(1, 1_000_000, integer=True), metavar="N"),
        Option("consistency-model", "the strongest model the history must satisfy", default="strict-serializable",
               parse=choice(*MODELS), metavar="MODEL"),
    )
    requires = ("txn",)
    checker_workload = "list-append"
    write_f = "append"

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._values = itertools.count(1)  # unique values (next() on a count is atomic under the GIL)
        self._made: dict[int, int] = {}  # transactions made so far, per worker's random source

    def _keys(self, rng: random.Random) -> list[int]:
        made = self._made.get(id(rng), 0)
        self._made[id(rng)] = made + 1
        base = made // self.opts["key-rotation"]
        length = rng.randint(1, self.opts["max-txn-length"])
        return [base + rng.randrange(self.opts["active-keys"]) for _ in range(length)]

    def next_op(self, rng: random.Random) -> Op:
        micro_ops = [[self.write_f, str(k), next(self._values)] if rng.random() < 0.5 else ["r", str(k), None]
                     for k in self._keys(rng)]
        return Op("txn", None, micro_ops)

    def invoke(self, conn: Any, op: Op) -> Completion:
        return run_txn(conn, op, op.value)

    def read_history(self, path: Path, format: str | None = None) -> list[Event]:
        """Elle's own histories may lack :process or :f (every op is a txn there): read them as Elle does."""
        return read_txn_history(path, format)

    def checker(self) -> Checker:
        return Compose({"elle": TxnChecker(self.checker_workload, self.opts["consistency-model"])})
