"""Counterexamples a person can check: planted anomalies whose cause is known.

Each history is recorded from the simulated linearizable store (`checkers.simulate`, so any
anomaly is the one planted), with the node that served each op on its completion and a
partition around the planted op. One op is then corrupted so that the cause is known exactly:
values are unique, so the write of a value is one op. The checker's counterexample must name
that op, its shrunk core checked alone must fail on the same op for the same reason, and the
explanation must name the cause with its event index, the node of each op and the fault.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import pytest

from checkers.api import check_history, summary
from checkers.history import NEMESIS, Event
from checkers.models import get_model
from checkers.operations import UNKNOWN, Op, operations
from checkers.search import check_part
from checkers.simulate import simulate

KEY = "a"
NEVER_WRITTEN = 987_654_321


def node_of(process: Any) -> str:
    return f"n{process % 3 + 1}"


@dataclass
class Planted:
    events: list[Event]
    op: int  # event index of the op that cannot be linearized
    source: int | None  # event index of the one op that wrote the value it needs (None: nothing did)


def _ops(events: list[Event]) -> list[Op]:
    return [op for op in operations(events) if op.key == KEY]


def _with_nodes_and_fault(events: list[Event], around: Op) -> list[Event]:
    """Every completion says which node served it; a partition is in place while `around` runs."""
    out: list[Event] = []

    def add(e: Event) -> None:
        out.append(Event(len(out), len(out), e.process, e.type, e.f, e.key, e.value, e.node, e.error))

    for pos, e in enumerate(events):
        if pos == around.call:
            add(Event(0, 0, NEMESIS, "invoke", "start-partition"))
            add(Event(0, 0, NEMESIS, "info", "start-partition", None, {"components": [["n1"], ["n2", "n3"]]}))
        node = node_of(e.process) if e.type != "invoke" and e.process != NEMESIS else None
        add(Event(0, 0, e.process, e.type, e.f, e.key, e.value, node))
        if pos == around.ret:
            add(Event(0, 0, NEMESIS, "invoke", "stop-partition"))
            add(Event(0, 0, NEMESIS, "info", "stop-partition", None, {"verified": True}))
    return out


def _left_open(op: Op) -> Op:
    return replace(op, ret=math.inf, output=UNKNOWN, status="info")


def _writes(op: Op) -> Any:
    if op.f == "write" and op.completed:
        return op.input
    if op.f == "cas" and op.output is True:
        return op.input[1]
    return None


def _overwritten(ops: list[Op], target: Op) -> Op | None:
    """A completed write W of a value that some completed write began after W returned and
    returned before `target` began: no linearization lets `target` find W's value."""
    writes = [op for op in ops if _writes(op) is not None and op.completed]
    for old in sorted(writes, key=lambda o: -o.ret):
        if any(new is not old and old.ret < new.call and new.ret < target.call for new in writes):
            return old
    return None


def _seen_early(ops: list[Op], cas: Op) -> bool:
    """Did an op called before `cas` returned see or expect the value it wrote? Then, with the cas
    made impossible, that op (or one that needs what it wrote) may be the first impossible one."""
    new = cas.input[1]
    return any(
        o is not cas
        and o.call < cas.ret
        and (o.output == new or (o.f == "cas" and o.input[0] == new))
        for o in ops
    )


def _corrupt(events: list[Event], op: Op, value: Any) -> list[Event]:
    """The same history with `op`'s outcome (a read's value, a cas's expected value) replaced."""
    out = list(events)
    if op.f == "read":
        e = out[op.ret]
        out[op.ret] = Event(e.index, e.time, e.process, e.type, e.f, e.key, value, e.node, e.error)
    else:
        for pos in (op.call, op.ret):
            e = out[pos]
            out[pos] = Event(e.index, e.time, e.process, e.type, e.f, e.key, [value, e.value[1]], e.node, e.error)
    return out


