"""The key-value state machine and client command parsing."""

from __future__ import annotations

import pytest

from nodes.raft.kv import KV, parse_command


def test_read_write_cas() -> None:
    kv = KV()
    assert kv.apply({"op": "read", "key": "a"}) == {"status": "ok", "value": None}
    assert kv.apply({"op": "write", "key": "a", "value": [1, {"b": 2}]}) == {"status": "ok", "value": None}
    assert kv.apply({"op": "read", "key": "a"})["value"] == [1, {"b": 2}]
    assert kv.apply({"op": "cas", "key": "a", "value": [[1, {"b": 2}], 5]}) == {"status": "ok", "value": None}
    assert kv.apply({"op": "cas", "key": "a", "value": [4, 6]}) == {
        "status": "fail",
        "error": "cas-mismatch",
        "value": 5,
    }


def test_cas_on_absent_key_matches_null() -> None:
    kv = KV()
    assert kv.apply({"op": "cas", "key": "x", "value": [None, 1]})["status"] == "ok"
    assert kv.data == {"x": 1}


@pytest.mark.parametrize(("stored", "expected"), [(True, 1), (1, 1.0), (0, False), ("1", 1)])
def test_cas_compares_json_values_exactly(stored: object, expected: object) -> None:
    kv = KV()
    kv.apply({"op": "write", "key": "k", "value": stored})
    assert kv.apply({"op": "cas", "key": "k", "value": [expected, "new"]})["error"] == "cas-mismatch"


@pytest.mark.parametrize(
    "request_",
    [
        {"op": "read"},
        {"op": "read", "key": 5},
        {"op": "write", "key": "k"},
        {"op": "cas", "key": "k", "value": 3},
        {"op": "cas", "key": "k", "value": [1, 2, 3]},
    ],
)
def test_malformed_requests_are_rejected(request_: dict) -> None:
    with pytest.raises(ValueError):
        parse_command(request_)


def test_commands_keep_only_what_the_log_needs() -> None:
    assert parse_command({"id": 3, "op": "write", "key": "k", "value": None, "x": 1}) == {
        "op": "write",
        "key": "k",
        "value": None,
    }


def test_txn_appends_and_reads_see_earlier_micro_ops() -> None:
    kv = KV()
    assert kv.apply({"op": "txn", "value": [["r", "x", None], ["append", "x", 1]]}) == {
        "status": "ok",
        "value": [["r", "x", None], ["append", "x", 1]],
    }
    reply = kv.apply({"op": "txn", "value": [["append", "x", 2], ["r", "x", None], ["r", "y", None]]})
    assert reply["value"] == [["append", "x", 2], ["r", "x", [1, 2]], ["r", "y", None]]
    assert kv.data == {"x": [1, 2]}


def test_txn_read_results_do_not_alias_the_state() -> None:
    kv = KV()
    kv.apply({"op": "txn", "value": [["append", "x", 1]]})
    seen = kv.apply({"op": "txn", "value": [["r", "x", None]]})["value"][0][2]
    kv.apply({"op": "txn", "value": [["append", "x", 2]]})
    assert seen == [1]


def test_txn_is_all_or_nothing() -> None:
    kv = KV()
    kv.apply({"op": "write", "key": "reg", "value": 3})
    reply = kv.apply({"op": "txn", "value": [["append", "x", 1], ["append", "reg", 2]]})
    assert reply == {"status": "fail", "error": "not-a-list", "value": "reg"}
    assert kv.data == {"reg": 3}  # the append to x did not happen either


def test_txn_writes_adds_and_cas_for_registers_counters_and_transfers() -> None:
    kv = KV()
    assert kv.apply({"op": "txn", "value": [["w", "a", 10], ["w", "b", 0], ["add", "c", 1], ["r", "a", None]]}) == {
        "status": "ok", "value": [["w", "a", 10], ["w", "b", 0], ["add", "c", 1], ["r", "a", 10]]}
    transfer = [["cas", "a", [10, 7]], ["cas", "b", [0, 3]], ["add", "c", 2.5]]
    assert kv.apply({"op": "txn", "value": transfer})["status"] == "ok"
    assert kv.data == {"a": 7, "b": 3, "c": 3.5}
    stale = kv.apply({"op": "txn", "value": [["cas", "b", [3, 0]], ["cas", "a", [10, 13]]]})
    assert stale == {"status": "fail", "error": "cas-mismatch", "value": "a"}
    assert kv.data == {"a": 7, "b": 3, "c": 3.5}  # the first cas did not happen either
    assert kv.apply({"op": "txn", "value": [["add", "a", 1], ["add", "l", 1], ["w", "l", [1]]]})["status"] == "ok"
    assert kv.apply({"op": "txn", "value": [["add", "l", 1]]}) == {
        "status": "fail", "error": "not-a-number", "value": "l"}
    assert kv.apply({"op": "txn", "value": [["r", "a", None]]})["value"] == [["r", "a", 8]]  # r reads any value


@pytest.mark.parametrize(
    "value",
    [None, [], [["append", "x"]], [["zap", "x", 1]], [["append", 1, 1]], [["r", "x", 5]], "txn",
     [["add", "x", "1"]], [["add", "x", True]], [["cas", "x", 1]], [["cas", "x", [1]]]],
)
def test_malformed_txn_is_rejected(value: object) -> None:
    with pytest.raises(ValueError):
        parse_command({"op": "txn", "value": value})


def test_txn_command_keeps_only_the_micro_ops() -> None:
    ops = [["append", "k", {"a": 1}], ["r", "k", None]]
    assert parse_command({"id": 1, "op": "txn", "value": ops, "key": "ignored"}) == {"op": "txn", "value": ops}
