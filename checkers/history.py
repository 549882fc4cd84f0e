"""The history: every event of a run, one JSON object per line, streamed to disk as it happens.

A history is written while the cluster is being hurt, and the harness itself may die half-way
(Ctrl-C, an OOM, a bug). So events are appended and flushed as they are recorded, and the
reader accepts a file whose last line was cut short by such a crash: what was written before
it is still a checkable history, though not a complete one (see `read_jsonl`).
The format, and how values compare, is written down in docs/history-format.md.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from checkers.reading import CutShort, HistoryError, Lines, ReadBudget, parse_json

EVENT_TYPES = ("invoke", "ok", "fail", "info")
NEMESIS = "nemesis"


@dataclass(slots=True)
class Event:
    """One line of the history.

    `process` is an int for clients and "nemesis" for fault events. A completion (`ok`, `fail`,
    `info`) belongs to the open invocation of the same process. `line` is the event's line in
    the file it was read from (0 when it was not read from a file), for error messages.
    """

    index: int
    time: int
    process: int | str
    type: str
    f: str
    key: Any = None
    value: Any = None
    node: str | None = None
    error: Any = None
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "index": self.index,
            "time": self.time,
            "process": self.process,
            "type": self.type,
            "f": self.f,
            "key": self.key,
            "value": self.value,
        }
        if self.node is not None:
            d["node"] = self.node
        if self.error is not None:
            d["error"] = self.error
        return d

    @property
    def is_client(self) -> bool:
        return self.process != NEMESIS


class HistoryWriter:
    """Appends events to a JSON-lines file, thread-safe, flushing at least every `flush_every` s.

    Times are nanoseconds since the writer was opened, from the monotonic clock, so a wall-clock
    jump on the host (or a clock nemesis) cannot reorder the history.
    """

    def __init__(self, path: Path | str, flush_every: float = 0.1) -> None:
        self.path = Path(path)
        self._file: TextIO = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()
        self._start = time.monotonic_ns()
        self._index = 0
        self._flush_every = flush_every
        self._last_flush = time.monotonic()
        self.events: list[Event] = []

    def now(self) -> int:
        """Nanoseconds since the history started."""
        return time.monotonic_ns() - self._start

    def append(
        self,
        process: int | str,
        type: str,
        f: str,
        key: Any = None,
        value: Any = None,
        node: str | None = None,
        error: Any = None,
    ) -> Event:
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type!r}")
        with self._lock:
            event = Event(self._index, self.now(), process, type, f, key, value, node, error)
            self._index += 1
            self._file.write(json.dumps(event.to_dict(), separators=(",", ":")) + "\n")
            self.events.append(event)
            if time.monotonic() - self._last_flush >= self._flush_every:
                self._file.flush()
                self._last_flush = time.monotonic()
            return event

    def flush(self) -> None:
        with self._lock:
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                self._file.close()

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _integer(d: dict[str, Any], field: str, where: str) -> int:
    value = d.get(field, -1)
    if value.__class__ is not int:
        raise HistoryError(f"{where}: {field} must be an integer, got {json.dumps(value)[:40]}")
    return value


def event_from_dict(d: Any, where: str, line: int = 0) -> Event:
    """Validate one decoded line; `where` names it in error messages ("history.jsonl line 7")."""
    if not isinstance(d, dict):
        raise HistoryError(f"{where}: expected a JSON object, got {type(d).__name__}")
    missing = [k for k in ("process", "type", "f") if k not in d]
    if missing:
        raise HistoryError(f"{where}: missing field(s) {', '.join(missing)}")
    if d["type"] not in EVENT_TYPES:
        raise HistoryError(f"{where}: type must be one of {', '.join(EVENT_TYPES)}, got {json.dumps(d['type'])[:40]}")
    process = d["process"]
    if process.__class__ is not int and process != NEMESIS:
        raise HistoryError(f"{where}: process must be an integer or \"nemesis\", got {json.dumps(process)[:40]}")
    if not isinstance(d["f"], str):
        raise HistoryError(f"{where}: f must be a string, got {json.dumps(d['f'])[:40]}")
    return Event(
        _integer(d, "index", where),
        _integer(d, "time", where),
        process,
        d["type"],
        d["f"],
        d.get("key"),
        d.get("value"),
        d.get("node"),
        d.get("error"),
        line,
    )


def read_jsonl(path: Path | str, budget: ReadBudget | None = None) -> Iterator[Event]:
    """Yield the events of a history.jsonl, streamed; a malformed line raises HistoryError.

    A last line without its newline that does not parse raises CutShort after the events
    before it: the caller decides what a history cut short is worth.
    """
    path = Path(path)
    budget = budget or ReadBudget()
    for n, text, ended in Lines(path):
        if not text.strip():
            continue
        where = f"{path} line {n}"
        try:
            d = parse_json(text, where)
        except HistoryError as e:
            if not ended:
                raise CutShort(f"{where}: cut short (no newline, and {str(e)[len(where) + 2:]})", n) from e
            raise
        budget.charge(len(text), where)
        event = event_from_dict(d, where, n)
        if event.index < 0:
            event.index = n - 1
        yield event


def iter_history(path: Path | str) -> Iterator[Event]:
    """The events of a history.jsonl, skipping a last line cut short by a crash.

    For showing a run (the report) every intact line is worth having; `harness check` reads
    with `read_jsonl` instead, so that a history cut short is never called valid.
    """
    try:
        yield from read_jsonl(path)
    except CutShort:
        return


def read_history(path: Path | str) -> list[Event]:
    return list(iter_history(path))


def write_history(path: Path | str, events: Iterable[Event]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e.to_dict(), separators=(",", ":")) + "\n")