def plant(kind: str, seed: int, concurrency: float, procs: int) -> Planted | None:
    """A simulated history with one anomaly of `kind` on KEY; None if this seed offers no place for it."""
    events = simulate(seed, 150, procs, keys=(KEY, "b"), p_info=0.05, p_nemesis=0.0, concurrency=concurrency)
    ops = _ops(events)
    wanted = "cas" if kind == "impossible-cas" else "read"
    for target in sorted((op for op in ops if op.f == wanted and op.status == "ok"), key=lambda o: -o.call):
        source = None
        if kind == "never-written":
            events = _corrupt(events, target, NEVER_WRITTEN)
        elif kind == "lost-write":
            # An acknowledged write returned before the read began, yet it reads "absent".
            if not any(_writes(op) is not None and op.ret < target.call for op in ops):
                continue
            events = _corrupt(events, target, None)
        else:
            old = _overwritten(ops, target)
            if old is None or (kind == "impossible-cas" and _seen_early(ops, target)):
                continue
            events = _corrupt(events, target, _writes(old))
            source = old.event_index  # called before the partition's events go in: index unchanged
        return Planted(_with_nodes_and_fault(events, target), target.event_index + 2, source)
    return None


CASES = [
    (kind, seed, concurrency, procs)
    for kind in ("stale-read", "lost-write", "never-written", "impossible-cas")
    for concurrency, procs in ((0.3, 3), (0.6, 5), (0.9, 8))
    for seed in range(3)
]


@pytest.mark.parametrize(("kind", "seed", "concurrency", "procs"), CASES)
def test_planted_anomaly_is_explained_by_its_cause(kind, seed, concurrency, procs):
    planted = None
    while planted is None:  # the first seed from here that has a place for this anomaly
        planted = plant(kind, seed, concurrency, procs)
        seed += 1000
    r = check_history(planted.events, time_limit=60)
    assert r["valid"] is False and r["failed_key"] == KEY
    cex = r["counterexample"]
    assert cex["op"]["index"] == planted.op, "the counterexample names the planted op"
    ops = {op.event_index: op for op in _ops(planted.events)}
    target = ops[planted.op]
    # Ops of the core that had not returned when the failing op did are shown open ("info").
    core = [ops[c["index"]] if c["status"] != "info" else _left_open(ops[c["index"]]) for c in cex["core"]]
    because = {b["index"]: b for b in cex["explanation"]["because"]}
    assert set(because) == {op.event_index for op in core} - {target.event_index}

    # The core, checked alone, fails on that op, and only because of its return: with it left
    # open, the rest is linearizable. Nothing in it began after that op returned.
    model = get_model("cas-register")
    alone = check_part(core, model)
    assert alone.valid is False and alone.blocked.op is target
    left_open = [op if op is not target else _left_open(op) for op in core]
    assert check_part(left_open, model).valid is True
    assert all(op.call < target.ret for op in core)

    if kind == "never-written":
        assert because == {}, "a value never written needs no other op to be impossible"
    elif kind == "lost-write":
        # A write acknowledged before the read began, or one whose value a read that returned
        # before the read began had already seen.
        assert any(
            b["when"] == "returned before it began" and ("not null" in b["role"] or b["role"].startswith("read "))
            for b in because.values()
        )
    else:
        # The one write of the value it needs (values are unique), and something that rules that
        # value out and returned before the op began.
        assert "the value the" in because[planted.source]["role"]
        assert any(b["when"] == "returned before it began" for i, b in because.items() if i != planted.source)

    # Every op it names carries its event index and the node that served it.
    for d in [cex["op"], *cex["core"], *because.values(), *cex["prefix"]]:
        op = ops[d["index"]]
        assert d["node"] == node_of(op.process) or (d["node"] is None and not op.completed)
    faults = [f for f in cex["faults"] if f["during_op"]]
    assert [f["description"] for f in faults] == ["partition n1 | n2 n3"]

    lines = summary(r)
    assert any("CANNOT BE LINEARIZED" in line and f"[event {planted.op}, node " in line for line in lines)
    assert any(line.startswith("faults in place: partition n1 | n2 n3") for line in lines)


