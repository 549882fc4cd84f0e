"""Turn a history's events into operations: one call-to-return interval per client request.

The checker never looks at events again after this step, so every convention about what an
event *means* lives here: which completion closes which invocation, which failures are
dropped, and which outputs are unknown. Three readings of a history exist in the wild and
they disagree on failed operations and nil reads, so the reading is a parameter
(`semantics`) instead of being hard-wired:

- "harness" (our jsonl): `fail` did not happen and is dropped; `info` and invocations left
  open at the end are indeterminate; a read that returns null saw the key absent.
- "knossos": like "harness", but a read that returns nil is a read of an unknown value
  (Knossos' own convention), so it constrains nothing.
- "porcupine": Porcupine's etcd convention. A failed cas is a completed cas that returned
  false; a failed read (timed out) returns at its own position with an unknown value;
  `info` is indeterminate. Nil reads mean the key is absent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from checkers.history import NEMESIS, Event, HistoryError
from checkers.values import Object, freeze, thaw

SEMANTICS = ("harness", "knossos", "porcupine")


class _Unknown:
    """The output of an operation whose result nobody saw (timed out, crashed, nil read)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "?"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


class _Nil:
    """A register's "absent" state. Models return None for "illegal", so absent cannot be None."""

    _instance: _Nil | None = None

    def __new__(cls) -> _Nil:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "nil"

    def __reduce__(self) -> str:
        return "NIL"


NIL: Any = _Nil()


@dataclass(slots=True, eq=False)
class Op:
    """One client operation.

    `call` and `ret` are positions in the event sequence (the order the harness recorded them,
    which is real-time order); `ret` is +inf when the op is indeterminate: it may take effect at
    any point after its call, or never. `output` is UNKNOWN when nothing was observed.
    """

    id: int
    process: int | str
    f: str
    key: Any
    input: Any
    output: Any
    call: int
    ret: float
    status: str
    event_index: int = -1
    line: int = 0
    node: str | None = None  # the node that served it, from its completion event (None: not recorded)

    @property
    def where(self) -> str:
        """Where the op's invocation is, for error messages: its line in the file, or its event."""
        return f"line {self.line}" if self.line else f"event {self.event_index}"

    @property
    def completed(self) -> bool:
        return self.ret != math.inf

    def to_dict(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "f": self.f,
            "key": jsonable(self.key),
            "input": jsonable(self.input),
            "output": jsonable(self.output),
            "status": self.status,
            "index": self.event_index,
            "node": self.node,
        }


def jsonable(value: Any) -> Any:
    """A JSON-safe rendering of a value (frozen or not) for verdicts and explanations."""
    if value is UNKNOWN:
        return "?"
    if value is NIL:
        return None
    cls = value.__class__
    if cls is tuple or cls is list:
        return [jsonable(v) for v in value]
    if cls is Object:
        return {k if isinstance(k, str) else json.dumps(jsonable(k)): jsonable(v) for k, v in value}
    if cls is dict:
        return {k if isinstance(k, str) else json.dumps(jsonable(k)): jsonable(v) for k, v in value.items()}
    if cls is frozenset or cls is set:
        return sorted((jsonable(v) for v in value), key=repr)
    return thaw(value)


def operations(events: Iterable[Event], semantics: str = "harness") -> list[Op]:
    """Pair invocations with completions and apply `semantics`; nemesis events are skipped.

    Raises HistoryError for a completion without an open invocation, or an invocation by a
    process that already has one open: either means the history is not one we can reason about.
    The message names the event's line (the caller adds the file) or, for events not read from
    a file, its index.
    """
    if semantics not in SEMANTICS:
        raise ValueError(f"unknown semantics {semantics!r}; expected one of {', '.join(SEMANTICS)}")
    nil_read_unknown = semantics == "knossos"
    porcupine = semantics == "porcupine"
    ops: list[Op] = []
    open_ops: dict[Any, Op] = {}
    dropped: set[int] = set()
    for pos, e in enumerate(events):
        if e.process == NEMESIS:
            continue
        if e.type == "invoke":
            if e.process in open_ops:
                raise HistoryError(
                    f"{_where(e)}: process {e.process} invokes {e.f} while its previous op "
                    f"(invoked on {open_ops[e.process].where}) is still open"
                )
            op = Op(
                len(ops),
                e.process,
                e.f,
                freeze(e.key),
                freeze(e.value),
                UNKNOWN,
                pos,
                math.inf,
                "info",
                e.index,
                e.line,
            )
            open_ops[e.process] = op
            ops.append(op)
            continue
        op = open_ops.pop(e.process, None)
        if op is None:
            raise HistoryError(f"{_where(e)}: {e.type} {e.f} by process {e.process} has no open invocation")
        op.node = e.node
        if e.type == "ok":
            op.ret = pos
            op.status = "ok"
            _complete(op, e.value, nil_read_unknown)
        elif e.type == "fail":
            if porcupine and op.f in ("cas", "read"):
                op.ret = pos
                op.status = "fail"
                op.output = False if op.f == "cas" else UNKNOWN
            else:
                dropped.add(op.id)
        # "info": stays indeterminate; the process id is retired by the harness.
    if dropped:
        ops = [op for op in ops if op.id not in dropped]
        for i, op in enumerate(ops):
            op.id = i
    return ops


def _where(e: Event) -> str:
    return f"line {e.line}" if e.line else f"event {e.index}"


def _complete(op: Op, value: Any, nil_read_unknown: bool) -> None:
    """Fill in what an ok completion observed.

    Reads (and transactions, which may read) report what they saw in the completion; a
    completion of a write or cas echoes the invocation, so the invocation stays the input and the
    output records success. Knossos also copies the completion's value into the invocation, which
    matters for ops whose invocation value was nil.
    """
    if op.f in ("read", "get", "dequeue", "txn"):
        value = freeze(value)
        if op.f == "txn":
            op.input = value if value is not None else op.input
            op.output = value
        elif value is None and nil_read_unknown:
            op.output = UNKNOWN
        else:
            op.output = value
        return
    if op.input is None and value is not None:
        op.input = freeze(value)
    op.output = True
