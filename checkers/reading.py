"""Reading a history file within bounds: line by line, with caps on what one file may cost.

A history file is input from outside: a crashed harness, another tool, or something that is
not a history at all (`/dev/zero`, a binary, a 1 GB sparse file). Every reader goes through
`Lines`, so none of them loads a whole file, and each of these ends in one HistoryError naming
the file and line instead of a hang, a MemoryError or a traceback:

- a line longer than MAX_LINE_BYTES (a file with no newlines is one such line);
- bytes that are not UTF-8;
- values nested deeper than MAX_DEPTH (deeper ones would overflow Python's stack);
- more parsed events than the read budget allows (an estimate of their memory, `ReadBudget`).

A last line without its newline that does not parse is the trace of a writer that died
mid-line. Readers raise `CutShort` for it, and the caller decides whether the lines before it
are a usable history.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

MAX_LINE_BYTES = 16 * 2**20
MAX_DEPTH = 100
DEFAULT_READ_MEMORY = 2 * 2**30
# What one parsed event costs, estimated: an Event and its ints (~200 bytes) plus about twice
# the line's length for the decoded values (measured with tracemalloc on our own histories).
EVENT_OVERHEAD = 200
MAX_INT_DIGITS = 4300  # Python's own limit for converting a decimal string to an int


class HistoryError(ValueError):
    """A history file that cannot be read; the message names the file and line."""


class CutShort(HistoryError):
    """The last line has no newline and does not parse: the file was cut off mid-write."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class ReadBudget:
    """A running estimate of the memory the events read so far hold, with a cap."""

    def __init__(self, limit: int = DEFAULT_READ_MEMORY) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, text_bytes: int, where: str) -> None:
        """Count one parsed event whose text took `text_bytes`."""
        self.used += EVENT_OVERHEAD + 2 * text_bytes
        if self.used > self.limit:
            raise HistoryError(
                f"{where}: the events read so far need more than the read budget of "
                f"{self.limit / 2**20:.0f} MiB (raise it with --read-memory)"
            )


class Lines:
    """The lines of a file as (number, text, ended), decoded and bounded; `ended` is False only
    for a last line without its newline."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bytes_read = 0

    def __iter__(self) -> Iterator[tuple[int, str, bool]]:
        try:
            f: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - closed below
        except OSError as e:
            raise HistoryError(f"{self.path}: cannot read: {e.strerror}") from e
        with f:
            n = 0
            while True:
                try:
                    raw = f.readline(MAX_LINE_BYTES + 1)
                except OSError as e:
                    raise HistoryError(f"{self.path} line {n + 1}: cannot read: {e.strerror}") from e
                if not raw:
                    return
                n += 1
                self.bytes_read += len(raw)
                ended = raw.endswith(b"\n")
                if len(raw) > MAX_LINE_BYTES:
                    raise HistoryError(
                        f"{self.path} line {n}: longer than {MAX_LINE_BYTES // 2**20} MiB: not a history "
                        "(or one with a value too large to check)"
                    )
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise HistoryError(f"{self.path} line {n}: not UTF-8 text (byte {e.start + 1} of the line)") from e
                yield n, text, ended


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is too large for a float")
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_no_constant)
_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nesting_depth(text: str) -> int:
    """The deepest nesting of [] and {} in a JSON (or EDN) text, strings skipped."""
    depth = deepest = 0
    for m in _NESTING.finditer(text):
        c = m[0]
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def parse_json(text: str, where: str) -> Any:
    """Strict JSON: no NaN or Infinity, no number that overflows a float, no nesting deeper
    than MAX_DEPTH, no integer beyond Python's digit limit. Errors name `where`."""
    if text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(text) > MAX_DEPTH:
        raise HistoryError(f"{where}: values nested deeper than {MAX_DEPTH} levels")
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as e:
        raise HistoryError(f"{where}: not valid JSON ({e.msg}, column {e.colno})") from e
    except ValueError as e:  # NaN, Infinity, 1e400, or an integer with too many digits
        raise HistoryError(f"{where}: {_short(str(e))}") from e
    except RecursionError as e:
        raise HistoryError(f"{where}: values nested too deeply") from e


def _short(message: str) -> str:
    if "integer string conversion" in message:
        return f"an integer with more than {sys.get_int_max_str_digits() or MAX_INT_DIGITS} digits"
    return message