def test_stale_read_is_not_explained_by_a_later_write_of_the_same_value(hist):
    # The shape that misled on Redis: the core kept the read and a later write of 1, which is
    # invalid only because 1 "was not yet written". The reason is that 1 was overwritten by 2.
    h = hist("""
        0 invoke write 1
        0 ok write 1
        0 invoke write 2
        0 ok write 2
        1 invoke read
        1 ok read 1
        2 invoke write 1
        2 ok write 1
    """)
    cex = check_history(h)["counterexample"]
    assert [(c["f"], c["index"]) for c in cex["core"]] == [("write", 0), ("write", 2), ("read", 4)]
    roles = [b["role"] for b in cex["explanation"]["because"]]
    assert roles == ["wrote 1, the value the read needs", "wrote 2, not 1; began after that value was written"]


def test_core_stays_on_the_failing_op_when_a_later_op_fails_too(hist):
    # The shape that misled on etcd: an unrelated, later failure made a smaller core.
    h = hist("""
        0 invoke write 1
        0 ok write 1
        0 invoke write 2
        0 ok write 2
        1 invoke read
        1 ok read 1
        2 invoke read
        2 ok read 42
    """)
    r = check_history(h)
    assert r["counterexample"]["op"]["index"] == 4
    assert [c["index"] for c in r["counterexample"]["core"]] == [0, 2, 4]


def test_failed_cas_and_no_faults_are_explained(hist):
    h = hist("""
        0 invoke write 1
        0 ok write 1
        1 invoke cas [1, 3]
        1 fail cas [1, 3]   # Porcupine: a failed cas returned false, so the value was not 1
    """)
    r = check_history(h, semantics="porcupine")
    cex = r["counterexample"]
    assert cex["explanation"]["because"][0]["role"] == "wrote 1, the value the cas says was not there"
    assert "needs anything but 1" in cex["explanation"]["story"]
    assert cex["faults"] == []
    assert "no fault was in place while this happened" in summary(r)


def test_the_impossible_op_is_named_not_the_bystander_the_search_stopped_at(hist):
    # Found in a simulated history: the search's deepest attempts tie, and the first one stops
    # at the read of 115, which is fine (write 130 may go before write 115). The read of a value
    # nobody wrote is what made the history impossible, when it returned.
    h = hist("""
        18 invoke write 115
        20 invoke write 130
        18 ok write 115
        16 invoke write 140
        20 ok write 130
        17 invoke read
        17 ok read 115
        17 invoke read
        16 ok write 140
        17 ok read 987654321
    """)
    r = check_history(h)
    cex = r["counterexample"]
    assert cex["op"]["index"] == 7 and cex["op"]["output"] == 987654321
    assert cex["explanation"]["because"] == []
    assert [c["index"] for c in cex["core"]] == [7]
    assert "stopped at read -> 115 (process 17, ok) (event 5)" in cex["note"]
    assert any(line.startswith("note: found in the shrunk core") for line in summary(r))


def test_jepsen_nemesis_pairs_and_unknown_nemesis_events_are_not_called_no_fault(hist):
    stale = """
        0 invoke write 1
        0 ok write 1
        0 invoke write 2
        0 ok write 2
        1 invoke read
        1 ok read 1
    """
    jepsen = check_history(hist("n info start\nn info start\n" + stale + "n info stop"))
    assert [f["description"] for f in jepsen["counterexample"]["faults"]] == ["nemesis"]
    other = check_history(hist("n invoke partition\nn info partition\n" + stale))
    cex = other["counterexample"]
    assert cex["faults"] == [] and cex["unpaired_nemesis_events"] == [0, 1]
    lines = summary(other)
    assert "faults in place: unknown" in lines and not any("no fault was in place" in line for line in lines)


def test_states_are_shown_as_json_values(hist):
    # What a person compares with history.jsonl: null and "a", not Python's None and 'a'.
    h = hist("""
        0 invoke write "a"
        0 ok write "a"
        1 invoke read null
        1 ok read "b"
    """)
    message = check_history(h)["counterexample"]["message"]
    assert '("a")' in message and "'a'" not in message
