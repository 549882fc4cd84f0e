"""history.edn: the history in Jepsen's own format, so Knossos (and Elle, for its workloads) can
cross-check our verdicts on the same run.

Written independently of `checkers/` on purpose: the point of a second opinion is that our
reader and our writer do not share a misunderstanding. Shape, as Jepsen writes it:

    {:index 0, :time 2730696839, :type :invoke, :process 9, :f :write, :value ["r0" 4]}

Keyed ops carry jepsen.independent's `[key value]` tuple in `:value`; nemesis events have
`:process :nemesis` and, as in Jepsen, `:type :info` for both their start and their end.
`:time` is nanoseconds, as in Jepsen.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_KEYWORD = re.compile(r"[A-Za-z*+!_?<>=][A-Za-z0-9*+!_?<>=.\-/]*\Z")
_STRING_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_NEMESIS = "nemesis"


def keyword(name: str) -> str:
    """`:name` when `name` is a valid EDN keyword, else the name as a string (never invalid EDN)."""
    return f":{name}" if _KEYWORD.match(name) and not name.endswith("/") else string(name)


def _char(c: str) -> str:
    """One character inside an EDN string: control characters and lone surrogates (which JSON
    allows and UTF-8 cannot encode) as `\\uXXXX` escapes, the rest as they are."""
    if c in _STRING_ESCAPES:
        return _STRING_ESCAPES[c]
    return f"\\u{ord(c):04x}" if c < " " or "\ud800" <= c <= "\udfff" else c


def string(s: str) -> str:
    return '"' + "".join(_char(c) for c in s) + '"'


def value(v: Any) -> str:
    """A decoded JSON value as EDN: null → nil, lists → vectors, objects → maps with keyword keys."""
    if v is None:
        return "nil"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "##NaN"
        if math.isinf(v):
            return "##Inf" if v > 0 else "##-Inf"
        return repr(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, list | tuple):
        return "[" + " ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{keyword(k) if isinstance(k, str) else value(k)} {value(x)}"
                               for k, x in v.items()) + "}"
    return string(json.dumps(v, default=str))


def op(d: dict[str, Any]) -> str:
    """One history event (as in history.jsonl) as a Jepsen op map."""
    nemesis = d.get("process") == _NEMESIS
    fields = [
        f":index {value(d.get('index'))}",
        f":time {value(d.get('time'))}",
        f":type {':info' if nemesis else keyword(str(d['type']))}",
        f":process {':nemesis' if nemesis else value(d['process'])}",
        f":f {keyword(str(d['f']))}",
    ]
    v = d.get("value")
    if not nemesis and d.get("key") is not None:
        fields.append(f":value [{value(d['key'])} {value(v)}]")
    else:
        fields.append(f":value {value(v)}")
    for extra in ("node", "error"):
        if d.get(extra) is not None:
            x = d[extra]
            fields.append(f":{extra} {keyword(x) if isinstance(x, str) and extra == 'error' else value(x)}")
    return "{" + ", ".join(fields) + "}"


def write_edn(events: Iterable[dict[str, Any]], path: Path) -> Path:
    """Write one op map per line (what Jepsen's history.edn holds); returns the path."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for d in events:
            f.write(op(d) + "\n")
    tmp.replace(path)
    return path


def jsonl_to_edn(jsonl: Path, edn: Path) -> Path:
    """history.jsonl → history.edn, line by line (a line cut short by a crash is skipped, as the reader does)."""
    def events() -> Iterable[dict[str, Any]]:
        with open(jsonl, encoding="utf-8") as f:
            for line in f:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue
    return write_edn(events(), edn)
