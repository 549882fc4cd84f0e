"""Property tests: histories recorded from a simulated linearizable store.

The store applies each op atomically at a random moment between its invocation and its
completion, so every history it produces is linearizable by construction, with random
overlaps, timed-out (info) ops that did or did not take effect, ops left unfinished at the
end, cas ops that failed, and nemesis noise. Planting a stale read must make it invalid.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.api import check_history
from checkers.explain import Reason, shrink
from checkers.history import Event
from checkers.models import get_model
from checkers.operations import operations
from checkers.search import Budget, check_part
from checkers.simulate import simulate

KEYS = ("a", "b")


def plant_stale_read(events: list[Event], key: str) -> list[Event]:
    """Append: write A, write B, then a read that returns A, all sequential on a fresh process."""
    events = list(events)
    p = 10_000
    a, b = 1_000_001, 1_000_002
    for typ, f, v in [
        ("invoke", "write", a),
        ("ok", "write", a),
        ("invoke", "write", b),
        ("ok", "write", b),
        ("invoke", "read", None),
        ("ok", "read", a),
    ]:
        events.append(Event(len(events), len(events), p, typ, f, key, v))
    return events


histories = st.builds(
    simulate,
    seed=st.integers(0, 2**32 - 1),
    n_ops=st.integers(0, 150),
    n_procs=st.integers(1, 7),
    keys=st.just(KEYS),
    p_info=st.sampled_from([0.0, 0.1, 0.3]),
    p_nemesis=st.just(0.03),
    concurrency=st.sampled_from([0.3, 0.5, 0.8]),
)


@settings(max_examples=150, deadline=None)
@given(histories)
def test_simulated_linearizable_store_gives_valid_histories(events):
    r = check_history(events, time_limit=20)
    assert r["valid"] is True, r["counterexample"]


@settings(max_examples=100, deadline=None)
@given(histories, st.sampled_from(KEYS))
def test_planted_stale_read_is_invalid(events, key):
    r = check_history(plant_stale_read(events, key), time_limit=20, shrink=False)
    assert r["valid"] is False
    assert r["failed_key"] == key


@settings(max_examples=50, deadline=None)
@given(histories, st.sampled_from(KEYS))
def test_shrinking_keeps_the_planted_stale_read_and_its_cause(events, key):
    model = get_model("cas-register")
    ops = [op for op in operations(plant_stale_read(events, key)) if op.key == key]
    read = ops[-1]
    assert check_part(ops, model).blocked.op is read
    core = shrink(ops, model, blocked=read)
    # The only story: the write of A, the write of B after it, and the read of A after both.
    assert [(op.f, op.input, op.output) for op in core] == [
        ("write", 1_000_001, True), ("write", 1_000_002, True), ("read", None, 1_000_001)]
    assert check_part(core, model).blocked.op is read
    reason = Reason.find(model.essential(ops), model, [model.init()], False, Budget(), read)
    for i in range(len(core)):  # 1-minimal: without any one op it is linearizable or fails another way
        assert not reason.holds(core[:i] + core[i + 1 :], model, False, Budget())


@settings(max_examples=100, deadline=None)
@given(histories)
def test_witness_linearization_is_legal_and_respects_real_time(events):
    model = get_model("cas-register")
    for key in KEYS:
        ops = [op for op in operations(events) if op.key == key]
        r = check_part(ops, model)
        assert r.valid is True
        order = r.linearization
        assert {id(op) for op in ops if op.completed and not model.is_noop(op)} <= {id(op) for op in order}
        state = model.init()
        for op in order:
            state = model.step(state, op)
            assert state is not None
        for i, a in enumerate(order):
            # nothing linearized after a can have returned before a was invoked
            assert all(not b.ret < a.call for b in order[i + 1 :])


def _small_domain(events: list[Event], values: int) -> list[Event]:
    """The same history with every value taken modulo `values`: still linearizable (a cas that
    failed with unique values is dropped either way), but far more ambiguous."""

    def mod(v):
        if isinstance(v, list):
            return [mod(x) for x in v]
        return v if v is None else v % values

    return [Event(e.index, e.time, e.process, e.type, e.f, e.key, mod(e.value)) for e in events]


def test_long_single_key_history_with_small_values_and_timeouts():
    # Thousands of timed-out writes of 5 values stay candidates forever; their grouping and the
    # base-relative bitsets keep this linear-ish instead of quadratic.
    events = _small_domain(simulate(seed=3, n_ops=20_000, n_procs=5, keys=["k"], p_info=0.02, concurrency=0.7), 5)
    r = check_history(events, time_limit=60, shrink=False)
    assert r["valid"] is True
    assert r["seconds"] < 30


def test_stale_read_after_a_long_run_with_timeouts_is_refuted_by_a_window():
    # Hundreds of timed-out writes of 5 values make the whole-history search hopeless; the
    # window just before the stale read settles it (see checkers/refute.py).
    events = _small_domain(simulate(seed=5, n_ops=4000, n_procs=10, keys=["r0", "r1"], p_info=0.1), 5)
    events = plant_stale_read(events, "r1")
    r = check_history(events, time_limit=60)
    assert r["valid"] is False and r["failed_key"] == "r1"
    assert "window" in r["counterexample"]
    assert [op["f"] for op in r["counterexample"]["core"]][-1] == "read"
    assert r["seconds"] < 20
