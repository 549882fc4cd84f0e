"""Events become operations according to the chosen semantics."""

from __future__ import annotations

import math

import pytest

from checkers.history import HistoryError
from checkers.operations import NIL, UNKNOWN, freeze, jsonable, operations
from checkers.values import Object


def test_pairs_completion_with_open_invocation_of_same_process(hist):
    ops = operations(
        hist("""
        0 invoke write 1
        1 invoke read
        1 ok read 1
        0 ok write 1
    """)
    )
    assert [(op.f, op.call, op.ret) for op in ops] == [("write", 0, 3), ("read", 1, 2)]
    assert ops[1].output == 1 and ops[0].output is True


def test_fail_dropped_info_and_unfinished_indeterminate(hist):
    ops = operations(
        hist("""
        0 invoke cas [1,2]
        0 fail cas [1,2]
        1 invoke write 3
        1 info write 3
        2 invoke write 4
    """)
    )
    assert [op.input for op in ops] == [3, 4]
    assert all(op.ret == math.inf and not op.completed and op.output is UNKNOWN for op in ops)
    assert [op.id for op in ops] == [0, 1]


def test_cas_value_is_hashable(hist):
    (op,) = operations(hist("0 invoke cas [1,2]\n0 ok cas [1,2]"))
    assert op.input == (1, 2)
    hash(op.input)


def test_nemesis_skipped(hist):
    assert operations(hist("n invoke kill\nn info kill")) == []


def test_porcupine_failed_read_returns_unknown_at_its_position(hist):
    ops = operations(hist("0 invoke read\n0 fail read\n1 invoke cas [1,2]\n1 fail cas [1,2]"), "porcupine")
    assert ops[0].completed and ops[0].output is UNKNOWN and ops[0].ret == 1
    assert ops[1].completed and ops[1].output is False


def test_knossos_nil_read_is_unknown(hist):
    (op,) = operations(hist("0 invoke read\n0 ok read null"), "knossos")
    assert op.output is UNKNOWN
    (op,) = operations(hist("0 invoke read\n0 ok read null"))
    assert op.output is None


def test_unknown_semantics_rejected():
    with pytest.raises(ValueError, match="semantics"):
        operations([], "nope")


def test_double_invoke_and_orphan_completion_are_errors(hist):
    with pytest.raises(HistoryError, match="still open"):
        operations(hist("0 invoke read\n0 invoke read"))
    with pytest.raises(HistoryError, match="no open invocation"):
        operations(hist("0 ok read 1"))


def test_freeze_and_jsonable():
    assert freeze({"b": [1, {2}], "a": None}) == Object(frozenset({("a", None), ("b", (1, frozenset({2})))}))
    assert jsonable(freeze({"b": [1, True, 1.5], "a": None})) == {"a": None, "b": [1, True, 1.5]}
    assert jsonable((1, NIL, UNKNOWN, frozenset({2, 1}))) == [1, None, "?", [1, 2]]
