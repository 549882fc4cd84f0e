"""The sequential specifications, one step at a time."""

from __future__ import annotations

import math

import pytest

from checkers.history import HistoryError
from checkers.models import MODELS, get_model
from checkers.operations import NIL, UNKNOWN, Op
from checkers.values import TRUE


def op(f, input=None, output=True, key=None):
    return Op(0, 0, f, key, input, output, 0, 1, "ok")


def step(model, state, o):
    return model.transition(o)(state)


def test_cas_register():
    m = get_model("cas-register")
    s = m.init()
    assert s is NIL
    assert step(m, s, op("read", output=None)) is NIL
    assert step(m, s, op("read", output=0)) is None
    s = step(m, s, op("write", 3))
    assert s == 3
    assert step(m, s, op("cas", (3, 4))) == 4
    assert step(m, s, op("cas", (2, 4))) is None
    assert step(m, s, op("cas", (2, 4), output=False)) == 3
    assert step(m, s, op("cas", (3, 4), output=False)) is None
    assert step(m, s, op("cas", (3, 4), output=UNKNOWN)) == 4
    assert step(m, s, op("cas", (2, 4), output=UNKNOWN)) == 3
    assert m.step(s, op("read", output=3)) == 3


def test_register_does_not_confuse_one_and_true():
    m = get_model("register", 1)
    assert step(m, m.init(), op("read", output=TRUE)) is None
    assert step(m, TRUE, op("read", output=1)) is None
    assert step(m, TRUE, op("read", output=TRUE)) is TRUE


def test_register_has_no_cas():
    with pytest.raises(HistoryError, match="no operation"):
        get_model("register").transition(op("cas", (1, 2)))


def test_malformed_cas_value():
    with pytest.raises(HistoryError, match="expected, new"):
        get_model("cas-register").transition(op("cas", 5))


def test_noops_are_reads_of_unknown_value():
    m = get_model("cas-register")
    assert m.is_noop(op("read", output=UNKNOWN))
    assert not m.is_noop(op("read", output=None))
    assert not m.is_noop(op("write", 1, output=UNKNOWN))


def test_multi_register_and_its_partition():
    m = get_model("multi-register", {"x": 0, "y": 0})
    s = m.init()
    t = op("txn", (("read", "x", 0), ("write", "y", 2)))
    s2 = m.step(s, t)
    assert dict(s2) == {"x": 0, "y": 2}
    assert m.step(s2, op("txn", (("read", "y", 0),))) is None
    assert m.step(s2, op("txn", (("read", "y", None),))) == s2
    a, b, c = (
        Op(i, 0, "txn", None, v, True, i, i + 1, "ok")
        for i, v in enumerate([(("read", "x", 0),), (("write", "y", 1),), (("read", "x", 1), ("read", "z", 1))])
    )
    parts = sorted(m.partition([a, b, c]), key=len)
    assert [[o.id for o in p] for p in parts] == [[1], [0, 2]]


def test_key_value():
    m = get_model("key-value")
    assert m.init() == ""
    s = step(m, "", op("append", "x"))
    s = step(m, s, op("append", "y"))
    assert s == "xy"
    assert step(m, s, op("get", output="xy")) == "xy"
    assert step(m, s, op("get", output="x")) is None
    assert step(m, s, op("put", "z")) == "z"


def test_mutex():
    m = get_model("mutex", "free")
    assert m.init() is False
    assert m.step(False, op("acquire")) is True
    assert m.step(True, op("acquire")) is None
    assert m.step(True, op("release")) is False
    assert m.step(False, op("release")) is None
    assert m.describe_state(True) == "held"


def test_set():
    m = get_model("set")
    s = m.step(m.init(), op("add", 1))
    s = m.step(s, op("add", 2))
    assert m.step(s, op("read", output=(2, 1))) == s
    assert m.step(s, op("read", output=(1,))) is None


def test_fifo_queue():
    m = get_model("fifo-queue")
    s = m.step(m.init(), op("enqueue", 1))
    s = m.step(s, op("enqueue", 2))
    assert m.step(s, op("dequeue", output=2)) is None
    s = m.step(s, op("dequeue", output=1))
    assert s == (2,)
    assert m.step(s, op("dequeue", output=None)) is None
    assert m.step((), op("dequeue", output=None)) == ()
    assert m.step(s, op("dequeue", output=UNKNOWN)) == ()


def test_registry_and_unknown_model():
    assert {"register", "cas-register", "multi-register", "key-value", "mutex", "set", "fifo-queue"} <= set(MODELS)
    with pytest.raises(ValueError, match="unknown model"):
        get_model("btree")


def test_describe_is_readable():
    m = get_model("cas-register")
    o = Op(0, 3, "cas", "k", (1, 2), True, 0, math.inf, "info")
    assert m.describe_op(o) == '["k"] cas [1, 2] (process 3, info)'
