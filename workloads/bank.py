"""The bank workload: transfers between accounts and reads of every balance; the total is conserved.

Opening balances are written once before the clients start. A transfer reads the two balances
in one transaction and then, in a second, compare-and-sets both (so it never acts on a stale
balance and never overdraws: a client refuses a transfer the balance cannot cover, definitely).
A read takes all balances in one transaction. The checker (checkers.bank) requires every read
to sum to the total with no negative balance: a non-atomic transaction or a read that mixes
states (read skew) shows as a wrong sum.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from checkers.bank import BankChecker
from checkers.checker import Checker, Compose
from contract.client import Completion, Definite, Indeterminate, Op, perform
from contract.options import Option, number
from workloads.base import Workload


class Bank(Workload):
    name = "bank"
    description = "transfers between accounts and reads of all balances; the total must never change"
    options: ClassVar = (
        Option("accounts", "how many accounts", default=5, parse=number(2, 1000, integer=True), metavar="N"),
        Option("total", "money in the bank, split evenly at the start", default=100,
               parse=number(1, 10**12, integer=True), metavar="N"),
        Option("max-transfer", "transfers draw amounts from 1..N", default=5,
               parse=number(1, 10**12, integer=True), metavar="N"),
        Option("read-fraction", "share of operations that read every balance", default=0.5,
               parse=number(0, 1), metavar="P"),
    )
    requires = ("txn",)

    @property
    def accounts(self) -> list[str]:
        return [f"a{i}" for i in range(self.opts["accounts"])]

    def initial_ops(self) -> list[Op]:
        n, total = self.opts["accounts"], self.opts["total"]
        balances = {a: total // n + (1 if i < total % n else 0) for i, a in enumerate(self.accounts)}
        return [Op("init", None, balances)]

    def next_op(self, rng: random.Random) -> Op:
        if rng.random() < self.opts["read-fraction"]:
            return Op("read", None, None)
        source, target = rng.sample(self.accounts, 2)
        return Op("transfer", None, {"from": source, "to": target, "amount": rng.randint(1, self.opts["max-transfer"])})

    def invoke(self, conn: Any, op: Op) -> Completion:
        if op.f == "init":
            return perform(lambda: conn.txn([["w", a, b] for a, b in op.value.items()]), op)
        if op.f == "read":
            return perform(lambda: conn.txn([["r", a, None] for a in self.accounts]), op,
                           ok_value=lambda done: {key: value for _, key, value in done})
        return perform(lambda: self._transfer(conn, op.value), op)

    @staticmethod
    def _transfer(conn: Any, t: dict[str, Any]) -> None:
        """Read both balances, then move the money only if neither changed meanwhile."""
        try:
            (_, _, have), (_, _, other) = conn.txn([["r", t["from"], None], ["r", t["to"], None]])
        except Indeterminate as e:  # only a read was sent: nothing can have moved
            raise Definite(f"balances unknown: {e.error}") from e
        if not isinstance(have, int) or not isinstance(other, int):
            raise Definite(f"no balance: {t['from']}={have!r} {t['to']}={other!r}")
        if have < t["amount"]:
            raise Definite("insufficient funds")
        conn.txn([["cas", t["from"], [have, have - t["amount"]]], ["cas", t["to"], [other, other + t["amount"]]]])

    def checker(self) -> Checker:
        return Compose({"bank": BankChecker(total=self.opts["total"], accounts=self.accounts)})
