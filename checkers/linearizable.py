"""The linearizability checker: split a history into independent parts and search each.

Linearizability is compositional (Herlihy & Wing; "P-compositionality" in Porcupine): a
history is linearizable iff the sub-history of every independent object is. Searching keys
one by one turns one exponential search over the whole history into many small ones, which
is what makes real Jepsen histories checkable at all.

The verdict is three-valued. "unknown" means a budget ran out before every part was decided;
the result then says which keys did finish, so a long run's time is not wholly wasted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from checkers.explain import add_core, counterexample, culprit
from checkers.model import Model
from checkers.operations import Op, jsonable
from checkers.progress import ProgressLine
from checkers.refute import Refutation, refute, sweep
from checkers.search import DEFAULT_MEMORY_LIMIT, SEARCH_BUDGET, Budget, PartResult, check_part
from checkers.workers import Dispatcher

SHRINK_SECONDS = 5.0
FIRST_ROUND_CONFIGURATIONS = 20_000
# What the searches of the one sweep per undecided part may spend, beyond its search-free
# smallest windows (about a second).
SWEEP_CONFIGURATIONS = 100_000


def part_key(ops: Sequence[Op]) -> Any:
    keys = {op.key for op in ops}
    return next(iter(keys)) if len(keys) == 1 else sorted(keys, key=repr)


def _failure(
    model: Model, key: Any, part: Sequence[Op], r: PartResult, deadline: float | None, shrink_it: bool
) -> dict[str, Any]:
    """The counterexample for a part found not linearizable, shrunk and explained if asked and time allows."""
    cex = counterexample(model, key, r.blocked) if r.blocked else {"key": jsonable(key)}
    if shrink_it and r.blocked:
        until = time.monotonic() + SHRINK_SECONDS
        if deadline is not None:
            until = min(until, deadline)
        found = culprit(part, model, r.blocked, until)
        blocked = found.blocked
        if blocked is not r.blocked:
            cex = counterexample(model, key, blocked)  # the op whose return made it impossible, not a bystander
            if found.note:
                cex["note"] = found.note
        add_core(cex, model, found.core, blocked.op)
    return cex


def _window_failure(
    model: Model, key: Any, refutation: Refutation, deadline: float | None, shrink_it: bool
) -> dict[str, Any]:
    """The counterexample for a part refuted by a window of it (see `checkers.refute`)."""
    blocked = refutation.result.blocked
    cex = counterexample(model, key, blocked) if blocked else {"key": jsonable(key)}
    cex["window"] = {
        "ops": len(refutation.ops),
        "from_states": [model.describe_state(s) for s in refutation.states],
        "note": "this window of the history is not linearizable from any state the ops before it can reach"
        + " (states that no op of the window can tell apart are shown by one of them)",
    }
    if shrink_it and blocked:
        until = time.monotonic() + SHRINK_SECONDS
        if deadline is not None:
            until = min(until, deadline)
        found = culprit(refutation.ops, model, blocked, until, refutation.states, True)
        if found.blocked is not blocked:
            window = cex["window"]
            cex = counterexample(model, key, found.blocked)  # the op whose return made the window impossible
            cex["window"] = window
        add_core(cex, model, found.core, found.blocked.op, refutation.states, True)
    return cex


@dataclass
class Step:
    """What one round did for one part; small and picklable, as it comes back from a worker.

    `outcome` is "valid", "failed" (with `failure`, the counterexample), "postponed" (the
    round's configuration budget ran out: try again with a bigger one) or "unknown" (`reason`).
    `deepest` is the completed ops of the deepest linearizable prefix, when the search got stuck.
    """

    outcome: str
    configurations: int = 0
    deepest: int | None = None
    reason: str | None = None
    failure: dict[str, Any] | None = None
    swept: bool = False  # the part's windows were all tried (`checkers.refute.sweep`)


def step_part(
    key: Any,
    part: Sequence[Op],
    model: Model,
    budget: Budget,
    shrink_it: bool,
    sweep_first: bool = True,
) -> Step:
    """Search one part within `budget`; if that is not enough, try to refute a window of it.

    The search may never get near the anomaly of a crowded part, so the first time it stalls
    (`sweep_first`) every small window is tried, before the windows where it got stuck (the
    sweep's are smaller); `Step.swept` tells the caller it was done.
    """
    deadline, memory_limit = budget.deadline, budget.memory_limit
    if deadline is not None and time.monotonic() > deadline:
        return Step("unknown", reason="time limit")
    r = check_part(part, model, budget)
    deepest = None if r.blocked is None else sum(op.completed for op in r.blocked.prefix)
    swept = False
    if r.valid == "unknown" and r.reason != "time limit" and r.blocked is not None:
        refutation = None
        if sweep_first:
            swept = True
            refutation = sweep(part, model, deadline, memory_limit, SWEEP_CONFIGURATIONS)
        if refutation is None:
            refutation = refute(part, model, r.blocked.op, deadline, memory_limit)
        if refutation is not None:
            failure = _window_failure(model, key, refutation, deadline, shrink_it)
            return Step("failed", r.configurations, deepest, failure=failure, swept=swept)
    if r.valid is True:
        return Step("valid", r.configurations, deepest)
    if r.reason == SEARCH_BUDGET:
        return Step("postponed", r.configurations, deepest, swept=swept)
    if r.valid == "unknown":
        return Step("unknown", r.configurations, deepest, r.reason, swept=swept)
    return Step("failed", r.configurations, deepest, failure=_failure(model, key, part, r, deadline, shrink_it))


def check_linearizable(
    ops: Sequence[Op],
    model: Model,
    time_limit: float | None = None,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    all_keys: bool = False,
    shrink_counterexample: bool = True,
    progress: ProgressLine | None = None,
    jobs: int = 1,
) -> dict[str, Any]:
    """Check `ops` against `model`, part by part, within the time and memory budget.

    Stops at the first part that is not linearizable unless `all_keys`. `memory_limit` (bytes)
    bounds the memo of each part's search; `time_limit` (seconds) bounds the whole check,
    shrinking included. A key left undecided is listed in "unknown_keys" with the reason and
    how far its search got: the most completed ops it linearized in one attempt, of how many.
    `jobs` is how many processes may search parts at once (see `checkers.workers`); the answer
    is the same for any number.
    """
    start = time.monotonic()
    deadline = None if time_limit is None else start + time_limit
    parts = sorted(model.partition(ops), key=len)
    keys = [part_key(part) for part in parts]
    result: dict[str, Any] = {
        "valid": True,
        "model": model.name,
        "ops": len(ops),
        "keys": len(parts),
        "failed_key": None,
        "counterexample": None,
        "finished_keys": [],
        "unknown_keys": [],
        "configurations": 0,
        "time_limit": time_limit,
        "memory_limit": memory_limit,
    }
    failures: dict[str, Any] = {}
    # The deepest linearizable prefix each key's search reached, kept across rounds.
    reached: dict[int, int] = {}
    # The parts already swept for a refuting window (see `checkers.refute.sweep`).
    swept: set[int] = set()

    def tick(stored: int) -> None:
        if progress is not None:
            progress.update(len(result["finished_keys"]), len(parts), result["configurations"] + stored)

    def work(i: int, round_budget: int, on_progress: Callable[[int], None] | None) -> Step:
        budget = Budget(deadline, memory_limit, round_budget, on_progress)
        # A forked worker sees `swept` as it was at the fork: at worst it sweeps a part again.
        return step_part(keys[i], parts[i], model, budget, shrink_counterexample, i not in swept)

    def give_up(i: int, reason: str | None) -> None:
        result["unknown_keys"].append(
            {
                "key": jsonable(keys[i]),
                "reason": reason,
                "completed_ops": sum(op.completed for op in parts[i]),
                "linearized": reached.get(i, 0),
            }
        )

    # Round-robin with growing configuration budgets: a key that is cheap to refute is found
    # before one that is expensive to refute eats the whole time limit, and easy keys finish
    # in the first round. Geometric growth bounds the repeated work to a small fraction.
    pending = list(range(len(parts)))
    round_budget = FIRST_ROUND_CONFIGURATIONS
    with Dispatcher(work, [len(p) for p in parts], jobs) as dispatcher:
        while pending:
            postponed = []
            with closing(dispatcher.round(pending, round_budget, tick if progress else None)) as steps:
                for i, step in steps:
                    if step is None:
                        step = Step("unknown", reason="worker process died (out of memory?)")
                    result["configurations"] += step.configurations
                    if step.swept:
                        swept.add(i)
                    if step.deepest is not None:
                        reached[i] = max(reached.get(i, 0), step.deepest)
                    if step.outcome == "postponed":
                        postponed.append(i)
                    elif step.outcome == "unknown":
                        give_up(i, step.reason)
                    else:
                        result["finished_keys"].append(jsonable(keys[i]))
                    if step.failure is not None:
                        failures[repr(jsonable(keys[i]))] = step.failure
                        if result["failed_key"] is None:
                            result["failed_key"] = jsonable(keys[i])
                            result["counterexample"] = step.failure
                    tick(0)
                    if failures and not all_keys:
                        break
            pending = [] if failures and not all_keys else postponed
            round_budget *= 8
    if failures:
        result["valid"] = False
        if all_keys:
            result["failures"] = list(failures.values())
    elif result["unknown_keys"]:
        result["valid"] = "unknown"
        result["reason"] = result["unknown_keys"][0]["reason"]
    return result
