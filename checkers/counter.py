"""The counter checker: every read lies between what must and what may have been added.

Operations: `add` (value: a positive delta) and `read` (an ok completion's value: the counter,
null before any add). A read that began after some adds were acknowledged must include them (its
lower bound); it cannot include adds invoked after it returned (its upper bound counts every add,
acknowledged or not, invoked before it returned). A failed add did not happen and counts in
neither bound. This is Jepsen's counter checker; it needs no model search.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import Event
from checkers.intervals import intervals

SHOWN = 10


def check_counter(events: Sequence[Event]) -> dict[str, Any]:
    ops = intervals(events)
    adds = [op for op in ops if op.f == "add" and op.type != "fail"]
    for op in adds:
        delta = op.invoke.value
        if isinstance(delta, bool) or not isinstance(delta, int | float) or delta < 0:
            return {"valid": "unknown", "reason": f"event {op.invoke.index}: add of {delta!r}; the counter checker "
                    "needs non-negative numbers"}
    # Prefix sums by time: acknowledged adds by completion, attempted adds by invocation.
    acked = sorted((op.end, op.invoke.value) for op in adds if op.type == "ok")
    attempted = sorted((op.start, op.invoke.value) for op in adds)
    acked_times, acked_sums = _prefix(acked)
    tried_times, tried_sums = _prefix(attempted)
    errors = []
    reads = [op for op in ops if op.f == "read" and op.type == "ok"]
    for r in reads:
        value = 0 if r.value is None else r.value
        lower = acked_sums[bisect.bisect_left(acked_times, r.start)]
        upper = tried_sums[bisect.bisect_right(tried_times, r.end)]
        if isinstance(value, bool) or not isinstance(value, int | float) or not lower <= value <= upper:
            errors.append({"index": r.complete.index, "node": r.complete.node, "value": r.value,
                           "lower": lower, "upper": upper})
    result: dict[str, Any] = {"valid": not errors, "reads": len(reads), "adds": len(adds),
                              "acknowledged_total": acked_sums[-1], "attempted_total": tried_sums[-1],
                              "error_count": len(errors)}
    if errors:
        e = errors[0]
        result["errors"] = errors[:SHOWN]
        result["message"] = (f"{len(errors)} read(s) out of bounds, e.g. the read at event {e['index']} returned "
                             f"{e['value']!r} where acknowledged adds before it make at least {e['lower']} and "
                             f"adds invoked before it returned make at most {e['upper']}")
    return result


def _prefix(timed: list[tuple[float, Any]]) -> tuple[list[float], list[float]]:
    """Times and the running sum up to each (sums[i] = total of the first i)."""
    times, sums = [t for t, _ in timed], [0]
    for _, v in timed:
        sums.append(sums[-1] + v)
    return times, sums


class CounterChecker:
    def check(self, history: Sequence[Event], context: Mapping[str, Any]) -> dict[str, Any]:
        return check_counter(history)
