"""Helpers for transactional test histories: Elle's op shorthand and a history builder.

Elle's tests write transactions as strings: "ax1ry12" is [[append x 1] [r y [1 2]]] for
list-append and "wx1rx_" is [[w x 1] [r x nil]] for rw-register. `history` turns a list of
such items into our Events, so Elle's test cases can be transcribed as data.
"""

from __future__ import annotations

from typing import Any

from checkers.history import Event

KEYS = "xyztu"


def mops(text: str, workload: str = "list-append", invoke: bool = False) -> list[list[Any]]:
    """Parse Elle's shorthand; with `invoke`, reads carry nil as in an invocation."""
    out: list[list[Any]] = []
    for c in text:
        if c in "arw":
            out.append([{"a": "append", "r": "r", "w": "w"}[c]])
        elif c in KEYS:
            out[-1].append(c)
        else:
            f = out[-1][0]
            if len(out[-1]) == 2:
                out[-1].append(None)
            if c == "_":
                continue
            e = int(c)
            if f == "r" and workload == "list-append":
                out[-1][2] = [*(out[-1][2] or []), e]
            else:
                out[-1][2] = e
    for m in out:
        if len(m) == 2:
            m.append(None)
        if invoke and m[0] == "r":
            m[2] = None
    return out


def history(items: list[Any], workload: str = "list-append") -> list[Event]:
    """Events from items: "ax1" (an ok completion of process 0 with no invocation), {"op": s,
    "type", "process"} (the same with a type), {"pair": s, ...} (invocation then completion),
    {"invoke": s, "process"} / {"complete": s, "process", "type"} (interleaved), {"event": {...}}.
    """
    events: list[Event] = []

    def add(process: Any, typ: str, value: Any, index: int | None = None) -> None:
        n = len(events)
        events.append(Event(n if index is None else index, n, process, typ, "txn", None, value))

    for item in items:
        if isinstance(item, str):
            item = {"op": item}
        p = item.get("process", 0)
        t = item.get("type", "ok")
        if "op" in item:
            add(p, t, mops(item["op"], workload))
        elif "pair" in item:
            add(p, "invoke", mops(item["pair"], workload, invoke=True))
            add(p, t, mops(item["pair"], workload))
        elif "invoke" in item:
            add(p, "invoke", mops(item["invoke"], workload, invoke=True))
        elif "complete" in item:
            add(p, t, mops(item["complete"], workload))
        else:
            e = item["event"]
            add(e.get("process", 0), e["type"], e["value"], e.get("index"))
    return events
