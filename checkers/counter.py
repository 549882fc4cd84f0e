"""The counter workload's checker: every read lies between what surely and what possibly happened.

Op shapes (our Event history): `f "add"`, value the delta (an integer; invoke, then ok / fail /
info); `f "read"`, value null on invoke and the counter's value (an integer) on an ok
completion. The counter starts at `initial` (0).

A read overlapping some adds may see any of them, so each read is held to bounds:

- lower: every decrement that may have happened by the time the read completed (invoked
  before then and not failed), plus every increment acknowledged before the read was invoked;
- upper: every increment that may have happened by then, plus every decrement acknowledged
  before the read was invoked.

A read outside its bounds is an error, with the bounds and the event index. A history with no
ok read is "unknown": nothing was checked.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import NEMESIS, Event

MAX_LISTED = 32


def check_counter(history: Sequence[Event], initial: int = 0) -> dict[str, Any]:
    # Each add: (invoke position, completion position or None, type, delta).
    adds: list[tuple[int, int | None, str, int]] = []
    reads: list[tuple[int, int, Event]] = []
    open_ops: dict[Any, tuple[int, Event]] = {}
    for pos, e in enumerate(history):
        if e.process == NEMESIS or e.f not in ("add", "read"):
            continue
        if e.type == "invoke":
            open_ops[e.process] = (pos, e)
            continue
        ipos, inv = open_ops.pop(e.process, (pos, e))
        if e.f == "add":
            delta = inv.value if inv.value is not None else e.value
            if not isinstance(delta, int) or isinstance(delta, bool):
                reason = f"event {e.index}: an add's value must be an integer, got {delta!r}"
                return {"valid": "unknown", "reason": reason}
            adds.append((ipos, pos if e.type != "info" else None, e.type, delta))
        elif e.type == "ok":
            reads.append((ipos, pos, e))
    for ipos, inv in open_ops.values():
        if inv.f == "add" and isinstance(inv.value, int):
            adds.append((ipos, None, "info", inv.value))
    if not reads:
        return {"valid": "unknown", "reason": "no read completed, so nothing could be checked"}
    # Prefix sums make each read's bounds two binary searches instead of a pass over all adds.
    may = sorted((a_inv, d) for a_inv, _, typ, d in adds if typ != "fail")
    sure = sorted((a_done, d) for _, a_done, typ, d in adds if typ == "ok" and a_done is not None)
    may_pos, may_up, may_down = _prefix(may)
    sure_pos, sure_up, sure_down = _prefix(sure)
    errors = []
    for ipos, cpos, e in reads:
        i = bisect_right(may_pos, cpos)
        j = bisect_left(sure_pos, ipos)
        lower = initial + may_down[i] + sure_up[j]
        upper = initial + may_up[i] + sure_down[j]
        value = e.value
        if not isinstance(value, int) or isinstance(value, bool) or not lower <= value <= upper:
            errors.append({"index": e.index, "value": value, "lower": lower, "upper": upper})
    result = {
        "valid": not errors,
        "reads": len(reads),
        "adds": len(adds),
        "acknowledged_total": initial + sum(d for _, _, t, d in adds if t == "ok"),
        "attempted_total": initial + sum(d for _, _, t, d in adds if t != "fail"),
        "error_count": len(errors),
        "errors": errors[:MAX_LISTED],
    }
    if errors:
        e = errors[0]
        result["message"] = (f"{len(errors)} read(s) out of bounds, e.g. event {e['index']} read {e['value']!r}, "
                             f"outside [{e['lower']}, {e['upper']}] (acknowledged before it, attempted by its end)")
    return result


def _prefix(items: list[tuple[int, int]]) -> tuple[list[int], list[int], list[int]]:
    """Positions, and running sums of the increments and of the decrements before each."""
    positions, up, down = [], [0], [0]
    for pos, d in items:
        positions.append(pos)
        up.append(up[-1] + max(d, 0))
        down.append(down[-1] + min(d, 0))
    return positions, up, down


class CounterChecker:
    """The counter checker as a `Checker`; `context` may set "initial"."""

    def __init__(self, initial: int = 0) -> None:
        self.initial = initial

    def check(self, history: Sequence[Event], context: Mapping[str, Any]) -> dict[str, Any]:
        return check_counter(history, context.get("initial", self.initial))
