"""A simulated linearizable register store that records its history: ground truth for tests.

Each op takes effect atomically at a random moment between its invocation and completion, so
every history recorded here is linearizable by construction. Randomness covers what real runs
produce: overlapping ops, cas that fails, ops that time out (`info`) after or without taking
effect, ops still open when the run stops, and nemesis events. Write and cas values are unique,
which lets tests plant anomalies that no pending op could explain.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from checkers.history import NEMESIS, Event


def simulate(
    seed: int,
    n_ops: int,
    n_procs: int = 5,
    keys: Sequence[Any] = ("a", "b"),
    p_info: float = 0.05,
    p_nemesis: float = 0.01,
    concurrency: float = 0.5,
) -> list[Event]:
    """A history of `n_ops` read/write/cas ops by `n_procs` workers over `keys`.

    `concurrency` is the chance of starting another op rather than advancing a pending one, so
    higher values mean more overlap.
    """
    rng = random.Random(seed)
    store: dict[Any, Any] = {}
    written: dict[Any, list[Any]] = {k: [None] for k in keys}
    events: list[Event] = []
    procs = list(range(n_procs))
    next_proc = n_procs
    pending: dict[int, dict[str, Any]] = {}
    issued = 0

    def emit(process: int | str, typ: str, f: str, key: Any, value: Any) -> None:
        events.append(Event(len(events), len(events), process, typ, f, key, value))

    def retire(p: int) -> None:
        nonlocal next_proc
        procs[procs.index(p)] = next_proc
        next_proc += 1

    while issued < n_ops or pending:
        if issued >= n_ops and rng.random() < 0.05:
            break  # the run stops with some ops still open
        if rng.random() < p_nemesis:
            emit(NEMESIS, rng.choice(["invoke", "info"]), "partition", None, None)
        idle = [p for p in procs if p not in pending] if len(pending) < len(procs) else []
        if idle and issued < n_ops and (not pending or rng.random() < concurrency):
            p = rng.choice(idle)
            key = rng.choice(keys)
            f = rng.choice(("read", "write", "cas"))
            issued += 1
            value: Any = None if f == "read" else issued
            if f == "cas":
                value = [rng.choice(written[key][-3:]), issued]
            pending[p] = {"f": f, "key": key, "value": value, "result": None}
            emit(p, "invoke", f, key, value)
            continue
        p = rng.choice(list(pending))
        op = pending[p]
        if op["result"] is None:
            if rng.random() < p_info:
                emit(p, "info", op["f"], op["key"], op["value"])  # timed out, never took effect
                del pending[p]
                retire(p)
                continue
            op["result"] = _apply(store, written, op)
            if rng.random() < 0.5:
                continue  # took effect; completes later
        typ, value = op["result"]
        if rng.random() < p_info:
            emit(p, "info", op["f"], op["key"], op["value"])  # took effect, but nobody knows
            retire(p)
        else:
            emit(p, typ, op["f"], op["key"], value)
        del pending[p]
    return events


def _apply(store: dict[Any, Any], written: dict[Any, list[Any]], op: dict[str, Any]) -> tuple[str, Any]:
    key = op["key"]
    if op["f"] == "read":
        return "ok", store.get(key)
    if op["f"] == "write":
        store[key] = op["value"]
        written[key].append(op["value"])
        return "ok", op["value"]
    expected, new = op["value"]
    if store.get(key) != expected:
        return "fail", op["value"]
    store[key] = new
    written[key].append(new)
    return "ok", op["value"]


ANOMALIES = ("stale-read", "inversion", "impossible-cas", "lost-write")


def plant_anomaly(events: Sequence[Event], seed: int, kind: str) -> tuple[list[Event], int] | None:
    """`events` from `simulate` with one op's outcome changed so that no linearization exists,
    and the event index of that op; None if the history offers no place for `kind`.

    Written values are unique, so each kind is a violation by construction, whatever else the
    history holds: a read of a value that a later write surely overwrote before the read began
    ("stale-read"); a read of a value whose write returned before the write of a value that an
    earlier read already saw was called ("inversion"); a cas that expects such an overwritten
    value ("impossible-cas"); a read of "absent" after a write returned ("lost-write"). The
    target is drawn from the middle third of the history, so the search must get past the part
    before it (or a refutation must find it).
    """
    from checkers.operations import operations

    rng = random.Random(seed)
    ops = operations(events)
    writes = [op for op in ops if op.completed and op.status == "ok" and op.f in ("write", "cas")]
    value_of = {id(op): op.input if op.f == "write" else op.input[1] for op in writes}
    writer = {}
    for op in ops:
        if op.f in ("write", "cas") and op.input is not None:
            writer[op.input if op.f == "write" else op.input[1]] = op
    n = len(events)
    wanted = "cas" if kind == "impossible-cas" else "read"
    targets = [op for op in ops if op.f == wanted and op.status == "ok" and n // 3 <= op.call < 2 * n // 3]
    rng.shuffle(targets)
    for target in targets:
        value: Any = None
        same_key = [w for w in writes if w.key == target.key]
        if kind in ("stale-read", "impossible-cas"):
            # The latest write W such that another write began after W returned and ended before target began.
            began = max((w.call for w in same_key if w.ret < target.call), default=-1)
            old = [w for w in same_key if w.ret < began]
            if not old:
                continue
            value = value_of[id(max(old, key=lambda w: w.ret))]
        elif kind == "inversion":
            seen = [
                r for r in ops
                if r.f == "read" and r.key == target.key and r.status == "ok" and r.ret < target.call
                and r.output in writer
            ]
            if not seen:
                continue
            later = writer[max(seen, key=lambda r: r.ret).output]
            old = [w for w in same_key if w.ret < later.call]
            if not old:
                continue
            value = value_of[id(max(old, key=lambda w: w.ret))]
        elif not any(w.ret < target.call for w in same_key):
            continue
        out = list(events)
        if kind == "impossible-cas":
            for pos in (target.call, target.ret):
                e = out[pos]
                out[pos] = Event(e.index, e.time, e.process, e.type, e.f, e.key, [value, e.value[1]], e.node, e.error)
        else:
            e = out[target.ret]
            out[target.ret] = Event(e.index, e.time, e.process, e.type, e.f, e.key, value, e.node, e.error)
        return out, events[target.call].index
    return None
