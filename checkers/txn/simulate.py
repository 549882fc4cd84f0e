"""A simulated strict-serializable database, producing transactional histories with known answers.

Tests and benchmarks need histories whose verdict is known without trusting the checker:
this executor runs Elle-style random transactions against an in-memory store, each applied
atomically at its completion (a point inside its invocation-completion interval, so the
history is strict-serializable by construction). Some txns fail (never applied) or end
`info` (applied or not, at random), as in a real run.

Transactions follow Elle's generator: `keys` keys are active at a time, each retired for a
fresh one after `max_writes_per_key` writes, so lists stay short however long the history.
"""

from __future__ import annotations

import random
from typing import Any

from checkers.history import Event


def _txn(rng: random.Random, workload: str, active: list[int], writes: dict[int, int], mops: int) -> list[list[Any]]:
    out: list[list[Any]] = []
    for _ in range(mops):
        i = rng.randrange(len(active))
        k = active[i]
        if rng.random() < 0.5:
            out.append(["r", k, None])
        else:
            writes[k] = writes.get(k, 0) + 1
            out.append(["append" if workload == "list-append" else "w", k, writes[k]])
    return out


def simulate(
    n: int,
    workload: str = "list-append",
    processes: int = 5,
    keys: int = 5,
    mops: int = 4,
    max_writes_per_key: int = 32,
    seed: int = 0,
    fail_rate: float = 0.0,
    info_rate: float = 0.0,
) -> list[Event]:
    """`n` transactions over `processes` concurrent clients; returns the history's events."""
    rng = random.Random(seed)
    active = list(range(keys))
    next_key = keys
    writes: dict[int, int] = {}
    lists: dict[int, tuple] = {}
    registers: dict[int, Any] = {}
    events: list[Event] = []
    in_flight: dict[int, list[list[Any]]] = {}
    process_of = list(range(processes))  # worker -> current process id
    next_process = processes
    started = 0

    def emit(process: int, typ: str, value: Any) -> None:
        events.append(Event(len(events), len(events), process, typ, "txn", None, value))

    def apply(txn: list[list[Any]]) -> list[list[Any]]:
        done = []
        for f, k, v in txn:
            if f == "r":
                done.append([f, k, list(lists[k]) if workload == "list-append" and k in lists else registers.get(k)])
            elif f == "append":
                lists[k] = (*lists.get(k, ()), v)
                done.append([f, k, v])
            else:
                registers[k] = v
                done.append([f, k, v])
        return done

    while started < n or in_flight:
        idle = [w for w in range(processes) if w not in in_flight]
        if started < n and idle and (not in_flight or rng.random() < 0.5):
            w = rng.choice(idle)
            txn = _txn(rng, workload, active, writes, mops)
            for i, k in enumerate(active):
                if writes.get(k, 0) >= max_writes_per_key:
                    active[i] = next_key
                    next_key += 1
            in_flight[w] = txn
            started += 1
            emit(process_of[w], "invoke", [[f, k, v if f != "r" else None] for f, k, v in txn])
            continue
        w = rng.choice(list(in_flight))
        txn = in_flight.pop(w)
        roll = rng.random()
        if roll < fail_rate:
            emit(process_of[w], "fail", [[f, k, v if f != "r" else None] for f, k, v in txn])
        elif roll < fail_rate + info_rate:
            if rng.random() < 0.5:
                apply(txn)
            emit(process_of[w], "info", [[f, k, v if f != "r" else None] for f, k, v in txn])
            process_of[w] = next_process
            next_process += 1
        else:
            emit(process_of[w], "ok", apply(txn))
    return events
