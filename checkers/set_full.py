"""The set workload's checker, with Jepsen's set-full semantics: what happened to every element.

Op shapes (our Event history): `f "add"`, value the element (invoke, then ok / fail / info);
`f "read"`, value null on invoke and the list of elements on an ok completion.

For every element whose add was invoked, and every element some read returned:

- it is *known* from the earlier of its add's ok completion and the completion of the first
  read that returned it; only reads invoked after that moment can be held to it;
- *never-read*: no read began after it was known (nothing to judge);
- *lost*: known, and absent from a read that began after its last sighting (it disappeared);
- *stable*: present in every read since some point; it was *stale* when some read that began
  after it was known still missed it (allowed unless `linearizable`), and `stable_latency` is
  how long after it was known the first read of its final, unbroken run of sightings began;
- *unexpected*: read, but no add was ever invoked or its add failed (it cannot be there);
- *duplicated*: a single read returned it more than once.

Lost, unexpected and duplicated elements make the history invalid, as do stale ones under
`linearizable`. An info add that was never seen is fine: it may not have happened. A history
with no ok read at all is "unknown": nothing was checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from checkers.history import NEMESIS, Event
from checkers.txn.transactions import hashable

MAX_LISTED = 32


@dataclass
class _Read:
    invoke_pos: int
    complete_pos: int
    index: int
    time: int
    invoke_time: int
    elements: set[Any] = field(default_factory=set)


def _seconds(ns: int | None) -> float | None:
    return None if ns is None else ns / 1e9


def check_set(history: Sequence[Event], linearizable: bool = False) -> dict[str, Any]:
    """Classify every element (see the module docstring) and give the verdict."""
    adds: dict[Any, dict[str, Any]] = {}
    reads: list[_Read] = []
    duplicated: dict[Any, list[int]] = {}
    open_ops: dict[Any, tuple[int, Event]] = {}
    for pos, e in enumerate(history):
        if e.process == NEMESIS or e.f not in ("add", "read"):
            continue
        if e.type == "invoke":
            open_ops[e.process] = (pos, e)
            if e.f == "add":
                el = hashable(e.value)
                adds.setdefault(el, {"element": e.value, "invoke_index": e.index, "invoke_time": e.time,
                                     "outcome_type": "pending"})
            continue
        ipos, inv = open_ops.pop(e.process, (pos, e))
        if e.f == "add":
            el = hashable(e.value if e.value is not None else inv.value)
            a = adds.setdefault(el, {"element": e.value, "invoke_index": inv.index, "invoke_time": inv.time})
            a["outcome_type"] = e.type
            if e.type == "ok":
                a["ok_pos"], a["ok_index"], a["ok_time"] = pos, e.index, e.time
        elif e.type == "ok":
            values = e.value if isinstance(e.value, list) else []
            r = _Read(ipos, pos, e.index, e.time, inv.time)
            for v in values:
                h = hashable(v)
                if h in r.elements:
                    duplicated.setdefault(h, []).append(e.index)
                r.elements.add(h)
            reads.append(r)
    if not reads:
        return {"valid": "unknown", "reason": "no read completed, so no element could be checked",
                "attempted": len(adds)}

    first_seen: dict[Any, _Read] = {}
    for r in sorted(reads, key=lambda r: r.complete_pos):
        for el in r.elements:
            first_seen.setdefault(el, r)
    outcomes: dict[str, list[dict[str, Any]]] = {k: [] for k in ("stable", "lost", "never-read", "unexpected")}
    stale: list[dict[str, Any]] = []
    latencies: list[float] = []
    by_invoke = sorted(reads, key=lambda r: r.invoke_pos)
    for el in set(adds) | set(first_seen):
        a = adds.get(el)
        seen = first_seen.get(el)
        if a is None or a["outcome_type"] == "fail":
            if seen is not None:
                outcomes["unexpected"].append({"element": el, "read_index": seen.index,
                                               "add": "failed" if a else "never attempted"})
            continue
        candidates = [(a["ok_pos"], a["ok_time"], "acknowledged")] if "ok_pos" in a else []
        if seen is not None:
            candidates.append((seen.complete_pos, seen.time, "seen"))
        if not candidates:
            continue  # an info or pending add nobody saw: it may never have happened
        known_pos, known_time, how = min(candidates, key=lambda c: c[0])
        later = [r for r in by_invoke if r.invoke_pos > known_pos]
        info = {"element": el, "known_since": how, "known_index": a.get("ok_index") if how == "acknowledged"
                else seen.index if seen else None}
        if not later:
            outcomes["never-read"].append(info)
            continue
        absent = [r for r in later if el not in r.elements]
        present = [r for r in later if el in r.elements]
        if absent and (not present or absent[-1].invoke_pos > present[-1].invoke_pos):
            info["last_seen_index"] = present[-1].index if present else (seen.index if seen else None)
            info["lost_in_read_index"] = absent[-1].index
            outcomes["lost"].append(info)
            continue
        run_start = next(r for r in present if not absent or r.invoke_pos > absent[-1].invoke_pos)
        latency = (run_start.invoke_time - known_time) if known_time is not None else None
        info["stable_from_read_index"] = run_start.index
        info["stable_latency"] = _seconds(latency)
        if latency is not None:
            latencies.append(latency / 1e9)
        outcomes["stable"].append(info)
        if absent:
            stale.append({**info, "stale_read_indices": [r.index for r in absent][:MAX_LISTED]})

    dup = [{"element": el, "read_indices": idx[:MAX_LISTED]} for el, idx in duplicated.items()]
    bad = bool(outcomes["lost"] or outcomes["unexpected"] or dup or (linearizable and stale))
    latencies.sort()
    result: dict[str, Any] = {
        "valid": not bad,
        "attempted": len(adds),
        "acknowledged": sum(1 for a in adds.values() if "ok_pos" in a),
        "reads": len(reads),
        "stable_count": len(outcomes["stable"]),
        "lost_count": len(outcomes["lost"]),
        "never_read_count": len(outcomes["never-read"]),
        "unexpected_count": len(outcomes["unexpected"]),
        "duplicated_count": len(dup),
        "stale_count": len(stale),
        "lost": outcomes["lost"][:MAX_LISTED],
        "unexpected": outcomes["unexpected"][:MAX_LISTED],
        "duplicated": dup[:MAX_LISTED],
        "stale": stale[:MAX_LISTED],
        "never_read": outcomes["never-read"][:MAX_LISTED],
        "stable_latency": {
            "median": latencies[len(latencies) // 2] if latencies else None,
            "max": latencies[-1] if latencies else None,
        },
    }
    if bad:
        result["message"] = _message(result, linearizable)
    return result


def _message(r: dict[str, Any], linearizable: bool) -> str:
    """One line for the verdict: what went wrong, with the first example of each kind."""
    parts = []
    for kind, label in (("lost", "lost (known to be in the set, then gone)"),
                        ("unexpected", "read but never added"), ("duplicated", "read twice in one read")):
        if r[f"{kind}_count"]:
            parts.append(f"{r[f'{kind}_count']} element(s) {label}, e.g. {r[kind][0].get('element')!r}")
    if linearizable and r["stale_count"]:
        parts.append(f"{r['stale_count']} element(s) missing from a read after they were known, e.g. "
                     f"{r['stale'][0].get('element')!r}")
    return "; ".join(parts)


class SetChecker:
    """Set-full as a `Checker`; `context` may set "linearizable" (stale reads are then errors)."""

    def __init__(self, linearizable: bool = False) -> None:
        self.linearizable = linearizable

    def check(self, history: Sequence[Event], context: Mapping[str, Any]) -> dict[str, Any]:
        return check_set(history, context.get("linearizable", self.linearizable))
