"""The set checker, with Jepsen's set-full semantics: what happened to every element ever added.

Operations: `add` (value: the element) and `read` (an ok completion's value: every element the
set holds, as a list). Elements are compared as JSON values. For each element the checker
finds when it became known to exist (its add was acknowledged, or a read saw it, whichever came
first), and then looks at every read that began after that:

- stable: present in all of them (or absent only from reads that ran concurrently with it);
- lost: present once known, and absent from the last reads: the system dropped it;
- stale: absent from some read that began after it was known, then present again: a read
  returned an old state (not linearizable; allowed by weaker systems, see `linearizable`);
- never-read: known, but no read began after that, so nothing can be said.
Beyond elements: an element read but never added is unexpected; one read twice in one read is
duplicated. "Became visible" is reported per element as the time from its add's invocation to
the first read that saw it, so slow visibility shows even when nothing is lost.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import Event
from checkers.intervals import Interval, intervals

SHOWN = 10  # elements listed per outcome; counts are always complete


def _key(value: Any) -> str:
    """Elements as JSON text: exact (1, 1.0 and true differ), and hashable whatever their type."""
    return json.dumps(value, sort_keys=True)


def check_set(events: Sequence[Event], linearizable: bool = True) -> dict[str, Any]:
    ops = intervals(events)
    adds = [op for op in ops if op.f == "add" and op.type != "fail"]
    reads = sorted((op for op in ops if op.f == "read" and op.type == "ok"), key=lambda op: op.start)
    attempted: dict[str, Interval] = {_key(op.invoke.value): op for op in adds}
    acked = {k: op.end for k, op in attempted.items() if op.type == "ok"}
    unexpected: dict[str, int] = {}
    duplicated: dict[str, int] = {}
    seen_in: dict[str, list[int]] = {}  # element -> positions in `reads` of the reads that saw it
    for position, r in enumerate(reads):
        if not isinstance(r.value, list):
            return {"valid": "unknown", "reason": f"event {r.complete.index}: a read returned {r.value!r}, "
                    "not a list of elements"}
        counts: dict[str, int] = {}
        for element in r.value:
            k = _key(element)
            counts[k] = counts.get(k, 0) + 1
        for k, n in counts.items():
            if k not in attempted:
                unexpected.setdefault(k, r.complete.index)
            if n > 1:
                duplicated.setdefault(k, r.complete.index)
            seen_in.setdefault(k, []).append(position)
    starts = [r.start for r in reads]
    outcomes: dict[str, list[dict[str, Any]]] = {"stable": [], "lost": [], "stale": [], "never-read": []}
    visible_ms: list[float] = []
    for k in sorted(set(acked) | set(seen_in)):
        present = seen_in.get(k, [])
        known = min([acked.get(k, float("inf"))] + [reads[i].end for i in present])
        first_after = bisect.bisect_right(starts, known)  # reads from here on began after it was known
        add = attempted.get(k)
        if present and add is not None:
            visible_ms.append(max(0.0, (min(reads[i].end for i in present) - add.start) / 1e6))
        if first_after == len(reads):
            outcomes["never-read"].append(_detail(k, add, None))
            continue
        saw = set(present)
        if all(i in saw for i in range(first_after, len(reads))):
            outcomes["stable"].append(_detail(k, add, None))
        elif len(reads) - 1 not in saw:
            # Lost: missing from the last read, which began after it was known.
            outcomes["lost"].append(_detail(k, add, reads[-1]))
        else:
            first_missing = next(i for i in range(first_after, len(reads)) if i not in saw)
            outcomes["stale"].append(_detail(k, add, reads[first_missing]))
    bad = bool(outcomes["lost"] or unexpected or duplicated or (linearizable and outcomes["stale"]))
    result: dict[str, Any] = {
        "valid": not bad,
        "attempted": len(attempted),
        "acknowledged": len(acked),
        "reads": len(reads),
        **{f"{name}_count": len(items) for name, items in outcomes.items()},
        **{name: items[:SHOWN] for name, items in outcomes.items() if name != "stable" and items},
        "unexpected_count": len(unexpected),
        "duplicated_count": len(duplicated),
    }
    for name, found in (("unexpected", unexpected), ("duplicated", duplicated)):
        if found:
            result[name] = [{"element": json.loads(k), "read_index": i} for k, i in list(found.items())[:SHOWN]]
    if visible_ms:
        ordered = sorted(visible_ms)
        result["visible_ms"] = {q: round(ordered[min(len(ordered) - 1, int(f * len(ordered)))], 1)
                                for q, f in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))}
    if bad:
        result["message"] = _message(result, linearizable)
    return result


def _detail(k: str, add: Interval | None, read: Interval | None) -> dict[str, Any]:
    """An element with the events that tell its story: its add, and the read that missed it."""
    out: dict[str, Any] = {"element": json.loads(k)}
    if add is not None:
        out["add"] = {"index": add.invoke.index, "type": add.type,
                      "node": add.complete.node if add.complete is not None else None}
    if read is not None:
        out["missing_from_read"] = {"index": read.complete.index, "node": read.complete.node}
    return out


def _message(result: Mapping[str, Any], linearizable: bool) -> str:
    parts = []
    if result.get("lost_count"):
        e = result["lost"][0]
        parts.append(f"{result['lost_count']} element(s) lost, e.g. {json.dumps(e['element'])}: known to be in the "
                     f"set, then missing from every read from event {e['missing_from_read']['index']} on")
    if linearizable and result.get("stale_count"):
        e = result["stale"][0]
        parts.append(f"{result['stale_count']} stale read(s), e.g. {json.dumps(e['element'])} missing from the read "
                     f"at event {e['missing_from_read']['index']} after it was known, then seen again")
    if result.get("unexpected_count"):
        parts.append(f"{result['unexpected_count']} element(s) read that were never added")
    if result.get("duplicated_count"):
        parts.append(f"{result['duplicated_count']} element(s) read more than once in one read")
    return "; ".join(parts)


class SetChecker:
    """`check_set` as a harness Checker."""

    def __init__(self, linearizable: bool = True) -> None:
        self.linearizable = linearizable

    def check(self, history: Sequence[Event], context: Mapping[str, Any]) -> dict[str, Any]:
        return check_set(history, self.linearizable)
