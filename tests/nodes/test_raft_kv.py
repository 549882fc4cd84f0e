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
