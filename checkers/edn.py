"""A small EDN reader, enough for Jepsen and Knossos histories.

Why not the `edn_format` package: it is a parser generator's output, slow on multi-megabyte
histories, and its errors do not say on which line a file is broken, which is the first thing
someone with a truncated history.edn needs to know. This reader is one regular expression and
an explicit stack, fed line by line (`checkers.reading.Lines`), so it never holds more of the
file than the token it is reading; nesting is capped at MAX_DEPTH.

Mapping to Python: keywords and symbols become plain strings without the colon (`:read` ->
"read"), vectors and lists become lists, maps dicts, sets frozensets, nil None. Tagged
literals such as `#jepsen.history.Op{...}` or `#inst "..."` read as the tagged value itself.
Map keys and set elements are frozen (`checkers.values.freeze`), so `true` and `1`, or `1`
and `1.0`, stay distinct keys. `##NaN`, `##Inf` and floats too large for a double are errors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from checkers.reading import MAX_DEPTH, MAX_LINE_BYTES, CutShort, HistoryError
from checkers.values import freeze

_TOKEN = re.compile(
    r"""
    (?P<ws>(?:[\s,]+|;[^\n]*)+)
  | (?P<open>\#\{|[\[({])
  | (?P<close>[\])}])
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<discard>\#_)
  | (?P<tag>\#[A-Za-z][^\s,;\[\](){}"]*)
  | (?P<char>\\(?:newline|space|tab|return|u[0-9a-fA-F]{4}|.))
  | (?P<atom>[^\s,;\[\](){}"\\]+)
    """,
    re.VERBOSE,
)
_INT = re.compile(r"[+-]?\d+N?\Z")
_FLOAT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?M?\Z")
_CLOSERS = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r"}
_DISCARD = object()


class _BadAtom(ValueError):
    pass


def _atom(text: str) -> Any:
    if text == "nil":
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    if text[0] == ":":
        return text[1:]
    if text.startswith("##"):
        raise _BadAtom(f"{text} is not a value a history can hold")
    if text[0].isdigit() or (len(text) > 1 and text[0] in "+-" and text[1].isdigit()):
        if _INT.match(text):
            try:
                return int(text.rstrip("N"))
            except ValueError:
                raise _BadAtom("an integer with too many digits") from None
        if _FLOAT.match(text):
            value = float(text.rstrip("M"))
            if not math.isfinite(value):
                raise _BadAtom(f"number {text[:20]} is too large for a float")
            return value
    return text


def _unescape(m: re.Match[str]) -> str:
    e = m[1]
    if e[0] == "u" and len(e) == 5:
        return chr(int(e[1:], 16))
    return _ESCAPES.get(e, e)


def _string(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", _unescape, body) if "\\" in body else body


def _build(opener: str, items: list[Any], where: str) -> Any:
    if opener in ("[", "("):
        return items
    if opener == "#{":
        return frozenset(freeze(x) for x in items)
    if len(items) % 2:
        raise HistoryError(f"{where}: a map needs an even number of forms")
    return {_key(items[i]): items[i + 1] for i in range(0, len(items), 2)}


def _key(k: Any) -> Any:
    """Keyword and string keys stay strings (op maps are looked up by them); others are frozen."""
    return k if k.__class__ is str else freeze(k)


def iter_edn(
    source: str | Iterable[tuple[int, str, bool]], name: str = "<edn>", unwrap: bool = False
) -> Iterator[tuple[int, Any]]:
    """Yield (line, value) for each top-level form; errors name `name` and the line.

    `source` is a text, or the numbered lines of a file (`checkers.reading.Lines`). With
    `unwrap`, a top-level vector or list yields its elements instead, each with its own line:
    a history is either one collection of ops or a sequence of ops, and an error about an op
    should name the op's line, not the line of the opening bracket. A file that ends inside a
    form raises CutShort (naming where the form opened) after every complete form before it.
    """
    lines: Iterator[tuple[int, str, bool]]
    if isinstance(source, str):
        lines = ((n, t, True) for n, t in enumerate(source.splitlines(keepends=True), start=1))
    else:
        lines = iter(source)
    buf, pos, line, eof = "", 0, 1, False
    unwrapped: tuple[str, int] | None = None
    # Each frame: opener, items, line where it opened; `discards` counts pending #_ per frame.
    stack: list[tuple[str, list[Any], int]] = []
    discards: list[int] = [0]
    match = _TOKEN.match
    while True:
        if pos >= len(buf):
            if eof:
                break
            nxt = next(lines, None)
            if nxt is None:
                eof = True
                continue
            buf, pos = nxt[1], 0
            continue
        m = match(buf, pos)
        if not eof and (m is None or m.end() == len(buf)):
            # The token may go on in the next line (a string, a run of whitespace): read it first.
            nxt = next(lines, None)
            if nxt is None:
                eof = True
            else:
                if len(buf) - pos > MAX_LINE_BYTES:
                    raise HistoryError(f"{name} line {line}: a token longer than {MAX_LINE_BYTES // 2**20} MiB")
                buf, pos = buf[pos:] + nxt[1], 0
            continue
        if m is None:
            if buf[pos] == '"':
                raise CutShort(f"{name} line {line}: a string that is never closed (file cut short?)", line)
            raise HistoryError(f"{name} line {line}: unexpected character {buf[pos]!r}")
        kind = m.lastgroup
        tok = m[0]
        start_line = line
        line += tok.count("\n") if kind in ("ws", "str") else 0
        pos = m.end()
        if kind == "ws" or kind == "tag":
            continue
        if kind == "discard":
            discards[-1] += 1
            continue
        if kind == "open":
            if unwrap and not stack and unwrapped is None and tok in ("[", "("):
                unwrapped = (tok, start_line)
                unwrap = False
                continue
            if len(stack) >= MAX_DEPTH:
                raise HistoryError(f"{name} line {start_line}: values nested deeper than {MAX_DEPTH} levels")
            stack.append((tok, [], start_line))
            discards.append(0)
            continue
        if kind == "close":
            if not stack:
                if unwrapped is not None and _CLOSERS[unwrapped[0]] == tok:
                    unwrapped = None
                    continue
                raise HistoryError(f"{name} line {start_line}: unmatched {tok!r}")
            opener, items, open_line = stack.pop()
            discards.pop()
            if _CLOSERS[opener] != tok:
                raise HistoryError(f"{name} line {start_line}: {tok!r} closes {opener!r} opened on line {open_line}")
            value = _build(opener, items, f"{name} line {open_line}")
            value_line = open_line
        elif kind == "str":
            value, value_line = _string(tok), start_line
        elif kind == "char":
            body = tok[1:]
            value = _CHARS.get(body, chr(int(body[1:], 16)) if len(body) == 5 and body[0] == "u" else body)
            value_line = start_line
        else:
            try:
                value = _atom(tok)
            except _BadAtom as e:
                raise HistoryError(f"{name} line {start_line}: {e}") from None
            value_line = start_line
        if discards[-1]:
            discards[-1] -= 1
            continue
        if stack:
            stack[-1][1].append(value)
        else:
            yield value_line, value
    if stack or unwrapped is not None:
        opener, open_line = (stack[-1][0], stack[-1][2]) if stack else unwrapped  # type: ignore[misc]
        raise CutShort(f"{name} line {open_line}: {opener!r} is never closed (file cut short?)", open_line)
