"""Readers that turn published history files into our `Event`s.

Each format comes with the semantics and model its authors checked it with (see
tests/data/histories/README.md), so `check_file` can pick sensible defaults. Every reader
reports a malformed file as one HistoryError naming the line, never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checkers.edn import iter_edn
from checkers.history import EVENT_TYPES, NEMESIS, Event, HistoryError, read_history


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise HistoryError(f"{path}: cannot read: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise HistoryError(f"{path}: not UTF-8 text (byte {e.start})") from e


def _edn_event(d: Any, n: int, where: str) -> Event:
    if not isinstance(d, dict):
        raise HistoryError(f"{where}: expected an op map, got {type(d).__name__}")
    for k in ("process", "type", "f"):
        if k not in d:
            raise HistoryError(f"{where}: op map without :{k}")
    typ = d["type"]
    if typ not in EVENT_TYPES:
        raise HistoryError(f"{where}: :type must be one of :invoke :ok :fail :info, got {typ!r}")
    process = d["process"]
    if not isinstance(process, int) or isinstance(process, bool):
        process = NEMESIS
    t = d.get("time", n)
    return Event(
        n,
        t if isinstance(t, int) else n,
        process,
        typ,
        str(d["f"]),
        d.get("key"),
        d.get("value"),
        None,
        d.get("error"),
    )


def read_edn(path: Path | str) -> list[Event]:
    """A Knossos/Jepsen EDN history: one vector or list of op maps, or one op map per form.

    Jepsen's independent histories carry `[key value]` tuples in `:value`; when every client op
    has that shape they are unpacked into `key` and `value`, so the checker splits by key.
    """
    path = Path(path)
    forms = iter_edn(_read_text(path), str(path), unwrap=True)
    events = [_edn_event(d, n, f"{path} line {line}") for n, (line, d) in enumerate(forms)]
    clients = [e for e in events if e.process != NEMESIS]
    if clients and all(_is_tuple(e) for e in clients):
        for e in clients:
            e.key, e.value = e.value
    return events


def _is_tuple(e: Event) -> bool:
    """Does this op's value look like a jepsen.independent [key value] tuple?"""
    v = e.value
    if not isinstance(v, list) or len(v) != 2 or e.key is not None:
        return False
    if e.f == "cas":
        return isinstance(v[1], list) and len(v[1]) == 2
    return e.f != "txn"


_LOG_PREFIX = r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+"
_LOG_LINES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str, str, Any]]]] = [
    (re.compile(_LOG_PREFIX + r":invoke\s+:read\s+nil$"), lambda m: ("invoke", "read", None)),
    (re.compile(_LOG_PREFIX + r":invoke\s+:write\s+(\d+)$"), lambda m: ("invoke", "write", int(m[2]))),
    (
        re.compile(_LOG_PREFIX + r":invoke\s+:cas\s+\[(\d+)\s+(\d+)\]$"),
        lambda m: ("invoke", "cas", [int(m[2]), int(m[3])]),
    ),
    (
        re.compile(_LOG_PREFIX + r":ok\s+:read\s+(nil|\d+)$"),
        lambda m: ("ok", "read", None if m[2] == "nil" else int(m[2])),
    ),
    (re.compile(_LOG_PREFIX + r":ok\s+:write\s+(\d+)$"), lambda m: ("ok", "write", int(m[2]))),
    (
        re.compile(_LOG_PREFIX + r":(ok|fail)\s+:cas\s+\[(\d+)\s+(\d+)\]$"),
        lambda m: (m[2], "cas", [int(m[3]), int(m[4])]),
    ),
    (re.compile(_LOG_PREFIX + r":fail\s+:read\s+:timed-out$"), lambda m: ("fail", "read", None)),
]
_LOG_EVENT = re.compile(_LOG_PREFIX + r":(invoke|ok|fail|info)\b")


def read_jepsen_log(path: Path | str) -> list[Event]:
    """Porcupine's etcd logs: `INFO jepsen.util - <process> <type> <f> <value>` lines.

    `:info` lines are skipped, as Porcupine does: the invocation then stays open, which is
    exactly an indeterminate op. Lines that are not jepsen.util events are log noise; an event
    line we cannot read is an error, since silently skipping it could change the verdict.
    """
    path = Path(path)
    events: list[Event] = []
    lines = _read_text(path).splitlines()
    seen_event = False
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        head = _LOG_EVENT.match(line)
        if head is None:
            continue
        seen_event = True
        if head[2] == "info":
            continue
        for pattern, parse in _LOG_LINES:
            m = pattern.match(line)
            if m:
                typ, f, value = parse(m)
                events.append(Event(len(events), n, int(m[1]), typ, f, None, value))
                break
        else:
            raise HistoryError(f"{path} line {n}: unrecognised jepsen.util event: {line.strip()!r}")
    if not seen_event and any(line.strip() for line in lines):
        # Text with no event line at all is more likely the wrong format than an empty run.
        raise HistoryError(f"{path}: no 'INFO jepsen.util - <process> :<type>' lines: not a jepsen-log history")
    return events


FORMATS: dict[str, Callable[[Path | str], list[Event]]] = {
    "jsonl": read_history,
    "edn": read_edn,
    "jepsen-log": read_jepsen_log,
    "porcupine-kv": read_edn,
}

# The semantics and model each format's authors used.
DEFAULT_SEMANTICS = {
    "jsonl": "harness",
    "edn": "knossos",
    "jepsen-log": "porcupine",
    "porcupine-kv": "porcupine",
}
DEFAULT_MODEL = {
    "jsonl": "cas-register",
    "edn": "cas-register",
    "jepsen-log": "cas-register",
    "porcupine-kv": "key-value",
}


def read_events(path: Path | str, format: str = "jsonl") -> list[Event]:
    try:
        reader = FORMATS[format]
    except KeyError:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}") from None
    return reader(path)
