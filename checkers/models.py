"""The model library: the sequential data types Knossos and Porcupine check against.

Each model's `transition` returns a closure specialised on the op's function, input and
output, because the search calls it millions of times and a closure call is the cheapest
thing Python offers. Outputs equal to UNKNOWN (timed out, crashed, a Knossos nil read) are
accepted from any state.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import networkx as nx

from checkers.model import DeadEnd, Model, State, Transition
from checkers.operations import NIL, UNKNOWN, Op
from checkers.reading import HistoryError
from checkers.values import TRUE, freeze


def _bad(op: Op, why: str) -> HistoryError:
    return HistoryError(f"{op.where}: {op.f} {op.input!r}: {why}")


def _nil(v: Any) -> Any:
    return NIL if v is None else v


# Above this many candidate sources a dead-end test is not worth its bitset: skip it.
_MAX_SOURCES = 64


def _open_sources(
    ops: Sequence[Op], sources: list[tuple[int, Any]], targets: list[tuple[int, Any]]
) -> dict[int, tuple[int, ...] | None]:
    """For each target op, the same-group source ops that may still run before it.

    A source can precede a target only if it was called before the target returned. And when a
    dead-end test runs, the target may go next, so every op that returned before the target
    was called is already linearized. So the sources that matter are the ones open at the
    target's call or called during it: a handful, where "all earlier sources" would make
    building the tests quadratic. None where there are too many to be worth testing.
    """
    timeline: list[tuple[float, int, int, Any]] = []
    calls: dict[Any, list[tuple[float, int]]] = defaultdict(list)
    for j, g in sources:
        timeline.append((ops[j].call, 0, j, g))
        if ops[j].completed:
            timeline.append((ops[j].ret, 2, j, g))
        calls[g].append((ops[j].call, j))
    for group in calls.values():
        group.sort()
    timeline += [(ops[t].call, 1, t, g) for t, g in targets]
    timeline.sort(key=lambda e: (e[0], e[1]))
    open_: dict[Any, set[int]] = defaultdict(set)
    result: dict[int, tuple[int, ...] | None] = {}
    for time, kind, j, g in timeline:
        if kind == 0:
            open_[g].add(j)
        elif kind == 2:
            open_[g].discard(j)
        else:
            group = calls.get(g, [])
            lo = bisect_left(group, (time, -1))
            hi = bisect_left(group, (ops[j].ret, -1))
            candidates = set(open_[g])
            candidates.update(k for _, k in group[lo:hi])
            candidates.discard(j)
            result[j] = tuple(sorted(candidates)) if len(candidates) <= _MAX_SOURCES else None
    return result


def _unusable_for_read(v: Any) -> Callable[[Any], bool]:
    return lambda s: s != v


class Register(Model):
    """A read/write register. Reads must return the last value written (nil: never written).

    The absent value is the NIL state, not None, because None means "illegal" to the search.
    """

    name = "register"

    def init(self) -> State:
        return _nil(self._init)

    def is_noop(self, op: Op) -> bool:
        return op.f == "read" and op.output is UNKNOWN

    def is_read_only(self, op: Op) -> bool:
        return op.f == "read" or (op.f == "cas" and op.output is False)

    def is_blind(self, op: Op) -> bool:
        return op.f == "write"

    def transition(self, op: Op) -> Transition:
        if op.f == "read":
            out = _nil(op.output)
            if out is UNKNOWN:
                return lambda s: s
            return lambda s: s if s == out else None
        if op.f == "write":
            v = _nil(op.input)
            return lambda s: v
        raise _bad(op, f"{self.name} has no operation {op.f!r}")

    def step(self, state: State, op: Op) -> State | None:
        return self.transition(op)(state)

    def essential(self, ops: Sequence[Op]) -> list[Op]:
        """Also drops indeterminate writes (and cas) of a value that nothing observes.

        Such a write, if linearized, sets a value that no read returns and no cas expects, so
        until the next write only ops that are no-ops on it can follow; removing it (and those
        optional no-ops) leaves a valid linearization. A cas that returned false observes
        "not a", which any other value satisfies, so with those present nothing is dropped.
        Without this, each unobserved timed-out write doubles the search on a dead end.
        """
        ops = super().essential(ops)
        if any(op.f == "cas" and op.output is False for op in ops):
            return ops
        observed = set()
        for op in ops:
            if op.f == "read" and op.output is not UNKNOWN:
                observed.add(_nil(op.output))
            elif op.f == "cas" and isinstance(op.input, tuple) and len(op.input) == 2:
                observed.add(_nil(op.input[0]))
        return [op for op in ops if op.completed or self._written(op) in observed]

    def dead_ends(self, ops: Sequence[Op]) -> list[DeadEnd | None]:
        """A read of v (or a cas from v) cannot go from another value unless an op that may
        precede it writes v."""
        sources = []
        for j, o in enumerate(ops):
            v = self._written(o)
            if v is not UNKNOWN:
                sources.append((j, v))
        needs: dict[int, Any] = {}
        for j, op in enumerate(ops):
            # The value this op needs to find: a read's output, or a successful cas's expected.
            if op.f == "read" and op.output is not UNKNOWN:
                needed = op.output
            elif op.f == "cas" and op.output is True and isinstance(op.input, tuple) and len(op.input) == 2:
                needed = op.input[0]
            else:
                continue
            needs[j] = _nil(needed)
        found = _open_sources(ops, sources, list(needs.items()))
        tests: list[DeadEnd | None] = [None] * len(ops)
        for j, v in needs.items():
            writers = found[j]
            if writers is not None:
                tests[j] = (_unusable_for_read(v), writers)
        return tests

    def possible_states(self, ops: Sequence[Op]) -> list[State] | None:
        """The initial value and every value written: a register holds nothing else."""
        values = {self.init()}
        for op in ops:
            v = self._written(op)
            if v is not UNKNOWN:
                values.add(v)
        return sorted(values, key=repr)

    def possible_states_at(self, ops: Sequence[Op], cut: float) -> list[State] | None:
        """The values of the writes that may be the last one before `cut`, and the initial
        value if no write surely took effect before it.

        A write w called before the cut is ruled out when a write w2 that surely took effect
        (completed ok) was called after w returned and returned before the cut: w2 is then
        linearized after w and before the cut. Crashed writes never return, so they are never
        ruled out. Far fewer states than `possible_states` on a long history.
        """
        sure = sorted((op.call, op.ret) for op in ops if op.completed and op.status == "ok" and self._surely_writes(op))
        # earliest[i]: the earliest return among the sure writes called at or after sure[i].
        earliest = [math.inf] * (len(sure) + 1)
        for i in range(len(sure) - 1, -1, -1):
            earliest[i] = min(sure[i][1], earliest[i + 1])
        calls = [c for c, _ in sure]
        values = set()
        if earliest[0] >= cut:
            values.add(self.init())
        for op in ops:
            v = self._written(op)
            if v is UNKNOWN or op.call >= cut:
                continue
            if op.completed and earliest[bisect_right(calls, op.ret)] < cut:
                continue
            values.add(v)
        return sorted(values, key=repr)

    @staticmethod
    def _surely_writes(op: Op) -> bool:
        return op.f == "write" or (op.f == "cas" and op.output is True)

    @staticmethod
    def _written(op: Op) -> Any:
        """The value `op` may write, or UNKNOWN if it writes none (a cas that returned false)."""
        if op.f == "write":
            return _nil(op.input)
        if op.f == "cas" and op.output is not False and isinstance(op.input, tuple) and len(op.input) == 2:
            return _nil(op.input[1])
        return UNKNOWN


class CasRegister(Register):
    """A register with compare-and-set: cas [expected, new] sets `new` iff the value is `expected`.

    A cas that returned false (Porcupine's etcd logs) is legal only where the value differs
    from `expected`. A cas of unknown outcome either swaps or leaves the register as it is.
    """

    name = "cas-register"

    def transition(self, op: Op) -> Transition:
        if op.f != "cas":
            return super().transition(op)
        if not isinstance(op.input, tuple) or len(op.input) != 2:
            raise _bad(op, "a cas value must be [expected, new]")
        expected, new = _nil(op.input[0]), _nil(op.input[1])
        if op.output is UNKNOWN:
            return lambda s: new if s == expected else s
        if op.output is False:
            return lambda s: None if s == expected else s
        return lambda s: new if s == expected else None


class MultiRegister(Model):
    """Several registers updated by transactions: `txn [[read k v] [write k v] ...]`.

    The state is a sorted tuple of (key, value) pairs, so it hashes. A read whose value is nil is
    a read of an unknown value, as in Knossos. Transactions that share a key must be checked
    together; `partition` splits the rest by connected components of the key graph.
    """

    name = "multi-register"

    def init(self) -> State:
        return tuple(sorted(dict(freeze(self._init or {})).items(), key=repr))

    def step(self, state: State, op: Op) -> State | None:
        if op.f != "txn":
            raise _bad(op, f"{self.name} has no operation {op.f!r}")
        values = dict(state)
        for micro in op.input or ():
            if not isinstance(micro, tuple) or len(micro) != 3:
                raise _bad(op, "a txn value must be a list of [f key value]")
            f, k, v = micro
            if f == "read":
                if v is not None and v is not UNKNOWN and values.get(k) != v:
                    return None
            elif f == "write":
                values[k] = v
            else:
                raise _bad(op, f"unknown micro-op {f!r}")
        return tuple(sorted(values.items(), key=repr))

    def is_read_only(self, op: Op) -> bool:
        return all(isinstance(m, tuple) and m[:1] == ("read",) for m in op.input or ())

    def partition(self, ops: Sequence[Op]) -> list[list[Op]]:
        graph: nx.Graph = nx.Graph()
        for op in ops:
            keys = [("key", m[1]) for m in op.input or () if isinstance(m, tuple) and len(m) == 3]
            graph.add_node(("op", op.id))
            for k in keys:
                graph.add_edge(("op", op.id), k)
        by_id = {op.id: op for op in ops}
        parts = []
        for component in nx.connected_components(graph):
            part = sorted((by_id[n[1]] for n in component if n[0] == "op"), key=lambda o: o.id)
            if part:
                parts.append(part)
        return parts


class KeyValue(Model):
    """A string-valued key-value store with get, put and append (Porcupine's kv model).

    Each key is its own register starting at `init` (default ""); a get returns the whole value.
    """

    name = "key-value"

    def __init__(self, init: Any = "") -> None:
        if init is not None and not isinstance(init, str):
            raise ValueError(f"{self.name} starts from a string, got {init!r}")
        super().__init__("" if init is None else init)

    def is_noop(self, op: Op) -> bool:
        return op.f == "get" and op.output is UNKNOWN

    def is_read_only(self, op: Op) -> bool:
        return op.f == "get"

    def is_blind(self, op: Op) -> bool:
        return op.f == "put"

    def transition(self, op: Op) -> Transition:
        if op.f == "get":
            out = op.output
            return lambda s: s if s == out else None
        v = op.input
        if op.f in ("put", "append") and not isinstance(v, str):
            raise _bad(op, f"{op.f} needs a string value")
        if op.f == "put":
            return lambda s: v
        if op.f == "append":
            return lambda s: s + v
        raise _bad(op, f"{self.name} has no operation {op.f!r}")

    def step(self, state: State, op: Op) -> State | None:
        return self.transition(op)(state)

    def dead_ends(self, ops: Sequence[Op]) -> list[DeadEnd | None]:
        """Appends only lengthen a value: a get of v cannot go from a value that is not a prefix
        of v unless a put that may precede the get resets it."""
        puts = [(j, None) for j, o in enumerate(ops) if o.f == "put"]
        gets = [(j, None) for j, o in enumerate(ops) if o.f == "get" and isinstance(o.output, str)]
        found = _open_sources(ops, puts, gets)
        tests: list[DeadEnd | None] = [None] * len(ops)
        for j, _ in gets:
            resets = found[j]
            if resets is not None:
                tests[j] = (_unusable_for_get(ops[j].output), resets)
        return tests


def _unusable_for_get(v: str) -> Callable[[Any], bool]:
    return lambda s: not v.startswith(s)


class Mutex(Model):
    """A lock: acquire succeeds only when free, release only when held. State: True = held."""

    name = "mutex"

    def __init__(self, init: Any = False) -> None:
        super().__init__(init in (TRUE, True, "held", "locked"))

    def partition(self, ops: Sequence[Op]) -> list[list[Op]]:
        return [list(ops)] if ops else []

    def step(self, state: State, op: Op) -> State | None:
        if op.f == "acquire":
            return None if state else True
        if op.f == "release":
            return False if state else None
        raise _bad(op, f"{self.name} has no operation {op.f!r}")

    def describe_state(self, state: State) -> Any:
        return "held" if state else "free"

    def possible_states(self, ops: Sequence[Op]) -> list[State] | None:
        return [False, True]


class SetModel(Model):
    """A grow-only set: `add v`, and `read` returning every element added so far."""

    name = "set"

    def init(self) -> State:
        return frozenset(self._init or ())

    def is_noop(self, op: Op) -> bool:
        return op.f == "read" and op.output is UNKNOWN

    def is_read_only(self, op: Op) -> bool:
        return op.f == "read"

    def step(self, state: State, op: Op) -> State | None:
        if op.f == "add":
            return state | {op.input}
        if op.f == "read":
            if op.output is UNKNOWN:
                return state
            if not isinstance(op.output, tuple | frozenset | type(None)):
                raise _bad(op, "a set read returns a collection")
            return state if frozenset(op.output or ()) == state else None
        raise _bad(op, f"{self.name} has no operation {op.f!r}")


class FifoQueue(Model):
    """A FIFO queue: `enqueue v`; `dequeue` returns the head, or nil when the queue is empty."""

    name = "fifo-queue"

    def init(self) -> State:
        return tuple(self._init or ())

    def is_read_only(self, op: Op) -> bool:
        return op.f == "dequeue" and op.output is None

    def step(self, state: State, op: Op) -> State | None:
        if op.f == "enqueue":
            return (*state, op.input)
        if op.f == "dequeue":
            if op.output is UNKNOWN:
                return state[1:]
            if op.output is None:
                return state if not state else None
            return state[1:] if state and state[0] == op.output else None
        raise _bad(op, f"{self.name} has no operation {op.f!r}")


MODELS: dict[str, type[Model]] = {
    m.name: m for m in (Register, CasRegister, MultiRegister, KeyValue, Mutex, SetModel, FifoQueue)
}
MODELS["kv"] = KeyValue


def get_model(name: str, init: Any = None) -> Model:
    """Build the named model with its initial state (None: the model's own default)."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(sorted(MODELS))}") from None
    return cls() if init is None and cls in (KeyValue, Mutex) else cls(freeze(init))
