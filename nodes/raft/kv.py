"""The replicated key-value state machine and the commands it accepts.

Commands are plain JSON dicts so they can be stored in the Raft log verbatim.
Reads are commands too: applying them in log order is what makes log-mode
reads linearizable. A transaction (``txn``) is one command, hence one log
entry, so it is applied atomically. Its micro-ops are the ones the harness's
transactional workloads need, in the shapes Elle reads: ``append`` (to the list
at a key) and ``r`` (read a key) for list-append; ``w`` (write) and ``r`` for
rw-register; ``add`` (to a number) for counters; ``cas`` ([expected, new]) for
transfers that must not act on a stale balance. If any micro-op cannot apply
(append to a non-list, add to a non-number, a cas mismatch), none does.
"""

from __future__ import annotations

import json
from typing import Any

OPS = ("read", "write", "cas", "txn")
MICRO_OPS = ("append", "r", "w", "add", "cas")


def _parse_txn(value: Any) -> list[list[Any]]:
    if not isinstance(value, list) or not value:
        raise ValueError("txn value must be a non-empty list of micro-ops")
    for micro in value:
        if not (isinstance(micro, list) and len(micro) == 3 and micro[0] in MICRO_OPS and isinstance(micro[1], str)):
            raise ValueError(f"bad micro-op {micro!r}: want [f, key, value] with f one of {', '.join(MICRO_OPS)}")
        f, _, arg = micro
        if f == "r" and arg is not None:
            raise ValueError("a read micro-op carries null")
        if f == "add" and (isinstance(arg, bool) or not isinstance(arg, int | float)):
            raise ValueError("an add micro-op carries a number")
        if f == "cas" and not (isinstance(arg, list) and len(arg) == 2):
            raise ValueError("a cas micro-op carries [expected, new]")
    return [list(m) for m in value]


def parse_command(request: dict[str, Any]) -> dict[str, Any]:
    """Extract a log command from a client request; raise ValueError if it is malformed."""
    op, key = request.get("op"), request.get("key")
    if op == "txn":
        return {"op": op, "value": _parse_txn(request.get("value"))}
    if not isinstance(key, str):
        raise ValueError("key must be a string")
    if op == "read":
        return {"op": op, "key": key}
    if "value" not in request:
        raise ValueError(f"{op} needs a value")
    value = request["value"]
    if op == "cas" and not (isinstance(value, list) and len(value) == 2):
        raise ValueError("cas value must be [expected, new]")
    return {"op": op, "key": key, "value": value}


def _same(a: Any, b: Any) -> bool:
    """JSON equality: unlike ``==`` it keeps true and 1 (and 1 and 1.0) apart."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


class KV:
    """In-memory map rebuilt on restart by re-applying the committed log."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the state as JSON data, for a Raft snapshot (later applies must not change it)."""
        return json.loads(json.dumps(self.data))

    def restore(self, data: dict[str, Any] | None) -> None:
        """Replace the state with a snapshot's (None: the empty state before any entry)."""
        self.data = json.loads(json.dumps(data or {}))

    def apply(self, command: dict[str, Any]) -> dict[str, Any]:
        """Apply one committed command; return the response fields for the client."""
        if command["op"] == "txn":
            return self._apply_txn(command["value"])
        op, key = command["op"], command["key"]
        current = self.data.get(key)
        if op == "read":
            return {"status": "ok", "value": current}
        if op == "write":
            self.data[key] = command["value"]
            return {"status": "ok", "value": None}
        expected, new = command["value"]
        if not _same(current, expected):
            return {"status": "fail", "error": "cas-mismatch", "value": current}
        self.data[key] = new
        return {"status": "ok", "value": None}

    def _apply_txn(self, micro_ops: list[list[Any]]) -> dict[str, Any]:
        """All micro-ops or none: they run on copies of the touched keys, stored only if all succeed.

        Later micro-ops see earlier ones' effects. The reply fills in what each read saw; other
        micro-ops are echoed as given.
        """
        touched: dict[str, Any] = {}
        done = []
        for f, key, value in micro_ops:
            if key not in touched:
                touched[key] = json.loads(json.dumps(self.data.get(key)))
            current = touched[key]
            if f == "r":
                done.append([f, key, json.loads(json.dumps(current))])
                continue
            if f == "append":
                if current is not None and not isinstance(current, list):
                    return {"status": "fail", "error": "not-a-list", "value": key}
                touched[key] = [*(current or []), value]
            elif f == "w":
                touched[key] = value
            elif f == "add":
                if current is not None and (isinstance(current, bool) or not isinstance(current, int | float)):
                    return {"status": "fail", "error": "not-a-number", "value": key}
                touched[key] = (current or 0) + value
            elif not _same(current, value[0]):  # cas
                return {"status": "fail", "error": "cas-mismatch", "value": key}
            else:
                touched[key] = value[1]
            done.append([f, key, value])
        for key, value in touched.items():
            if value is not None or key in self.data:
                self.data[key] = value
        return {"status": "ok", "value": done}
