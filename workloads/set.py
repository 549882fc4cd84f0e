"""The set workload: clients add unique elements to one set and read it whole (Jepsen's set-full).

The set is a list at one key grown by `append` in a one-micro-op transaction; a read returns it,
by default as a one-micro-op read transaction. With `read-with=read` a read is the system's plain
single-key read instead, which may take another path: our Raft node puts every transaction through
its log but answers a plain read with a ReadIndex round, without a log entry of its own (a read
that writes the log can hide a bug that only a log-free read sees, such as commit-old-term).
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
from contract.client import Completion, Op, perform
from contract.options import Option, boolean, choice, number
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
        Option("read-with", "how a read is sent: txn (a read-only transaction) or read (the system's single-key "
               "read, which needs the client's read)", default="txn", parse=choice("txn", "read"), metavar="HOW"),
    )
    requires = ("txn",)

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._elements = itertools.count(1)

    def next_op(self, rng: random.Random) -> Op:
        if rng.random() < self.opts["read-fraction"]:
            return self.read_op(rng)
        return Op("add", KEY, next(self._elements))

    def needs(self) -> tuple[str, ...]:
        return (*self.requires, "read") if self.opts["read-with"] == "read" else self.requires

    def read_op(self, rng: random.Random) -> Op:
        return Op("read", KEY, None)

    def invoke(self, conn: Any, op: Op) -> Completion:
        if op.f == "add":
            return run_txn(conn, op, [["append", KEY, op.value]], ok_value=lambda _: op.value)
        if self.opts["read-with"] == "read":
            return perform(lambda: conn.read(KEY), op, ok_value=lambda value: value or [])
        return run_txn(conn, op, [["r", KEY, None]], ok_value=lambda done: done[0][2] or [])

    def final_ops(self) -> list[Op]:
        return [Op("read", KEY, None)]

    def checker(self) -> Checker:
        return Compose({"set": SetChecker(self.opts["linearizable"])})
