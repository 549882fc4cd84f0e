"""The set workload: clients add unique elements to one set and read it whole (Jepsen's set-full).

The set is a list at one key grown by `append` in a one-micro-op transaction; a read returns it.
The checker (checkers.set_full) follows every element: lost, stale, unexpected, duplicated, and
how long each took to become visible. A lost acknowledged write, which a register history can
hide behind later overwrites, shows plainly here.
"""

from __future__ import annotations

import itertools
import random
from typing import Any, ClassVar

from checkers.checker import Checker, Compose
from checkers.set_full import SetChecker
from contract.client import Completion, Op
from contract.options import Option, boolean, number
from workloads.base import Workload
from workloads.txn_client import run_txn

KEY = "set"


class Set(Workload):
    name = "set"
    description = "adds of unique elements to one set and reads of the whole set; lost, stale, unexpected elements"
    options: ClassVar = (
        Option("read-fraction", "share of operations that read the whole set", default=0.2,
               parse=number(0, 1), metavar="P"),
        Option("linearizable", "a read that misses an element known to be in the set is an error (stale)",
               default=True, parse=boolean, metavar="BOOL"),
    )
    requires = ("txn",)

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._elements = itertools.count(1)

    def next_op(self, rng: random.Random) -> Op:
        if rng.random() < self.opts["read-fraction"]:
            return Op("read", KEY, None)
        return Op("add", KEY, next(self._elements))

    def invoke(self, conn: Any, op: Op) -> Completion:
        if op.f == "add":
            return run_txn(conn, op, [["append", KEY, op.value]], ok_value=lambda _: op.value)
        return run_txn(conn, op, [["r", KEY, None]], ok_value=lambda done: done[0][2] or [])

    def final_ops(self) -> list[Op]:
        return [Op("read", KEY, None)]

    def checker(self) -> Checker:
        return Compose({"set": SetChecker(self.opts["linearizable"])})
