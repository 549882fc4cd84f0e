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
