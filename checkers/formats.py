"""Readers that turn history files into our `Event`s, and `load_history`, which picks one.

Each format comes with the semantics and model its authors checked it with (see
tests/data/histories/README.md), so `check_file` can pick sensible defaults. Every reader
streams its file through `checkers.reading.Lines` and reports a malformed file as one
HistoryError naming the file and line, never a traceback. `load_history` detects the format
when none is given and refuses a file that holds no client operation; docs/history-format.md
says what each rule is and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checkers.edn import iter_edn
from checkers.history import EVENT_TYPES, NEMESIS, Event, read_jsonl
from checkers.reading import CutShort, HistoryError, Lines, ReadBudget


def _edn_event(d: Any, n: int, where: str, line: int) -> Event:
    if not isinstance(d, dict):
        raise HistoryError(f"{where}: expected an op map, got {type(d).__name__}")
    for k in ("process", "type", "f"):
        if k not in d:
            raise HistoryError(f"{where}: op map without :{k}")
    typ = d["type"]
    if typ not in EVENT_TYPES:
        raise HistoryError(f"{where}: :type must be one of :invoke :ok :fail :info, got {typ!r:.40}")
    process = d["process"]
    if process.__class__ is not int:
        process = NEMESIS
    if not isinstance(d["f"], str):
        raise HistoryError(f"{where}: :f must be a keyword, got {d['f']!r:.40}")
    t = d.get("time", n)
    return Event(
        n,
        t if t.__class__ is int else n,
        process,
        typ,
        d["f"],
        d.get("key"),
        d.get("value"),
        None,
        d.get("error"),
        line,
    )


def read_edn(path: Path | str) -> list[Event]:
    """A Knossos/Jepsen EDN history: one vector or list of op maps, or one op map per form.

    Jepsen's independent histories carry `[key value]` tuples in `:value`; when every client op
    has that shape they are unpacked into `key` and `value`, so the checker splits by key.
    """
    events = list(iter_edn_events(path))
    unpack_tuples(events)
    return events


def iter_edn_events(path: Path | str, budget: ReadBudget | None = None) -> Iterator[Event]:
    """The events of an EDN history, streamed, before `unpack_tuples`."""
    path = Path(path)
    budget = budget or ReadBudget()
    lines = Lines(path)
    charged = 0
    for n, (line, d) in enumerate(iter_edn(lines, str(path), unwrap=True)):
        where = f"{path} line {line}"
        budget.charge(lines.bytes_read - charged, where)  # the text read since the previous op
        charged = lines.bytes_read
        yield _edn_event(d, n, where, line)


def unpack_tuples(events: list[Event]) -> None:
    """Jepsen's independent histories: when every client op's value is a `[key value]` tuple,
    unpack them into `key` and `value`, so the checker splits by key."""
    clients = [e for e in events if e.process != NEMESIS]
    if clients and all(_is_tuple(e) for e in clients):
        for e in clients:
            e.key, e.value = e.value


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
    return list(iter_jepsen_log(path))


def iter_jepsen_log(path: Path | str, budget: ReadBudget | None = None) -> Iterator[Event]:
    """Porcupine's etcd logs: `INFO jepsen.util - <process> <type> <f> <value>` lines.

    `:info` lines are skipped, as Porcupine does: the invocation then stays open, which is
    exactly an indeterminate op. Lines that are not jepsen.util events are log noise; an event
    line we cannot read is an error, since silently skipping it could change the verdict
    (unless it is the last line and has no newline: then the log was cut short).
    """
    path = Path(path)
    budget = budget or ReadBudget()
    seen_event = seen_text = False
    n_events = 0
    for n, raw, ended in Lines(path):
        line = raw.rstrip()
        seen_text = seen_text or bool(line)
        head = _LOG_EVENT.match(line)
        if head is None:
            continue
        seen_event = True
        if head[2] == "info":
            continue
        where = f"{path} line {n}"
        for pattern, parse in _LOG_LINES:
            m = pattern.match(line)
            if m:
                try:
                    typ, f, value = parse(m)
                    process = int(m[1])
                except ValueError:
                    raise HistoryError(f"{where}: a number with too many digits") from None
                budget.charge(len(raw), where)
                yield Event(n_events, n, process, typ, f, None, value, None, None, n)
                n_events += 1
                break
        else:
            if not ended:
                raise CutShort(f"{where}: cut short (no newline, and not a complete event)", n)
            raise HistoryError(f"{where}: unrecognised jepsen.util event: {line.strip()[:80]!r}")
    if not seen_event and seen_text:
        # Text with no event line at all is more likely the wrong format than an empty run.
        raise HistoryError(f"{path}: no 'INFO jepsen.util - <process> :<type>' lines: not a jepsen-log history")


Reader = Callable[[Path, ReadBudget], Iterator[Event]]
FORMATS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "edn": iter_edn_events,
    "jepsen-log": iter_jepsen_log,
    "porcupine-kv": iter_edn_events,
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

_JSON_OBJECT = re.compile(r'\{\s*("|\}|$)')
_EDN_START = re.compile(r"[\[({#;]")
_EDN_F = re.compile(r":f\s+:([^\s,;\[\](){}\"]+)")
_KV_FUNCTIONS = ("get", "put", "append")
_LOG_NOISE = re.compile(r"(INFO|WARN|DEBUG|ERROR|TRACE|FATAL)\b|\d{4}-\d\d-\d\d")
SNIFF_LINES = 1000


def detect_format(path: Path | str) -> str:
    """Which of FORMATS a file is in, from its first lines; HistoryError if none fits.

    A JSON object per line is jsonl; Jepsen log lines (with `jepsen.util - <process>` events)
    are jepsen-log; EDN is porcupine-kv when its ops are get/put/append, edn otherwise.
    """
    path = Path(path)
    edn_line: int | None = None
    for n, text, _ in Lines(path):
        line = text.strip()
        if n > SNIFF_LINES:
            break
        if not line:
            continue
        if edn_line is not None:
            m = _EDN_F.search(line)
            if m:
                return "porcupine-kv" if m[1] in _KV_FUNCTIONS else "edn"
            continue
        if _LOG_EVENT.match(line):
            return "jepsen-log"
        if _LOG_NOISE.match(line):
            continue  # log lines before the first jepsen.util event
        if _JSON_OBJECT.match(line):
            return "jsonl"
        if _EDN_START.match(line):
            edn_line = n
            m = _EDN_F.search(line)
            if m:
                return "porcupine-kv" if m[1] in _KV_FUNCTIONS else "edn"
            continue
        raise HistoryError(
            f"{path} line {n}: not a history in any format harness reads ({', '.join(FORMATS)}); "
            f"it starts {line[:30]!r}"
        )
    if edn_line is not None:
        return "edn"
    raise HistoryError(f"{path}: no history in it (empty, or only log lines without jepsen.util events)")


@dataclass(slots=True)
class HistoryFile:
    """What a history file holds: its events, in which format, and whether it was cut short.

    A file cut short (its last line or form unfinished) still holds a usable history, the
    events before the cut, but not a complete one: `qualify` turns a verdict on it into one
    the part read can support.
    """

    path: Path
    format: str
    detected: bool
    events: list[Event]
    cut_short: str | None = None

    def qualify(self, result: dict[str, Any]) -> dict[str, Any]:
        """Note the format in a check's result and, if the file was cut short, downgrade "valid".

        Linearizability is prefix-closed, so a violation in the part read is a violation of
        the whole; a valid part says nothing about what the cut removed.
        """
        result["file"] = str(self.path)
        result["format"] = self.format
        result["format_detected"] = self.detected
        if self.cut_short:
            result["cut_short"] = self.cut_short
            if result.get("valid") is True:
                result["valid"] = "unknown"
                result["reason"] = "history cut short"
        return result


def load_history(path: Path | str, format: str | None = None, budget: ReadBudget | None = None) -> HistoryFile:
    """Read a history file in `format` (None: detect it), streamed and within `budget`.

    Raises HistoryError, naming the file and line, for a file that is not in the format, that
    breaks a reading limit, or that holds no client operation: there is nothing to check in it.
    A last line cut short is not an error when client operations come before it.
    """
    path = Path(path)
    detected = format is None
    if format is None:
        format = detect_format(path)
    try:
        reader = FORMATS[format]
    except KeyError:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}") from None
    events: list[Event] = []
    cut: str | None = None
    try:
        for e in reader(path, budget or ReadBudget()):
            events.append(e)
    except CutShort as e:
        if not any(ev.process != NEMESIS for ev in events):
            raise
        cut = f"{e}; only the events before line {e.line} were checked"
    if format in ("edn", "porcupine-kv"):
        unpack_tuples(events)
    if not any(e.process != NEMESIS and e.type == "invoke" for e in events):
        where = f"{path}" + (f" (read as {format})" if detected else "")
        raise HistoryError(f"{where}: no client operation in it: nothing to check")
    return HistoryFile(path, format, detected, events, cut)


def read_events(path: Path | str, format: str = "jsonl") -> list[Event]:
    """The events of a history file, for callers that want them without `load_history`'s checks."""
    try:
        reader = FORMATS[format]
    except KeyError:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}") from None
    events = list(reader(Path(path), ReadBudget()))
    if format in ("edn", "porcupine-kv"):
        unpack_tuples(events)
    return events
