"""The counter workload: clients add small positive amounts to one counter and read it.

Adds are `["add", k, delta]` transactions. The checker (checkers.counter) bounds every read by
the adds acknowledged before it began and the adds invoked before it returned: a lost increment,
or one applied twice, falls outside.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from checkers.checker import Checker, Compose
from checkers.counter import CounterChecker
from contract.client import Completion, Op
from contract.options import Option, number
from workloads.base import Workload
from workloads.txn_client import run_txn

KEY = "counter"


class Counter(Workload):
    name = "counter"
    description = "increments of one counter and reads of it; every read bounded by acknowledged and attempted adds"
    options: ClassVar = (
        Option("read-fraction", "share of operations that read", default=0.5, parse=number(0, 1), metavar="P"),
        Option("max-delta", "adds draw amounts from 1..N", default=5, parse=number(1, 1_000_000, integer=True),
               metavar="N"),
    )
    requires = ("txn",)

    def next_op(self, rng: random.Random) -> Op:
        if rng.random() < self.opts["read-fraction"]:
            return Op("read", KEY, None)
        return Op("add", KEY, rng.randint(1, self.opts["max-delta"]))

    def invoke(self, conn: Any, op: Op) -> Completion:
        if op.f == "add":
            return run_txn(conn, op, [["add", KEY, op.value]], ok_value=lambda _: op.value)
        # A counter no add has reached yet is a missing key, read as null: its value is 0. (A store
        # that lost the key after acknowledged adds still reads 0, below the checker's bound.)
        return run_txn(conn, op, [["r", KEY, None]], ok_value=lambda done: 0 if done[0][2] is None else done[0][2])

    def final_ops(self) -> list[Op]:
        return [Op("read", KEY, None)]

    def checker(self) -> Checker:
        return Compose({"counter": CounterChecker()})
