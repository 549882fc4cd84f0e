"""Refuting a long history by a short window of it.

To prove a part not linearizable the search must rule out every configuration that leads to
the anomaly; with many timed-out ops and a small value domain, a stale read at the end of a
long run can take more configurations than any budget allows, although the anomaly itself is
a dozen ops. So when the search runs out of budget, the window of history just before the op
it got stuck on is checked on its own, from every state the model says the earlier history
could have left behind (`Model.possible_states_at`: for a register, only the values of the
writes that may be the last before the window, not every value ever written).

The window is a relaxation of the history, so its failure is the history's failure: if the
history has a linearization L, cut L where the window starts. The state there is one of the
possible states. Completed ops that ended before the window are in the part of L before the
cut; ops that span the window's start may be on either side, so in the window they are
optional (indeterminate); so are ops still open at its end, and indeterminate ops from before
it (if L placed them before the cut, the window may simply not use them). The rest of L is
then a linearization of the window. No linearization of the window from any possible state
means no linearization of the history. The window is even checked letting indeterminate ops
take effect any number of times (`relaxed`), a further relaxation that keeps the search small
when a run has left hundreds of timed-out ops behind.

`refute` looks where the search got stuck; in a crowded history (tens of processes, many
timed-out ops) the search may never get near the anomaly, so `sweep` looks everywhere instead:
a window of the last k completed ops ending at every completed op's return, small windows
first, each from the states `Model.window_states` gives (one per class the window cannot tell
apart). A window whose completed ops, taken in return order, are legal from some state is
linearizable from it, so most windows are dismissed without a search.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import Any

from checkers.model import Model
from checkers.operations import Op
from checkers.search import Budget, PartResult, check_part

# How many completed ops the windows hold, tried in turn; each window check gets this many
# configurations per starting state.
WINDOW_SIZES = (8, 32, 128, 512)
WINDOW_CONFIGURATIONS = 50_000
# The sweep: window sizes in completed ops, each swept over the whole part before the next, and
# configurations per window search (a crowded window that needs more is left to the others).
SWEEP_SIZES = (1, 4)
SWEEP_CONFIGURATIONS = 500
_CLOCK_EVERY = 64


@dataclass(slots=True)
class Refutation:
    """A window of the history that is not linearizable from any state the history can reach."""

    ops: list[Op]
    states: list[Any]
    result: PartResult


def refute(ops: Sequence[Op], model: Model, stuck: Op, deadline: float | None, memory_limit: int) -> Refutation | None:
    """Try windows that end where `stuck` returned; None if none of them settles it."""
    if not stuck.completed or not model.possible_states(ops):
        return None
    end = stuck.ret
    finished = sorted((op for op in ops if op.completed and op.ret <= end), key=lambda op: op.ret)
    for size in WINDOW_SIZES:
        start = min(op.call for op in finished[-size:])
        states = model.possible_states_at(ops, start)
        if not states:
            return None
        window = _window(ops, start, end)
        result, _ = _refuted_from_every(window, model, states, Budget(deadline, memory_limit, WINDOW_CONFIGURATIONS))
        if result is not None:
            return Refutation(window, states, result)
        if size >= len(finished):
            break
    return None


def _refuted_from_every(
    window: Sequence[Op], model: Model, states: Sequence[Any], budget: Budget
) -> tuple[PartResult | None, int]:
    """The relaxed search's refutation of `window` from the first state, if it is refuted from
    every one of `states` (each search with `budget`); and the configurations spent."""
    first, spent = None, 0
    for state in states:
        r = check_part(window, model, budget, init=state, relaxed=True)
        spent += r.configurations
        if r.valid is not False:
            return None, spent
        first = first or r
    return first, spent


def _window(ops: Sequence[Op], start: float, end: float) -> list[Op]:
    """The ops that matter between `start` and `end`, with the uncertain ones made optional."""
    window = []
    for op in ops:
        if op.call > end or (op.completed and op.ret < start):
            continue
        if op.completed and (op.call < start or op.ret > end):
            op = replace(op, ret=math.inf, status="info")
        window.append(op)
    return window


def sweep(
    ops: Sequence[Op], model: Model, deadline: float | None, memory_limit: int, max_configurations: int
) -> Refutation | None:
    """A window anywhere in `ops` that refutes it, small windows first; None if none is found
    before `deadline` or before the searches have spent `max_configurations` in all.

    Windows end where an op that is not blind (a read, a cas) returned: a blind op is legal
    from any state, so a window it ends is refuted only through ops that end windows of their
    own. The smallest windows keep only that op completed and make every op overlapping it
    optional (a further relaxation); whether such a window is linearizable is a closure of
    states, `_plainly_linearizable` decides it exactly, and no search is needed.
    """
    states_at = model.window_states(ops)
    if states_at is None:
        return None
    timeline = _Timeline(ops)
    pending_for = model.pending_for_windows([op for op in ops if not op.completed])
    finished = sorted((op for op in ops if op.completed), key=lambda op: op.ret)
    ends = [k for k, op in enumerate(finished) if not model.is_blind(op)]
    spent = 0
    countdown = _CLOCK_EVERY
    for size in SWEEP_SIZES:
        for last in ends:
            countdown -= 1
            if not countdown:
                countdown = _CLOCK_EVERY
                if deadline is not None and time.monotonic() > deadline:
                    return None
            end = finished[last].ret
            start = min(op.call for op in finished[max(0, last - size + 1) : last + 1])
            window = timeline.window(start, end, finished[last] if size == 1 else None)
            window += pending_for(window, end)
            states = states_at(start, window)
            if not states or _plainly_linearizable(window, model, states):
                continue
            result, configurations = _refuted_from_every(
                window, model, states, Budget(deadline, memory_limit, SWEEP_CONFIGURATIONS))
            spent += configurations
            if result is not None:
                return Refutation(window, states, result)
            if spent >= max_configurations:
                return None
    return None


def _plainly_linearizable(window: Sequence[Op], model: Model, states: Sequence[Any]) -> bool:
    """True if a simple witness shows the window linearizable (relaxed) from some state.

    The witness takes the completed ops in the order they returned, which respects real time,
    and before each one as many optional ops as it needs, each one called before that op
    returned (so any completed op that must precede it already has). The set of states such
    sequences reach is followed op by op, grown by a round of optional ops only when the next
    completed op is legal in none of them. Never wrong, but it may miss a linearization that
    orders concurrent completed ops otherwise; the search then decides.
    """
    done = sorted((op for op in window if op.completed), key=lambda op: op.ret)
    optional = sorted((op for op in window if not op.completed), key=lambda op: op.call)
    reached = set(states)
    for op in done:
        usable = [model.transition(o) for o in optional if o.call < op.ret]
        step = model.transition(op)
        while True:
            after = {t for t in map(step, reached) if t is not None}
            if after:
                break
            grown = reached | {t for f in usable for t in map(f, reached) if t is not None}
            if len(grown) == len(reached):
                return False
            reached = grown
        reached = after
    return True


class _Timeline:
    """The ops of a part indexed by call, to cut many windows from it (`_window`'s ops, fast).

    Indeterminate ops are the model's to choose (`Model.pending_for_windows`). Completed ops
    are kept in blocks of _BLOCK by call, each with its latest return, so a
    window skips the blocks that ended before it starts without looking at their ops, and
    starts at the first block that reaches it.
    """

    _BLOCK = 16

    def __init__(self, ops: Sequence[Op]) -> None:
        self.completed = sorted((op for op in ops if op.completed), key=lambda op: op.call)
        self.calls = [op.call for op in self.completed]
        b = self._BLOCK
        self.block_ret = [max(op.ret for op in self.completed[i : i + b]) for i in range(0, len(self.completed), b)]
        # The latest return up to each block: where the first block that reaches a window is.
        self.reach = list(accumulate(self.block_ret, max))
        # Each completed op's optional copy, made the first time a window needs it.
        self.optional: list[Op | None] = [None] * len(self.completed)

    def window(self, start: float, end: float, only: Op | None = None) -> list[Op]:
        """The completed ops of `_window(ops, start, end)`, those that span its ends made
        optional; with `only`, every op but that one optional."""
        window = []
        hi = bisect_right(self.calls, end)
        b = self._BLOCK
        for k in range(bisect_left(self.reach, start), (hi + b - 1) // b):
            if self.block_ret[k] < start:
                continue
            for i in range(k * b, min(k * b + b, hi)):
                op = self.completed[i]
                if op.ret < start:
                    continue
                if op.call < start or op.ret > end or (only is not None and op is not only):
                    copy = self.optional[i]
                    if copy is None:
                        copy = self.optional[i] = replace(op, ret=math.inf, status="info")
                    op = copy
                window.append(op)
        return window
