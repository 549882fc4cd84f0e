"""The history: every event of a run, one JSON object per line, streamed to disk as it happens.

A history is written while the cluster is being hurt, and the harness itself may die half-way
(Ctrl-C, an OOM, a bug). So events are appended and flushed as they are recorded, and the
reader accepts a file whose last line was cut short by such a crash: what was written before
it is still a checkable history.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

EVENT_TYPES = ("invoke", "ok", "fail", "info")
NEMESIS = "nemesis"


class HistoryError(ValueError):
    """A history file that cannot be read; the message names the file and line."""


@dataclass(slots=True)
class Event:
    """One line of the history.

    `process` is an int for clients and "nemesis" for fault events. A completion (`ok`, `fail`,
    `info`) belongs to the open invocation of the same process.
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


def event_from_dict(d: Any, where: str) -> Event:
    """Validate one decoded line; `where` names it in error messages ("history.jsonl line 7")."""
    if not isinstance(d, dict):
        raise HistoryError(f"{where}: expected a JSON object, got {type(d).__name__}")
    missing = [k for k in ("process", "type", "f") if k not in d]
    if missing:
        raise HistoryError(f"{where}: missing field(s) {', '.join(missing)}")
    if d["type"] not in EVENT_TYPES:
        raise HistoryError(f"{where}: type must be one of {', '.join(EVENT_TYPES)}, got {d['type']!r}")
    process = d["process"]
    if not (isinstance(process, int) and not isinstance(process, bool)) and process != NEMESIS:
        raise HistoryError(f"{where}: process must be an integer or \"nemesis\", got {process!r}")
    try:
        index = int(d.get("index", -1))
        t = int(d.get("time", -1))
    except (TypeError, ValueError) as e:
        raise HistoryError(f"{where}: index and time must be integers") from e
    return Event(
        index, t, process, d["type"], str(d["f"]), d.get("key"), d.get("value"), d.get("node"), d.get("error")
    )


def iter_history(path: Path | str) -> Iterator[Event]:
    """Yield the events of a history.jsonl; a malformed line raises HistoryError with its number.

    A last line without its newline that does not parse is the trace of a harness that died
    mid-write: it is skipped, because everything before it is intact.
    """
    path = Path(path)
    try:
        f = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as e:
        raise HistoryError(f"{path}: cannot read: {e.strerror}") from e
    with f:
        lines = f.readlines()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            if n == len(lines) and not line.endswith("\n"):
                return
            raise HistoryError(f"{path} line {n}: not valid JSON ({e.msg})") from e
        event = event_from_dict(d, f"{path} line {n}")
        if event.index < 0:
            event.index = n - 1
        yield event


def read_history(path: Path | str) -> list[Event]:
    return list(iter_history(path))


def write_history(path: Path | str, events: Iterable[Event]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e.to_dict(), separators=(",", ":")) + "\n")
