"""Why a history is not linearizable, in terms a person can act on.

A bare "false" after a long Jepsen run is useless. The search already knows where its deepest
attempt got stuck (see `search.Blocked`); this module renders that as JSON and shrinks
the failing part to a small core that is still not linearizable, so the anomaly can be read
in a dozen lines instead of a thousand.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from checkers.model import Model
from checkers.operations import Op, jsonable
from checkers.search import Blocked, Budget, check_part

PREFIX_SHOWN = 50
STATES_SHOWN = 20


def describe(model: Model, op: Op) -> dict[str, Any]:
    d = op.to_dict()
    d["description"] = model.describe_op(op)
    return d


def counterexample(model: Model, key: Any, blocked: Blocked) -> dict[str, Any]:
    """The op that cannot be linearized, the longest linearizable prefix, its states, and what was tried."""
    all_states = sorted(blocked.states, key=repr)
    states = all_states[:STATES_SHOWN]
    tried = []
    for op in blocked.candidates:
        step = model.transition(op)
        outcomes = {}
        for s in states:
            new = step(s)
            outcomes[repr(model.describe_state(s))] = "illegal" if new is None else model.describe_state(new)
        tried.append({"op": model.describe_op(op), "index": op.event_index, "from_state": outcomes})
    shown = blocked.prefix[-PREFIX_SHOWN:]
    desc = model.describe_op(blocked.op)
    state_list = ", ".join(repr(model.describe_state(s)) for s in states)
    if len(all_states) > len(states):
        state_list += f", and {len(all_states) - len(states)} more"
    return {
        "key": jsonable(key),
        "op": describe(model, blocked.op),
        "message": (
            f"{desc} cannot be linearized: it is illegal in every state the object could hold "
            f"before it returned ({state_list}), whatever the order of the {len(blocked.candidates)} "
            f"ops pending then; the longest linearizable prefix has {len(blocked.prefix)} ops"
        ),
        "prefix_length": len(blocked.prefix),
        "prefix": [model.describe_op(op) for op in shown],
        "prefix_truncated": len(blocked.prefix) > len(shown),
        "states": [model.describe_state(s) for s in states],
        "states_total": len(all_states),
        "tried": tried,
    }


def shrink(
    ops: Sequence[Op],
    model: Model,
    deadline: float | None = None,
    blocked: Op | None = None,
    inits: Sequence[Any] | None = None,
    relaxed: bool = False,
) -> list[Op]:
    """A small sub-history that is still not linearizable (delta debugging over ops).

    Chunks of ops are dropped, halving the chunk size, as long as the rest is still found not
    linearizable; a check that runs out of budget counts as "keep the chunk". The result is
    1-minimal when the deadline allows: dropping any single op makes it linearizable, or
    makes it trivially wrong.

    Trivially wrong means some op in it can never be legal, like a read of 2 with no write of
    2 left (the model's dead-end test on the initial state). Every stale read shrinks to that
    one read otherwise, which explains nothing; keeping the writes it saw tells the story.
    Histories that start out trivially wrong are shrunk without this rule.

    `inits`: the sub-history must stay non-linearizable from each of these states (a window
    of a longer history, see `checkers.refute`); default: the model's initial state.
    `relaxed`: check as `search.check_part` does with it (for windows).
    """
    core = model.essential(ops)
    budget = Budget(deadline)
    keep_explained = not trivially_wrong(core, model)

    def still_bad(candidate: list[Op]) -> bool:
        if keep_explained and trivially_wrong(candidate, model):
            return False
        return all(check_part(candidate, model, budget, init, relaxed).valid is False for init in inits or [None])

    if blocked is not None and blocked.completed:
        before = [op for op in core if op.call < blocked.ret]
        if len(before) < len(core) and still_bad(before):
            core = before
    chunk = max(1, len(core) // 2)
    while True:
        i = 0
        size = len(core)
        while i < len(core):
            if deadline is not None and time.monotonic() > deadline:
                return core
            candidate = core[:i] + core[i + chunk :]
            if candidate and still_bad(candidate):
                core = candidate
            else:
                i += chunk
        if chunk == 1 and len(core) == size:
            return core  # a whole pass of single drops changed nothing: 1-minimal
        chunk = max(1, chunk // 2)


def trivially_wrong(ops: Sequence[Op], model: Model) -> bool:
    """Does some op fail the model's dead-end test before anything has happened?

    The tests are built for the search, where ops that returned before an op was called are
    already linearized; here every op is made concurrent with every other, so a test fires only
    if no op at all could help (a read of 2 with no write of 2 anywhere).
    """
    ops = model.essential(ops)
    timeless = [replace(op, call=0, ret=math.inf) for op in ops]
    init = model.init()
    return any(
        test is not None and op.completed and not test[1] and test[0](init)
        for op, test in zip(ops, model.dead_ends(timeless), strict=True)
    )
