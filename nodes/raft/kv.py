"""The replicated key-value state machine and the commands it accepts.

Commands are plain JSON dicts so they can be stored in the Raft log verbatim.
Reads are commands too: applying them in log order is what makes log-mode
reads linearizable.
"""

from __future__ import annotations

import json
from typing import Any

OPS = ("read", "write", "cas")


def parse_command(request: dict[str, Any]) -> dict[str, Any]:
    """Extract a log command from a client request; raise ValueError if it is malformed."""
    op, key = request.get("op"), request.get("key")
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

    def apply(self, command: dict[str, Any]) -> dict[str, Any]:
        """Apply one committed command; return the response fields for the client."""
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
