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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from checkers.model import Model
from checkers.operations import Op
from checkers.search import Budget, PartResult, check_part

# How many completed ops the windows hold, tried in turn; each window check gets this many
# configurations per starting state.
WINDOW_SIZES = (8, 32, 128, 512)
WINDOW_CONFIGURATIONS = 50_000


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
        result = None
        for state in states:
            budget = Budget(deadline, memory_limit, WINDOW_CONFIGURATIONS)
            r = check_part(window, model, budget, init=state, relaxed=True)
            if r.valid is not False:
                result = None
                break
            result = result or r
        if result is not None:
            return Refutation(window, states, result)
        if size >= len(finished):
            break
    return None


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
