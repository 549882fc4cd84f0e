"""A small EDN reader, enough for Jepsen and Knossos histories.

Why not the `edn_format` package: it is a parser generator's output, slow on multi-megabyte
histories, and its errors do not say on which line a file is broken, which is the first thing
someone with a truncated history.edn needs to know. This reader is one regular expression and
an explicit stack (no recursion limit on deeply nested values).

Mapping to Python: keywords and symbols become plain strings without the colon (`:read` ->
"read"), vectors and lists become lists, maps dicts, sets frozensets, nil None. Tagged
literals such as `#jepsen.history.Op{...}` or `#inst "..."` read as the tagged value itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from checkers.history import HistoryError

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


def _atom(text: str) -> Any:
    if text == "nil":
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    if text[0] == ":":
        return text[1:]
    if text[0].isdigit() or (len(text) > 1 and text[0] in "+-" and text[1].isdigit()):
        if _INT.match(text):
            return int(text.rstrip("N"))
        if _FLOAT.match(text):
            return float(text.rstrip("M"))
    return text


def _unescape(m: re.Match[str]) -> str:
    e = m[1]
    if e[0] == "u" and len(e) == 5:
        return chr(int(e[1:], 16))
    return _ESCAPES.get(e, e)


def _string(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", _unescape, body) if "\\" in body else body


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple((_hashable(k), _hashable(x)) for k, x in v.items())
    return v


def _build(opener: str, items: list[Any], where: str) -> Any:
    if opener in ("[", "("):
        return items
    if opener == "#{":
        return frozenset(_hashable(x) for x in items)
    if len(items) % 2:
        raise HistoryError(f"{where}: a map needs an even number of forms")
    return {_hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}


def iter_edn(text: str, name: str = "<edn>", unwrap: bool = False) -> Iterator[tuple[int, Any]]:
    """Yield (line, value) for each top-level form in `text`; errors name `name` and the line.

    With `unwrap`, a top-level vector or list yields its elements instead, each with its own
    line: a history is either one collection of ops or a sequence of ops, and an error about
    an op should name the op's line, not the line of the opening bracket.
    """
    pos, line, end = 0, 1, len(text)
    unwrapped: tuple[str, int] | None = None
    # Each frame: opener, items, line where it opened, pending discards.
    stack: list[tuple[str, list[Any], int]] = []
    discards: list[int] = [0]
    match = _TOKEN.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise HistoryError(f"{name} line {line}: unexpected character {text[pos]!r}")
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
            value, value_line = _atom(tok), start_line
        if discards[-1]:
            discards[-1] -= 1
            continue
        if stack:
            stack[-1][1].append(value)
        else:
            yield value_line, value
    if stack or unwrapped is not None:
        opener, open_line = (stack[-1][0], stack[-1][2]) if stack else unwrapped  # type: ignore[misc]
        raise HistoryError(f"{name} line {open_line}: {opener!r} is never closed (file cut short?)")
