"""The client contract: what a workload asks, what a system's client answers, and how errors read.

One operation flows one way: a workload's generator makes an `Op`, the workload's `invoke`
performs it through a system's connection, and the outcome comes back as a `Completion` that
the harness records in the history. Both sides import this module and nothing else of each
other: workloads never import the harness, and a system under test never imports a workload.

A connection never guesses. Every error it raises is either `Definite` (the operation certainly
did not take effect: refused before it was sent, not the leader, a compare-and-set mismatch) or
`Indeterminate` (it may have: a timeout after sending, a dropped connection). The history
records them as `fail` and `info`, and the checkers treat them very differently, so a client
that calls an ambiguous error definite makes the harness report bugs that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Op:
    """An operation a client is asked to perform: what to do (`f`), on which key, with what."""

    f: str
    key: Any = None
    value: Any = None


@dataclass(frozen=True)
class Completion:
    """How an operation ended: ok, fail (certainly did not happen) or info (may have happened)."""

    type: str
    value: Any = None
    error: str | None = None


class Definite(Exception):
    """The operation certainly did not happen (rejected before it was sent, not leader, cas mismatch)."""

    def __init__(self, error: str, value: Any = None) -> None:
        super().__init__(error)
        self.error = error
        self.value = value


class Indeterminate(Exception):
    """The operation may or may not have happened (a timeout after sending, a dropped connection)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Connection(Protocol):
    """One client's connection to one node. Workloads call the operations they name in
    `Workload.requires` (e.g. read/write/cas, txn) on top of this core."""

    node: str

    def close(self) -> None: ...


class RegisterConnection(Connection, Protocol):
    """Single-key registers: what the register workload needs."""

    def read(self, key: str) -> Any: ...

    def write(self, key: str, value: Any) -> None: ...

    def cas(self, key: str, expected: Any, new: Any) -> None:
        """Set `new` if the value is `expected`; raise Definite("cas-mismatch") if it is not."""
        ...


class TxnConnection(Connection, Protocol):
    """Transactions of micro-ops `[f, key, value]`, applied atomically; returns them with reads filled in."""

    def txn(self, micro_ops: list[list[Any]]) -> list[list[Any]]: ...


Invoke = Callable[[Any, Op], Completion]


def perform(call: Callable[[], Any], op: Op, ok_value: Callable[[Any], Any] | None = None) -> Completion:
    """Run one client call and turn its outcome into a Completion.

    `ok_value` maps the call's return value to the completion's value (default: the op's own
    value, as writes echo what they wrote). Definite and Indeterminate become fail and info
    with the op's value, so the history keeps what was attempted.
    """
    try:
        returned = call()
    except Definite as e:
        return Completion("fail", op.value, e.error)
    except Indeterminate as e:
        return Completion("info", op.value, e.error)
    return Completion("ok", op.value if ok_value is None else ok_value(returned))
