"""Property tests of the transactional checker, and a cross-check against brute force.

- Histories from the simulated strict-serializable store are always valid, for both
  workloads, with failed and info txns mixed in.
- An anomaly planted into such a history (on keys and processes of its own, at random
  places) is always found, with its own name.
- On small list-append histories, the checker agrees with a brute-force search over every
  serial order: whenever it says "not serializable", no serial order explains the reads
  (soundness); and when every element is read back at the end (so the version order is fully
  known) and every txn committed, it finds a problem whenever brute force finds no order
  (completeness in the setting where Elle's inference is complete).
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_txn_anomalies import CASES
from txn_histories import history

from checkers.history import Event
from checkers.txn import check
from checkers.txn.simulate import simulate

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(
    workload=st.sampled_from(["list-append", "rw-register"]),
    n=st.integers(1, 80),
    processes=st.integers(1, 6),
    keys=st.integers(1, 4),
    seed=st.integers(0, 10**6),
    faults=st.booleans(),
)
def test_strict_serializable_executor_is_always_valid(
    workload: str, n: int, processes: int, keys: int, seed: int, faults: bool
) -> None:
    events = simulate(
        n,
        workload,
        processes=processes,
        keys=keys,
        mops=3,
        max_writes_per_key=8,
        seed=seed,
        fail_rate=0.1 if faults else 0.0,
        info_rate=0.1 if faults else 0.0,
    )
    r = check(events, workload, "strict-serializable")
    assert r["valid"] in (True, "unknown"), r
    if r["valid"] == "unknown":
        assert r["anomaly_types"] == ["empty-transaction-graph"]
    else:
        assert r["satisfies"] == [
            "strict-serializable",
            "serializable",
            "snapshot-isolation",
            "repeatable-read",
            "read-committed",
            "read-uncommitted",
        ]


PLANTABLE = [
    name for name, c in CASES.items() if c[0] == "list-append" and not c[2].endswith(("-process", "-realtime"))
]


def _relabel(events: list[Event], offset: int) -> list[Event]:
    """The planted history on keys "p:<k>" and processes offset+p, so it cannot touch the rest."""
    out = []
    for e in events:
        value = [[f, f"p:{k}", v] for f, k, v in e.value]
        out.append(Event(0, 0, e.process + offset, e.type, e.f, None, value))
    return out


@FAST
@given(name=st.sampled_from(PLANTABLE), n=st.integers(0, 60), seed=st.integers(0, 10**6))
def test_planted_anomaly_is_found(name: str, n: int, seed: int) -> None:
    workload, _, anomaly, bad, _, options = CASES[name]
    background = simulate(n, workload, processes=4, keys=3, mops=3, max_writes_per_key=8, seed=seed)
    planted = _relabel(history(bad, workload), offset=1000)
    rng = random.Random(seed)
    # Keep the planted events in their order, at random places among the background's.
    slots = sorted(rng.randrange(len(background) + 1) for _ in planted)
    merged: list[Event] = []
    j = 0
    for i, e in enumerate([*background, None]):  # type: ignore[list-item]
        while j < len(planted) and slots[j] == i:
            merged.append(planted[j])
            j += 1
        if e is not None:
            merged.append(e)
    for i, e in enumerate(merged):
        e.index = e.time = i
    r = check(merged, workload, "strict-serializable", **options)
    assert r["valid"] is False
    assert anomaly in r["anomaly_types"], (anomaly, r["anomaly_types"])


# --- brute force -------------------------------------------------------------------------------


def _serializable(txns: list[list[list[Any]]]) -> bool:
    """Is there a serial order in which every read returns exactly what it returned?"""
    for order in itertools.permutations(range(len(txns))):
        state: dict[Any, tuple] = {}
        ok = True
        for i in order:
            for f, k, v in txns[i]:
                if f == "append":
                    state[k] = (*state.get(k, ()), v)
                elif tuple(v or ()) != state.get(k, ()):
                    ok = False
                    break
            if not ok:
                break
        if ok:
            return True
    return False


@st.composite
def sloppy_histories(draw: st.DrawFn) -> tuple[list[list[list[Any]]], bool]:
    """A few txns run serially in some order, some reads then corrupted to an older state.

    Returns the txns (in completion order: the checker sees no real-time order) and whether
    every element is read back by a final read of every key.
    """
    n = draw(st.integers(2, 5))
    keys = ["x", "y"][: draw(st.integers(1, 2))]
    counter = itertools.count(1)
    txns = []
    for _ in range(n):
        mops = []
        for _ in range(draw(st.integers(1, 3))):
            k = draw(st.sampled_from(keys))
            mops.append(["append", k, next(counter)] if draw(st.booleans()) else ["r", k, None])
        txns.append(mops)
    state: dict[str, tuple] = {}
    history_txns = []
    for i in draw(st.permutations(range(n))):
        done = []
        for f, k, v in txns[i]:
            if f == "append":
                state[k] = (*state.get(k, ()), v)
                done.append([f, k, v])
            else:
                seen = state.get(k, ())
                if seen and draw(st.integers(0, 3)) == 0:
                    seen = seen[: draw(st.integers(0, len(seen) - 1))]  # a stale read
                done.append([f, k, list(seen)])
        history_txns.append(done)
    observed = draw(st.booleans())
    if observed:
        history_txns.append([["r", k, list(state.get(k, ()))] for k in keys])
    return history_txns, observed


@settings(max_examples=150, deadline=None)
@given(sloppy_histories())
def test_agrees_with_brute_force(h: tuple[list[list[list[Any]]], bool]) -> None:
    txns, observed = h
    events = [Event(i, i, i, "ok", "txn", None, t) for i, t in enumerate(txns)]
    r = check(events, "list-append", "serializable")
    brute = _serializable(txns)
    if r["valid"] is False:
        assert not brute, r["anomaly_types"]
    if brute:
        assert r["valid"] is not False
    if observed and not brute:
        assert r["valid"] is False, (txns, r)


@FAST
@given(n=st.integers(1, 80), processes=st.integers(1, 6), seed=st.integers(0, 10**6), faults=st.booleans())
def test_register_assumptions_hold_on_the_strict_serializable_executor(
    n: int, processes: int, seed: int, faults: bool
) -> None:
    # The simulated store is linearizable per key and its txns read before they write, so every
    # optional version-order inference is sound there: still valid, no cyclic versions.
    events = simulate(
        n,
        "rw-register",
        processes=processes,
        keys=3,
        mops=3,
        max_writes_per_key=8,
        seed=seed,
        fail_rate=0.1 if faults else 0.0,
        info_rate=0.1 if faults else 0.0,
    )
    r = check(events, "rw-register", "strict-serializable", wfr_keys=True, sequential_keys=True, linearizable_keys=True)
    assert r["valid"] in (True, "unknown"), r
    assert "cyclic-versions" not in r.get("anomaly_types", [])
