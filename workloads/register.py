"""The register workload: reads, writes and compare-and-sets on a few keys, judged by linearizability.

Values are small integers so that compare-and-set often succeeds and stale values are likely to
be read back: that is what makes a register history informative. A read's invocation carries no
value; its completion carries what was read (null for an absent key). A cas carries
`[expected, new]`; a mismatch is a definite failure.
"""

from __future__ import annotations

import random

from harness.dbs.base import Definite, Indeterminate, KVConnection
from workloads.client import Completion
from workloads.generator import Op, OpSource

KEYS = ("r0", "r1", "r2")
VALUES = 5


def register_ops(keys: tuple[str, ...] = KEYS, values: int = VALUES) -> OpSource:
    """An op source: half reads, a quarter writes, a quarter cas, on a uniformly chosen key."""

    def source(rng: random.Random) -> Op:
        key = rng.choice(keys)
        roll = rng.random()
        if roll < 0.5:
            return Op("read", key, None)
        if roll < 0.75:
            return Op("write", key, rng.randrange(values))
        return Op("cas", key, [rng.randrange(values), rng.randrange(values)])

    return source


def invoke(conn: KVConnection, op: Op) -> Completion:
    """Perform one register op; errors become fail (did not happen) or info (may have happened)."""
    try:
        if op.f == "read":
            return Completion("ok", conn.read(op.key))
        if op.f == "write":
            conn.write(op.key, op.value)
            return Completion("ok", op.value)
        if op.f == "cas":
            expected, new = op.value
            conn.cas(op.key, expected, new)
            return Completion("ok", op.value)
    except Definite as e:
        return Completion("fail", op.value, e.error)
    except Indeterminate as e:
        return Completion("info", op.value, e.error)
    raise ValueError(f"register workload has no operation {op.f!r}")
