"""The register workload: reads, writes and compare-and-sets on a few keys, judged by linearizability.

Values are small integers so that compare-and-set often succeeds and stale values are likely to
be read back: that is what makes a register history informative. A read's invocation carries no
value; its completion carries what was read (null for an absent key). A cas carries
`[expected, new]`; a mismatch is a definite failure.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from checkers.api import LinearizableChecker
from checkers.checker import Checker, Compose
from contract.client import Completion, Op, perform
from contract.options import Option, number
from workloads.base import Workload


class Register(Workload):
    name = "register"
    description = "reads, writes and compare-and-sets on a few keys; checked for linearizability (cas-register)"
    options: ClassVar = (
        Option("keys", "how many keys (independent registers)", default=3, parse=number(1, 10_000, integer=True),
               metavar="N"),
        Option("values", "writes and cas draw values from 0..N-1", default=5,
               parse=number(1, 1_000_000, integer=True), metavar="N"),
    )
    requires = ("read", "write", "cas")

    @property
    def keys(self) -> list[str]:
        return [f"r{i}" for i in range(self.opts["keys"])]

    def next_op(self, rng: random.Random) -> Op:
        """Half reads, a quarter writes, a quarter cas, on a uniformly chosen key."""
        key = rng.choice(self.keys)
        values = self.opts["values"]
        roll = rng.random()
        if roll < 0.5:
            return Op("read", key, None)
        if roll < 0.75:
            return Op("write", key, rng.randrange(values))
        return Op("cas", key, [rng.randrange(values), rng.randrange(values)])

    def read_op(self, rng: random.Random) -> Op:
        return Op("read", rng.choice(self.keys), None)

    def invoke(self, conn: Any, op: Op) -> Completion:
        if op.f == "read":
            return perform(lambda: conn.read(op.key), op, ok_value=lambda v: v)
        if op.f == "write":
            return perform(lambda: conn.write(op.key, op.value), op)
        if op.f == "cas":
            expected, new = op.value
            return perform(lambda: conn.cas(op.key, expected, new), op)
        raise ValueError(f"register workload has no operation {op.f!r}")

    def final_ops(self) -> list[Op]:
        return [Op("read", key, None) for key in self.keys]

    def checker(self) -> Checker:
        return Compose({"linearizable": LinearizableChecker("cas-register")})
