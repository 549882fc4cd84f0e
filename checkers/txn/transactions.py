"""Turn a history's events into transactions: one record per client request whose value is a txn.

Every convention about what a transactional event *means* lives here, so the rest of the
checker reads `Txn` records only:

- A txn's value is a list of micro-ops `[f, key, value]`. `f` is "append" or "r" (list-append),
  "w" or "r" (rw-register); Jepsen's keyword spellings arrive from the EDN reader as the same
  strings, and "read"/"write" are accepted as synonyms.
- The completion's value is what happened (reads filled in). An `info` completion says nothing
  about its reads, so only its writes are kept, taken from the invocation when the completion
  carries none (Jepsen convention: an info txn may or may not have taken effect).
- An invocation left open at the end of the history is an `info` txn.
- A completion with no invocation (Elle's hand-written test histories) is its own invocation.
- Keys and read values are made hashable (lists become tuples), so that `[:anti 3]` can be a
  key and a list read can index a dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from checkers.history import NEMESIS, Event

READ = "r"
APPEND = "append"
WRITE = "w"
_SPELLINGS = {"r": READ, "read": READ, "append": APPEND, "w": WRITE, "write": WRITE}


class TxnError(ValueError):
    """A transactional history we cannot read; the message names the event."""


@dataclass(slots=True)
class Txn:
    """One transaction: its micro-ops as (f, key, value) tuples and where it sits in the history.

    `id` is the node number in the dependency graph (position in the checker's txn list).
    `invoke_index` / `index` are the event indices of the invocation and completion (the
    completion is None for a txn left open); `invoke_pos` / `complete_pos` are positions in
    the event list, which orders events in real time even when time stamps are missing.
    A None process (an EDN history without `:process`) still pairs invocations with the next
    completion, but implies no process order.
    `paired` is False for a completion that came without its invocation (Elle's hand-written
    histories): nobody knows when it ran, so it gets no process or real-time edges.
    """

    id: int
    type: str
    process: Any
    mops: list[tuple[str, Any, Any]]
    invoke_index: int
    index: int | None
    invoke_pos: int
    complete_pos: int | None
    time: int | None = None
    error: Any = None
    paired: bool = True

    @property
    def ok(self) -> bool:
        return self.type == "ok"

    def name(self) -> str:
        """How explanations refer to this txn: by its completion event index (invocation if open)."""
        return f"T{self.index if self.index is not None else self.invoke_index}"

    def events(self) -> list[int]:
        """Event indices that belong to this txn (invocation and completion)."""
        return [i for i in (self.invoke_index, self.index) if i is not None and i >= 0]


def hashable(v: Any) -> Any:
    if isinstance(v, list):
        t = tuple(v)
        try:
            hash(t)  # the common case, a list of numbers, stays at C speed
            return t
        except TypeError:
            return tuple(hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((hashable(k), hashable(x)) for k, x in v.items()))
    return v


def _mops(value: Any, where: str, intern: dict[Any, Any] | None = None) -> list[tuple[str, Any, Any]]:
    """Validated micro-ops; equal read values share one tuple through `intern`.

    Many reads return the same list; sharing one tuple per distinct value keeps memory
    proportional to the number of distinct states instead of the number of reads.
    """
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise TxnError(f"{where}: a txn value must be a list of [f, key, value] micro-ops, got {value!r}")
    out = []
    for i, mop in enumerate(value):
        if not isinstance(mop, (list, tuple)) or len(mop) not in (2, 3):
            raise TxnError(f"{where}: micro-op {i} must be [f, key, value], got {mop!r}")
        f = _SPELLINGS.get(str(mop[0]))
        if f is None:
            raise TxnError(f"{where}: micro-op {i} has unknown function {mop[0]!r} (expected r, append or w)")
        v = mop[2] if len(mop) == 3 else None
        v = hashable(v)
        if intern is not None and isinstance(v, tuple):
            v = intern.setdefault(v, v)
        out.append((f, hashable(mop[1]), v))
    return out


def _writes_only(mops: list[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
    """An info txn's reads are unknown: keep the writes and turn reads into reads of nothing."""
    return [(f, k, v if f != READ else None) for f, k, v in mops]


def transactions(events: Sequence[Event] | Iterable[Event]) -> list[Txn]:
    """Pair invocations with completions, per process, and return the txns in completion order.

    Nemesis events and client events whose `f` is not "txn" are ignored (a history may mix in
    other operations). Raises TxnError for a malformed txn.
    """
    txns: list[Txn] = []
    intern: dict[Any, Any] = {}
    open_by_process: dict[Any, tuple[int, Event]] = {}
    for pos, e in enumerate(events):
        if e.process == NEMESIS or e.f != "txn":
            continue
        where = f"event {e.index}"
        if e.type == "invoke":
            if e.process in open_by_process:
                prev = open_by_process.pop(e.process)
                txns.append(_open_txn(prev, len(txns)))
            open_by_process[e.process] = (pos, e)
            continue
        invoke = open_by_process.pop(e.process, None)
        ipos, inv = invoke if invoke is not None else (pos, e)
        value = e.value
        if e.type == "info":
            value = e.value if e.value is not None else inv.value
            mops = _writes_only(_mops(value, where))
        else:
            mops = _mops(value if value is not None else inv.value, where, intern)
        txns.append(
            Txn(
                id=len(txns),
                type=e.type,
                process=e.process,
                mops=mops,
                invoke_index=inv.index,
                index=e.index,
                invoke_pos=ipos,
                complete_pos=pos if e.type != "info" else None,
                time=e.time,
                error=e.error,
                paired=invoke is not None,
            )
        )
    # Invocations that never completed may or may not have happened.
    for item in sorted(open_by_process.values(), key=lambda pe: pe[0]):
        txns.append(_open_txn(item, len(txns)))
    for i, t in enumerate(txns):
        t.id = i
    return txns


def _open_txn(item: tuple[int, Event], tid: int) -> Txn:
    pos, e = item
    return Txn(
        id=tid,
        type="info",
        process=e.process,
        mops=_writes_only(_mops(e.value, f"event {e.index}")),
        invoke_index=e.index,
        index=None,
        invoke_pos=pos,
        complete_pos=None,
        time=e.time,
    )
