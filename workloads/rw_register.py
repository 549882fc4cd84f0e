"""Elle's rw-register workload: transactions of writes and reads over registers, checked for cycles.

Micro-ops `["w", k, v]` and `["r", k, null]`; every written value is unique per key, so a read
names the write it saw. Less can be inferred than with lists (a register does not remember its
past), so the checker (checkers.txn) infers version orders only where that is sound. Keys rotate
as in list-append.
"""

from __future__ import annotations

from workloads.list_append import ListAppend


class RwRegister(ListAppend):
    name = "rw-register"
    description = ("transactions of writes and reads over registers (Elle); checked for dependency cycles "
                   "against a consistency model")
    checker_workload = "rw-register"
    write_f = "w"
