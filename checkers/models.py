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
from itertools import accumulate
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
        value if no write surely took effect before it (see `_lifetimes`). Far fewer states
        than `possible_states` on a long history."""
        init_until, spans = self._lifetimes(ops)
        values = {v for since, until, v in spans if since < cut <= until}
        if init_until >= cut:
            values.add(self.init())
        return sorted(values, key=repr)

    def _lifetimes(self, ops: Sequence[Op]) -> tuple[float, list[tuple[float, float, Any]]]:
        """When each written value may be the register's value: (since, until, value) per
        write, the value possible at a cut iff since < cut <= until; and until when the
        initial value may be.

        A write w called before the cut is ruled out when some write called after w returned
        surely took effect before the cut: w is then not the last write. The evidence is an op
        that returned before the cut and either is such a write (a write, or a cas that
        returned ok) or observed a value (a read's output, an ok cas's expected value) that
        only writes called after w returned write: one of them took effect before it did. A
        value nobody writes, or the initial one, proves nothing. Crashed writes never return,
        so they are never ruled out.
        """
        first_writer: dict[Any, float] = {}
        for op in ops:
            v = self._written(op)
            if v is not UNKNOWN and op.call < first_writer.get(v, math.inf):
                first_writer[v] = op.call
        init = self.init()
        # (c, r): some write called at or after c surely took effect by r.
        evidence = []
        for op in ops:
            if not op.completed:
                continue
            if op.status == "ok" and self._surely_writes(op):
                evidence.append((op.call, op.ret))
            seen = self._observed(op)
            if op.f == "cas" and op.output is not True:
                seen = UNKNOWN
            if seen is not UNKNOWN and seen != init and seen in first_writer:
                evidence.append((first_writer[seen], op.ret))
        evidence.sort()
        # earliest[i]: the earliest r among the evidence with c at or after evidence[i]'s.
        earliest = [math.inf] * (len(evidence) + 1)
        for i in range(len(evidence) - 1, -1, -1):
            earliest[i] = min(evidence[i][1], earliest[i + 1])
        calls = [c for c, _ in evidence]
        spans = []
        for op in ops:
            v = self._written(op)
            if v is not UNKNOWN:
                spans.append((op.call, earliest[bisect_right(calls, op.ret)] if op.completed else math.inf, v))
        return earliest[0], spans

    def window_states(self, ops: Sequence[Op]) -> Callable[[float, Sequence[Op]], list[State]] | None:
        """`possible_states_at` for many cuts, keeping one of the values no op of the window
        reads or compares with: every op treats those alike (a write ignores the old value, a
        read or cas only compares it with its own), so one stands for all."""
        init_until, spans = self._lifetimes(ops)
        init = self.init()
        by_value: dict[Any, list[tuple[float, float]]] = defaultdict(list)
        for since, until, v in spans:
            by_value[v].append((since, until))
        # Values that may outlive any later write (crashed writes), and the others by call with
        # the latest `until` among those called so far, to stop looking back once all expired.
        forever = sorted((since, v) for since, until, v in spans if until == math.inf)
        forever_calls = [c for c, _ in forever]
        mortal = sorted((since, until, v) for since, until, v in spans if until != math.inf)
        mortal_calls = [c for c, _, _ in mortal]
        latest = list(accumulate((u for _, u, _ in mortal), max))

        def alive(v: Any, cut: float) -> bool:
            if v == init and init_until >= cut:
                return True
            return any(since < cut <= until for since, until in by_value.get(v, ()))

        def untold(cut: float, observed: set[Any]) -> Any:
            """A value possible at `cut` that the window does not observe, or UNKNOWN if none."""
            if init_until >= cut and init not in observed:
                return init
            for i in range(bisect_left(forever_calls, cut) - 1, -1, -1):
                if forever[i][1] not in observed:
                    return forever[i][1]
            i = bisect_left(mortal_calls, cut) - 1
            while i >= 0 and latest[i] >= cut:
                _, until, v = mortal[i]
                if until >= cut and v not in observed:
                    return v
                i -= 1
            return UNKNOWN

        def states(cut: float, window: Sequence[Op]) -> list[State]:
            observed = {v for v in map(self._observed, window) if v is not UNKNOWN}
            found = [v for v in observed if alive(v, cut)]
            rest = untold(cut, observed)
            if rest is not UNKNOWN:
                found.append(rest)
            return sorted(found, key=repr)

        return states

    def pending_for_windows(self, pending: Sequence[Op]) -> Callable[[Sequence[Op], float], list[Op]]:
        """The pending writes (and cas) of values the window observes, and of values those
        observe in turn; all of them if the window has a cas that returned false.

        The rest write values nothing in the window with them observes: in a linearization
        the register then holds a value that only writes and ops without effect can follow,
        so leaving them out (and the optional ops without effect after them) leaves a
        linearization: the argument of `essential`, applied to the window with them.
        """
        everything = super().pending_for_windows(pending)
        writers: dict[Any, list[tuple[float, Op]]] = defaultdict(list)
        others = []
        for op in pending:
            v = self._written(op)
            if v is not UNKNOWN:
                writers[v].append((op.call, op))
            elif not self.is_noop(op):
                others.append(op)
        for ops in writers.values():
            ops.sort(key=lambda e: e[0])

        def needed(window: Sequence[Op], end: float) -> list[Op]:
            if any(op.f == "cas" and op.output is False for op in window):
                return everything(window, end)
            todo = [v for v in map(self._observed, window) if v is not UNKNOWN]
            seen = set(todo)
            kept = [op for op in others if op.call <= end]
            while todo:
                for call, op in writers.get(todo.pop(), ()):
                    if call > end:
                        break
                    kept.append(op)
                    v = self._observed(op)
                    if v is not UNKNOWN and v not in seen:
                        seen.add(v)
                        todo.append(v)
            return kept

        return needed

    @staticmethod
    def _observed(op: Op) -> Any:
        """The value `op` compares the register's value with, or UNKNOWN if none."""
        if op.f == "read" and op.output is not UNKNOWN:
            return _nil(op.output)
        if op.f == "cas" and isinstance(op.input, tuple) and len(op.input) == 2:
            return _nil(op.input[0])
        return UNKNOWN

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
