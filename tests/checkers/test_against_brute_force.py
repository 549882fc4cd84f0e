"""The search agrees with a brute-force definition of linearizability on small random histories.

The reference below is the textbook definition and nothing more: some order of all completed
ops and any subset of indeterminate ops, respecting real-time precedence, is legal for the
model. Random histories here are mostly *not* linearizable, which is where pruning bugs hide.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.api import check_history
from checkers.history import Event
from checkers.model import Model
from checkers.models import get_model
from checkers.operations import Op, operations


def brute_force(ops: list[Op], model: Model) -> bool:
    def search(used: frozenset[int], state) -> bool:
        if all(op.completed is False or i in used for i, op in enumerate(ops)):
            return True
        for i, op in enumerate(ops):
            if i in used:
                continue
            if any(j not in used and c.completed and c.ret < op.call for j, c in enumerate(ops)):
                continue
            new = model.step(state, op)
            if new is not None and search(used | {i}, new):
                return True
        return False

    return search(frozenset(), model.init())


def _register_op(rng: random.Random, values: int) -> tuple[str, Any, Any]:
    f = rng.choice(["read", "write", "cas"])
    if f == "read":
        return f, None, rng.choice([None, *range(values)])
    if f == "write":
        v = rng.randrange(values)
        return f, v, v
    v = [rng.choice([None, *range(values)]), rng.randrange(values)]
    return f, v, v


def _kv_op(rng: random.Random, values: int) -> tuple[str, Any, Any]:
    f = rng.choice(["get", "put", "append"])
    if f == "get":
        return f, None, rng.choice(["", "a", "b", "ab", "ba", "aa"][: 2 + 2 * values])
    v = rng.choice("ab")
    return f, v, v


def _mutex_op(rng: random.Random, values: int) -> tuple[str, Any, Any]:
    return rng.choice(["acquire", "release"]), None, None


def _set_op(rng: random.Random, values: int) -> tuple[str, Any, Any]:
    if rng.random() < 0.5:
        v = rng.randrange(values)
        return "add", v, v
    return "read", None, sorted(rng.sample(range(values), rng.randint(0, values)))


def _fifo_op(rng: random.Random, values: int) -> tuple[str, Any, Any]:
    if rng.random() < 0.5:
        v = rng.randrange(values)
        return "enqueue", v, v
    return "dequeue", None, rng.choice([None, *range(values)])


GENERATORS = {
    "cas-register": _register_op,
    "register": lambda rng, values: _register_op(rng, values) if rng.random() < 0.7 else ("read", None, None),
    "key-value": _kv_op,
    "mutex": _mutex_op,
    "set": _set_op,
    "fifo-queue": _fifo_op,
}


def random_history(seed: int, n: int, procs: int, values: int, model: str = "cas-register") -> list[Event]:
    rng = random.Random(seed)
    gen = GENERATORS[model]
    events: list[Event] = []
    open_: dict[int, tuple[str, Any, Any]] = {}
    next_proc = procs
    live = list(range(procs))
    started = 0
    while started < n or open_:
        idle = [p for p in live if p not in open_]
        if idle and started < n and (not open_ or rng.random() < 0.5):
            p = rng.choice(idle)
            f, v, out = gen(rng, values)
            if model == "register" and f == "cas":
                f, v, out = "write", v[1], v[1]
            open_[p] = (f, v, out)
            events.append(Event(len(events), len(events), p, "invoke", f, None, v))
            started += 1
            continue
        if started >= n and rng.random() < 0.1:
            break
        p = rng.choice(list(open_))
        f, v, out = open_.pop(p)
        typ = rng.choices(["ok", "fail", "info"], [6, 1, 1])[0]
        events.append(Event(len(events), len(events), p, typ, f, None, out if typ == "ok" else v))
        if typ == "info":
            live[live.index(p)] = next_proc
            next_proc += 1
    return events


@settings(max_examples=1000, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 8),
    st.integers(1, 4),
    st.integers(1, 3),
    st.sampled_from(["harness", "porcupine", "knossos"]),
)
def test_agrees_with_brute_force(seed, n, procs, values, semantics):
    events = random_history(seed, n, procs, values)
    model = get_model("cas-register")
    expected = brute_force(operations(events, semantics), model)
    r = check_history(events, semantics=semantics, shrink=False)
    assert r["valid"] is expected


@settings(max_examples=600, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 7),
    st.integers(1, 3),
    st.integers(1, 2),
    st.sampled_from(sorted(set(GENERATORS) - {"cas-register"})),
)
def test_other_models_agree_with_brute_force(seed, n, procs, values, model_name):
    events = random_history(seed, n, procs, values, model_name)
    model = get_model(model_name)
    expected = brute_force(operations(events, "harness"), model)
    r = check_history(events, model=model_name, shrink=False)
    assert r["valid"] is expected


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 7))
def test_shrunk_core_fails_for_the_same_reason_and_is_one_minimal(seed, n):
    from checkers.explain import Reason, shrink
    from checkers.search import Budget, check_part

    model = get_model("cas-register")
    ops = operations(random_history(seed, n, 3, 2))
    if brute_force(ops, model):
        return
    reason = Reason.find(model.essential(ops), model, [model.init()], False, Budget(), None)
    assert reason is not None
    core = shrink(ops, model)
    assert not brute_force(core, model)
    assert check_part(core, model).blocked.op is reason.op
    for i in range(len(core)):
        smaller = core[:i] + core[i + 1 :]
        assert brute_force(smaller, model) or not reason.holds(smaller, model, False, Budget())


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 9), st.integers(1, 4), st.integers(1, 3))
def test_window_refutations_are_sound(seed, n, procs, values):
    """A relaxed window check only ever says "not linearizable" of histories that are not."""
    from checkers.refute import refute
    from checkers.search import check_part

    model = get_model("cas-register")
    ops = operations(random_history(seed, n, procs, values))
    truth = brute_force(ops, model)
    if check_part(ops, model, relaxed=True).valid is False:
        assert truth is False
    for stuck in ops:
        if stuck.completed and refute(ops, model, stuck, None, 1 << 26) is not None:
            assert truth is False
