"""The yardstick for the checker's shortcuts: the plain definition of linearizability, and
histories of every model whose verdict is known by construction.

`brute_force` is the textbook definition and nothing more: some order of all completed ops and
any subset of indeterminate ops, respecting real-time precedence, is legal for the model, with
each key its own object. It shares only `Model.step` with the checker: no partition, window,
pruning or dead end. Its one optimisation is memoising a pure function of (ops used, state),
which cannot change its answer. It is exponential, so it is for histories of a dozen ops.

`linearizable_history` runs a simulated object of any model: each op takes effect atomically at
a point inside its interval (crashed ones at their point or never), so the history is
linearizable by construction. `plant_violation` then disturbs one op (a read's value, an
interval cut short, a crashed op made definite) so that the history is usually not: the brute
force says which. Both serve the property tests and `benchmarks/checker_soundness.py`.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Any
from unittest import mock

from checkers.history import Event
from checkers.model import Model
from checkers.operations import Op

# The models with a generator below; every model in checkers.models.
MODEL_NAMES = ("register", "cas-register", "key-value", "mutex", "set", "fifo-queue", "multi-register")
# Models whose ops name a key (each key its own object); the others are one object.
KEYED = {"register", "cas-register", "key-value", "set", "fifo-queue"}


def brute_force(ops: Sequence[Op], model: Model, init: Any = None) -> bool:
    """Is there a legal sequential order of `ops` that respects real time? Keys are independent
    objects, each starting at `init` (None: the model's initial state)."""
    n = len(ops)
    start = model.init() if init is None else init
    keys = sorted({op.key for op in ops}, key=repr)
    slot = {k: i for i, k in enumerate(keys)}
    must = 0
    for i, op in enumerate(ops):
        if op.completed:
            must |= 1 << i
    # before[i]: the completed ops that returned before op i was called.
    before = [sum(1 << j for j, o in enumerate(ops) if o.completed and o.ret < op.call) for op in ops]

    @cache
    def search(used: int, states: tuple[Any, ...]) -> bool:
        if used & must == must:
            return True
        for i in range(n):
            if used >> i & 1 or before[i] & ~used:
                continue
            s = slot[ops[i].key]
            new = model.step(states[s], ops[i])
            if new is not None and search(used | 1 << i, (*states[:s], new, *states[s + 1 :])):
                return True
        return False

    try:
        return search(0, tuple(start for _ in keys))
    finally:
        search.cache_clear()


@contextlib.contextmanager
def forced_shortcuts(
    first_round: int, window_sizes: tuple[int, ...] = (1, 2, 4, 8), plain_first: bool = True
) -> Iterator[None]:
    """Budgets so small that a history of a dozen ops goes through the checker's round-robin,
    window refutations and plain first search, which real budgets keep for histories of
    thousands."""
    import checkers.linearizable
    import checkers.refute
    import checkers.search

    with (
        mock.patch.object(checkers.search, "PLAIN_FIRST_OPS", 1 if plain_first else 10**9),
        mock.patch.object(checkers.search, "PLAIN_CONFIGURATIONS_PER_OP", 0),
        mock.patch.object(checkers.linearizable, "FIRST_ROUND_CONFIGURATIONS", first_round),
        mock.patch.object(checkers.refute, "WINDOW_SIZES", window_sizes),
        mock.patch.object(checkers.refute, "WINDOW_CONFIGURATIONS", 500),
    ):
        yield


# An executor runs one op on the simulated object: (state, f, input) -> (completion type,
# completion value, new state). "fail" means the op did not take effect.
Executor = Callable[[Any, str, Any], tuple[str, Any, Any]]
Proposer = Callable[[random.Random, int], tuple[str, Any]]


def _register(state: Any, f: str, value: Any) -> tuple[str, Any, Any]:
    if f == "read":
        return "ok", state, state
    if f == "write":
        return "ok", value, value
    expected, new = value
    return ("ok", value, new) if state == expected else ("fail", value, state)


def _propose_register(rng: random.Random, values: int) -> tuple[str, Any]:
    f = rng.choice(("read", "write", "cas"))
    if f == "read":
        return f, None
    if f == "write":
        return f, rng.randrange(values)
    return f, [rng.choice([None, *range(values)]), rng.randrange(values)]


def _key_value(state: Any, f: str, value: Any) -> tuple[str, Any, Any]:
    if f == "get":
        return "ok", state, state
    return "ok", value, value if f == "put" else state + value


def _mutex(state: Any, f: str, value: Any) -> tuple[str, Any, Any]:
    if f == "acquire":
        return ("fail", None, state) if state else ("ok", None, True)
    return ("ok", None, False) if state else ("fail", None, state)


def _set(state: Any, f: str, value: Any) -> tuple[str, Any, Any]:
    if f == "add":
        return "ok", value, state | {value}
    return "ok", sorted(state), state


def _fifo(state: Any, f: str, value: Any) -> tuple[str, Any, Any]:
    if f == "enqueue":
        return "ok", value, (*state, value)
    return ("ok", state[0], state[1:]) if state else ("ok", None, state)


def _multi_register(state: Any, f: str, value: Any) -> tuple[str, Any, Any]:
    values = dict(state)
    done = []
    for mf, k, v in value:
        if mf == "read":
            done.append([mf, k, values.get(k)])
        else:
            values[k] = v
            done.append([mf, k, v])
    return "ok", done, tuple(sorted(values.items(), key=repr))


def _propose_txn(rng: random.Random, values: int) -> tuple[str, Any]:
    micro = []
    for _ in range(rng.randint(1, 2)):
        k = rng.choice("xy")
        micro.append(["read", k, None] if rng.random() < 0.5 else ["write", k, rng.randrange(values)])
    return "txn", micro


SIMULATED: dict[str, tuple[Any, Executor, Proposer]] = {
    "register": (None, _register, lambda rng, v: ("write", rng.randrange(v)) if rng.random() < 0.5 else ("read", None)),
    "cas-register": (None, _register, _propose_register),
    "key-value": (
        "",
        _key_value,
        lambda rng, v: rng.choice(
            [("get", None), ("put", "ab"[rng.randrange(min(v, 2))]), ("append", rng.choice("ab"))]
        ),
    ),
    "mutex": (False, _mutex, lambda rng, v: (rng.choice(("acquire", "release")), None)),
    "set": (frozenset(), _set, lambda rng, v: ("add", rng.randrange(v)) if rng.random() < 0.6 else ("read", None)),
    "fifo-queue": (
        (),
        _fifo,
        lambda rng, v: ("enqueue", rng.randrange(v)) if rng.random() < 0.5 else ("dequeue", None),
    ),
    "multi-register": ((), _multi_register, _propose_txn),
}


def linearizable_history(
    seed: int,
    model: str,
    n_ops: int,
    n_procs: int,
    p_crash: float = 0.05,
    values: int = 3,
    keys: int = 1,
    overlap: float = 0.7,
) -> list[Event]:
    """A history of `n_ops` ops by up to `n_procs` processes, linearizable by construction.

    `overlap` is the chance of invoking another op rather than advancing a pending one; with
    many processes and a high overlap most ops are concurrent. A crashed op (chance `p_crash`)
    completes as `info` after taking effect or without, or is left open at the end.
    """
    rng = random.Random(seed)
    init, execute, propose = SIMULATED[model]
    key_names = [f"k{i}" for i in range(keys)] if model in KEYED else [None]
    store = {k: init for k in key_names}
    events: list[Event] = []
    idle = list(range(n_procs))
    next_proc = n_procs
    # process -> [f, key, input, crashed, result (type, value) once it took effect]
    pending: dict[int, list[Any]] = {}
    issued = 0

    def emit(process: int, typ: str, f: str, key: Any, value: Any) -> None:
        events.append(Event(len(events), len(events), process, typ, f, key, value))

    while issued < n_ops or pending:
        if issued >= n_ops and all(p[3] for p in pending.values()) and rng.random() < 0.5:
            break  # crashed ops may stay open forever
        if idle and issued < n_ops and (not pending or rng.random() < overlap):
            p = idle.pop(rng.randrange(len(idle)))
            f, value = propose(rng, values)
            key = rng.choice(key_names)
            issued += 1
            pending[p] = [f, key, value, rng.random() < p_crash, None]
            emit(p, "invoke", f, key, None if f in ("read", "get", "dequeue") else value)
            continue
        p = rng.choice(list(pending))
        f, key, value, crashed, result = pending[p]
        if result is None and not (crashed and rng.random() < 0.5):
            typ, out, store[key] = execute(store[key], f, value)
            pending[p][4] = result = (typ, out)
            if rng.random() < 0.5:
                continue  # took effect; completes later
        del pending[p]
        if crashed:
            emit(p, "info", f, key, value)
            idle.append(next_proc)
            next_proc += 1
        else:
            assert result is not None
            emit(p, result[0], f, key, result[1])
            idle.append(p)
    return events


def plant_violation(events: list[Event], seed: int, model: str, values: int = 3) -> list[Event]:
    """The history with one op disturbed, usually (not always) making it not linearizable."""
    rng = random.Random(seed)
    events = [Event(e.index, e.time, e.process, e.type, e.f, e.key, e.value) for e in events]
    done = [i for i, e in enumerate(events) if e.type in ("ok", "fail")]
    if not done:
        return events
    i = rng.choice(done)
    e = events[i]
    kind = rng.choice(("value", "early", "definite"))
    if kind == "value" and e.type == "ok" and e.f in ("read", "get", "dequeue", "txn"):
        e.value = _other_value(rng, model, e.f, e.value, values)
    elif kind == "definite":
        crashed = [j for j, x in enumerate(events) if x.type == "info" and x.f not in ("read", "get", "dequeue", "txn")]
        if crashed:
            events[rng.choice(crashed)].type = "ok"
        else:
            e.type = "ok" if e.type == "fail" else "fail"
    else:
        # Cut the interval short: the completion moves up to just after its invocation.
        j = max(k for k in range(i) if events[k].process == e.process and events[k].type == "invoke")
        events.insert(j + 1, events.pop(i))
    for k, x in enumerate(events):
        x.index = x.time = k
    return events


def _other_value(rng: random.Random, model: str, f: str, value: Any, values: int) -> Any:
    """A value that the op could have returned in some other history of this model."""
    if model == "set":
        return sorted(v for v in range(values) if (v in value) != (rng.random() < 0.5))
    if f == "get":
        return rng.choice([v for v in ("", "a", "b", "ab", "ba", "aa") if v != value])
    if f == "txn":
        micro = [list(m) for m in value]
        m = rng.choice(micro)
        m[2] = rng.choice([v for v in [None, *range(values)] if v != m[2]])
        return micro
    return rng.choice([v for v in [None, *range(values)] if v != value])
