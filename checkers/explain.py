"""Why a history is not linearizable, in terms a person can check by hand.

A bare "false" after a long Jepsen run is useless. The search knows where its deepest attempt
got stuck (see `search.Blocked`): an op that is illegal in every state the object could hold
when it had to take effect. This module turns that into something a reader can verify:

- `counterexample`: the stuck op, the states it contradicts, the longest linearizable prefix and
  what was tried, every op with its event index and the node that served it;
- `shrink`: a small core of the history that fails *for the same reason* (see `Reason`). A core
  that is merely "still not linearizable" can mislead: a stale read of 3 would shrink to the read
  plus a *later* write of 3, which is invalid only because 3 had not been written yet;
- `explain`: each op of the core with its part in the story (the write of the value a read
  returned, the write that replaced it and returned before the read began, ...);
- `add_faults`: the nemesis faults in place while that story happened.

Everything is keyed by event index, so the report draws what the checker found instead of
re-deriving it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from checkers.faults import FaultWindow, fault_windows, is_fault_event
from checkers.history import Event
from checkers.model import Model
from checkers.operations import NIL, UNKNOWN, Op, jsonable
from checkers.search import Blocked, Budget, PartResult, check_part

PREFIX_SHOWN = 50
STATES_SHOWN = 20
EXPLAIN_SECONDS = 2.0  # for re-checking a core that shrinking left large (it ran out of time)
UNPAIRED_SHOWN = 20
WINDOW_STATES_TRIED = 64  # starting states tried for a window whose last op's return is the failure


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
            outcomes[_show(model.describe_state(s))] = "illegal" if new is None else model.describe_state(new)
        tried.append({"op": model.describe_op(op), "index": op.event_index, "node": op.node, "from_state": outcomes})
    shown = blocked.prefix[-PREFIX_SHOWN:]
    desc = model.describe_op(blocked.op)
    state_list = ", ".join(_show(model.describe_state(s)) for s in states)
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
        "prefix": [describe(model, op) for op in shown],
        "prefix_truncated": len(blocked.prefix) > len(shown),
        "states": [model.describe_state(s) for s in states],
        "states_total": len(all_states),
        "tried": tried,
    }


def _check(ops: Sequence[Op], model: Model, budget: Budget, init: Any, relaxed: bool) -> PartResult:
    # Only essential ops go in, so check_part never has to drop any (and searches from `init`).
    return check_part(model.essential(ops), model, budget, init, relaxed)


def _hopeless(ops: Sequence[Op], model: Model, init: Any) -> set[int]:
    """Ids of the completed ops of `ops` that no op that may precede them could make legal, from `init`.

    A read of 3 is hopeless when nothing called before it returned writes 3 and `init` is not 3.
    Real time is respected (ops called after an op returned cannot help it); the model's dead-end
    tests decide, on a copy of the ops with times erased so that every other op counts as a
    possible source. An op without a test is never hopeless.
    """
    ops = model.essential(ops)
    timeless = [replace(op, call=0, ret=math.inf) for op in ops]
    out = set()
    for op, test in zip(ops, model.dead_ends(timeless), strict=True):
        if test is not None and op.completed and test[0](init) and all(ops[j].call > op.ret for j in test[1]):
            out.add(op.id)
    return out


@dataclass(slots=True)
class Reason:
    """Why a part is not linearizable, in the form a shrunk core must keep.

    The core fails from every starting state, and the search gets stuck on the same op as in
    the original (`stuck`, op ids; None when the search's choice is not the point, see
    `settled`). No op is hopeless in the core that was not in the original (`hopeless`, per
    starting state): so a stale read stays a stale read, keeping a write of the value read
    (called before the read returned) and the writes that rule it out, and no other op of the
    core fails merely because the core dropped the write it needed. `settled`: the op's own
    return is what breaks the ops (left open, they are linearizable), and must stay so.
    """

    op: Op
    starts: list[Any]
    stuck: list[int] | None
    hopeless: list[set[int]]
    settled: bool = False

    @classmethod
    def find(
        cls,
        ops: Sequence[Op],
        model: Model,
        starts: list[Any],
        relaxed: bool,
        budget: Budget,
        target: Op | None,
        blamed: bool = True,
    ) -> Reason | None:
        """The reason `ops` fail, or None if they do not (within budget), or not because of `target`:
        the search blames another op (`blamed`), or `target`'s return is not what breaks them."""
        stuck = []
        for init in starts:
            r = _check(ops, model, budget, init, relaxed)
            if r.valid is not False or r.blocked is None:
                return None
            stuck.append(r.blocked.op.id)
        if target is None:
            target = next(op for op in ops if op.id == stuck[0])
        if (stuck[0] if blamed else next((op.id for op in ops if op.id == target.id), None)) != target.id:
            return None
        settled = not relaxed and all(_check(_open(ops, target), model, budget, i, False).valid is True for i in starts)
        if not blamed and not settled:
            return None
        return cls(target, starts, stuck if blamed else None, [_hopeless(ops, model, i) for i in starts], settled)

    def holds(self, ops: Sequence[Op], model: Model, relaxed: bool, budget: Budget) -> bool:
        """Do `ops` fail for this reason? A check that runs out of budget counts as no."""
        if all(op.id != self.op.id for op in ops):
            return False
        for init, allowed in zip(self.starts, self.hopeless, strict=True):
            if not _hopeless(ops, model, init) <= allowed:
                return False
        for k, init in enumerate(self.starts):
            r = _check(ops, model, budget, init, relaxed)
            if r.valid is not False or r.blocked is None:
                return False
            if self.stuck is not None and r.blocked.op.id != self.stuck[k]:
                return False
            if self.settled and _check(_open(ops, self.op), model, budget, init, False).valid is not True:
                return False
        return True


def _open(ops: Sequence[Op], target: Op) -> list[Op]:
    """`ops` with `target` not yet returned (indeterminate, outcome unknown)."""
    return [replace(op, ret=math.inf, output=UNKNOWN, status="info") if op.id == target.id else op for op in ops]


def as_of(ops: Sequence[Op], t: float) -> list[Op]:
    """The ops as a checker would have seen them at event position `t`: those called by then, the
    ones that had not returned yet open (indeterminate, outcome unknown)."""
    return [
        replace(op, ret=math.inf, output=UNKNOWN, status="info") if op.ret > t else op for op in ops if op.call <= t
    ]


def first_failure(ops: Sequence[Op], model: Model, deadline: float | None) -> tuple[Op, PartResult] | None:
    """The op whose return first made a part non-linearizable, and the check of the part as it
    stood then; None if the time runs out first.

    The search blames the op whose deadline its deepest attempt missed, which can be a fine op
    that merely returned before the impossible one did (a read just before an impossible read;
    a read of the value an impossible cas wrote). The op whose return first makes the history
    impossible is the one a person means: the history as it stood when that op returned is not
    linearizable, and as it stood just before, it was. Linearizability is prefix-closed (cut a
    linearization after the last op returned by then), so bisection over return positions finds
    it in a few checks of prefixes of the part.
    """
    budget = Budget(deadline)
    rets = sorted(op.ret for op in ops if op.completed)

    def fails(t: float) -> PartResult | bool | None:
        r = _check(as_of(ops, t), model, budget, model.init(), False)
        return None if r.valid == "unknown" else r if r.valid is False else False

    if not rets:
        return None
    found = fails(rets[-1])
    if not isinstance(found, PartResult):
        return None
    lo, hi = 0, len(rets) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        r = fails(rets[mid])
        if r is None:
            return None
        if isinstance(r, PartResult):
            hi, found = mid, r
        else:
            lo = mid + 1
    return next(op for op in ops if op.ret == rets[lo]), found


@dataclass(slots=True)
class Culprit:
    """The op a counterexample explains, where the search got stuck on it, and the shrunk core.

    `blocked` comes from the search over the whole part, over the part as it stood when the op
    returned, or over the core alone (`note` then says so, and where the search over the whole
    part stopped instead). `core` is None if time ran out before the failure was reproduced."""

    blocked: Blocked
    core: Shrunk | None
    note: str | None = None


def culprit(
    ops: Sequence[Op],
    model: Model,
    blocked: Blocked,
    deadline: float | None,
    inits: Sequence[Any] | None = None,
    relaxed: bool = False,
) -> Culprit:
    """Find the op whose return made `ops` impossible (see `first_failure`) and shrink around it.

    Falls back to the search's own choice (`blocked`) when time runs out or the core cannot be
    made to fail on the culprit.
    """
    if relaxed and inits:
        return _window_culprit(ops, model, blocked, deadline, list(inits))
    # Half the time at most for finding the culprit, so a long part still gets a core.
    half = None if deadline is None else time.monotonic() + (deadline - time.monotonic()) / 2
    first = first_failure(ops, model, half)
    if first is not None:
        op, found = first
        if found.blocked is not None and found.blocked.op is op:
            core = shrunk(ops, model, deadline, op, inits, relaxed)
            if core is not None:
                return Culprit(found.blocked, core)
        if op is not blocked.op:
            core = shrunk(ops, model, deadline, op, blamed=False)
            r = _check(core.ops, model, Budget(deadline), model.init(), False) if core else None
            if r is not None and r.valid is False and r.blocked is not None and r.blocked.op.id == op.id:
                note = (
                    f"found in the shrunk core: over the whole history the search's deepest attempt stopped at "
                    f"{model.describe_op(blocked.op)} (event {blocked.op.event_index}), which returned before "
                    f"this op did and is linearizable without it"
                )
                return Culprit(r.blocked, core, note)
    return Culprit(blocked, shrunk(ops, model, deadline, blocked.op, inits, relaxed))


def _window_culprit(
    ops: Sequence[Op], model: Model, blocked: Blocked, deadline: float | None, inits: list[Any]
) -> Culprit:
    """`culprit` for a window refuted from every state in `inits` (see `checkers.refute`).

    The window ends where the op the whole-history search got stuck on returned. If, with that
    op left open, the window is linearizable from some state, its return is what makes the
    window impossible from every state, and it is the op to explain. The search from the first
    state may have stopped at another op that is impossible from that state only (a read of a
    value the state rules out); the states are tried in turn for one whose search blames it.
    At most WINDOW_STATES_TRIED states are tried, those the window's early ops observed first.
    """
    budget = Budget(deadline)
    last = max((op for op in ops if op.completed), key=lambda o: o.ret, default=None)
    if last is not None and last is not blocked.op:
        for init in _likely_first(ops, inits)[:WINDOW_STATES_TRIED]:
            r = _check(_open(ops, last), model, budget, init, True)
            if r.valid == "unknown":
                break
            if r.valid is True:
                for k, start in enumerate(inits):
                    r = _check(ops, model, budget, start, True)
                    if r.valid == "unknown":
                        break
                    if r.valid is False and r.blocked is not None and r.blocked.op is last:
                        order = [start, *inits[:k], *inits[k + 1 :]]
                        core = shrunk(ops, model, deadline, last, order, True)
                        if core is not None:
                            return Culprit(r.blocked, core)
                        break
                break
    return Culprit(blocked, shrunk(ops, model, deadline, blocked.op, inits, True))


def _likely_first(ops: Sequence[Op], states: list[Any]) -> list[Any]:
    """`states` with those the window's early ops observed first (what a read returned, what a cas
    expected): the state the history really had when the window began is most likely among them."""
    observed: list[Any] = []
    for op in sorted(ops, key=lambda o: o.call):
        need = _needs(op) if op.f in ("read", "cas") else None
        if need is not None and need[0]:
            observed.append(NIL if need[1] is None else need[1])
    rank = {}
    for v in observed:
        for k, state in enumerate(states):
            if k not in rank and _equal(state, v):
                rank[k] = len(rank)
    return sorted(states, key=lambda state: rank.get(states.index(state), len(states)))


def shrink(
    ops: Sequence[Op],
    model: Model,
    deadline: float | None = None,
    blocked: Op | None = None,
    inits: Sequence[Any] | None = None,
    relaxed: bool = False,
    blamed: bool = True,
) -> list[Op]:
    """`shrunk`'s core, or the essential ops unshrunk if the failure could not be reproduced."""
    result = shrunk(ops, model, deadline, blocked, inits, relaxed, blamed)
    return result.ops if result is not None else model.essential(ops)


@dataclass(slots=True)
class Shrunk:
    """A core, and whether shrinking finished (1-minimal) or ran out of time."""

    ops: list[Op]
    minimal: bool


def shrunk(
    ops: Sequence[Op],
    model: Model,
    deadline: float | None = None,
    blocked: Op | None = None,
    inits: Sequence[Any] | None = None,
    relaxed: bool = False,
    blamed: bool = True,
) -> Shrunk | None:
    """A small sub-history that is not linearizable for the same reason (delta debugging over ops).

    First the ops are taken as they stood when the stuck op returned (ops called later dropped,
    ops that had not returned yet open: neither can have caused it), then only the last few
    (doubling until they fail the same way), then chunks of ops are dropped, last first, halving
    the chunk size, as long as the rest fails for the same `Reason`. The result
    is 1-minimal when the deadline allows: without any single op it is linearizable, or fails for
    another reason. None if the failure cannot be reproduced (on `blocked`, when given) within
    the deadline.

    `inits`: the sub-history must fail from each of these states (a window of a longer history,
    see `checkers.refute`); default: the model's initial state.
    `relaxed`: check as `search.check_part` does with it (for windows).
    `blamed`: the search must get stuck on `blocked`; if False, it is enough that `blocked`'s
    return is what makes the sub-history fail (see `Reason`).
    """
    core = model.essential(ops)
    budget = Budget(deadline)
    starts = list(inits) if inits else [model.init()]
    reason = None
    if blocked is not None:
        early = model.essential(as_of(core, blocked.ret))
        reason = Reason.find(early, model, starts, relaxed, budget, blocked, blamed)
        if reason is not None:
            core = early
    if reason is None and blamed:  # the search blamed an op that fails only with what came after it
        reason = Reason.find(core, model, starts, relaxed, budget, blocked)
    if reason is None:
        return None

    def still_bad(candidate: list[Op]) -> bool:
        return reason.holds(candidate, model, relaxed, budget)

    before = [op for op in core if op.call < reason.op.ret]
    if len(before) < len(core) and still_bad(before):
        core = before  # without `blocked` (tests), the ops called after the stuck op returned
    # The story is usually told by the ops just before the failing op: try the last 2, 4, 8, ...
    # ops first, so a long history is not whittled down a chunk at a time.
    k = 2
    while k < len(core):
        if deadline is not None and time.monotonic() > deadline:
            return Shrunk(core, False)
        if still_bad(core[-k:]):
            core = core[-k:]
            break
        k *= 2
    # Chunks are tried from the end: an op that needs another (a read of the value a write wrote)
    # comes after it, and must go first, or each pass could only drop the last link of a chain.
    chunk = max(1, len(core) // 2)
    while True:
        end = len(core)
        size = len(core)
        while end > 0:
            if deadline is not None and time.monotonic() > deadline:
                return Shrunk(core, False)
            start = max(0, end - chunk)
            candidate = core[:start] + core[end:]
            if candidate and still_bad(candidate):
                core = candidate
            end = start
        if chunk == 1 and len(core) == size:
            return Shrunk(core, True)  # a whole pass of single drops changed nothing: 1-minimal
        chunk = max(1, chunk // 2)


_NOTHING = object()


def _show(value: Any) -> str:
    return json.dumps(jsonable(value), default=str)


def _equal(a: Any, b: Any) -> bool:
    """The register's equality: 1 and True differ (JSON has both)."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _written(op: Op) -> Any:
    """The value a register op may write, or _NOTHING (reads, a cas that returned false)."""
    if op.f == "write":
        return op.input
    if op.f == "cas" and op.output is not False and isinstance(op.input, tuple) and len(op.input) == 2:
        return op.input[1]
    return _NOTHING


def _needs(op: Op) -> tuple[bool, Any] | None:
    """What a register op needs to find: (True, v) the value v; (False, v) any value but v."""
    if op.f == "read" and op.output is not UNKNOWN:
        return True, op.output
    if op.f == "cas" and isinstance(op.input, tuple) and len(op.input) == 2 and op.output in (True, False):
        return op.output is True, op.input[0]
    return None


def _when(op: Op, target: Op) -> str:
    if not op.completed:
        return "never returned"
    return "returned before it began" if op.ret < target.call else "overlapped it"


def _role(op: Op, target: Op, need: tuple[bool, Any] | None, sources_done: float) -> str:
    """What `op` contributes to the story of `target`, in the register's vocabulary where it applies."""
    noun = f"the {target.f}"
    written = _written(op)
    after = "; began after that value was written" if need and need[0] and op.call > sources_done else ""
    if written is not _NOTHING:
        verb = "wrote" if op.completed else "may have written"
        if op.f == "cas" and op.output is not True:
            verb += f" (had the value been {_show(op.input[0])})"
        if need is None:
            return f"{verb} {_show(written)}"
        if _equal(written, need[1]):
            return f"{verb} {_show(written)}, the value {noun} " + ("needs" if need[0] else "says was not there")
        return f"{verb} {_show(written)}, not {_show(need[1])}{after}"
    if op.f == "read" and op.output is not UNKNOWN:
        return f"read {_show(op.output)}{after}"
    if op.f == "cas" and op.output is False and isinstance(op.input, tuple) and len(op.input) == 2:
        return f"found the value was not {_show(op.input[0])}"
    return op.f


def explain(
    model: Model, core: Sequence[Op], target: Op, inits: Sequence[Any] | None = None, relaxed: bool = False
) -> dict[str, Any]:
    """The story of a core: what `target` needs, the states the other ops leave it, and each op's part.

    `contradicts` comes from checking the core alone: the states `target` was found stuck in
    (from every starting state, for a window). Empty, and the story says less, when a search ran
    out of time or stopped at another op: the states would then be a guess.
    """
    starts = list(inits) if inits else [model.init()]
    budget = Budget(time.monotonic() + EXPLAIN_SECONDS)
    found: set[Any] = set()
    for init in starts:
        r = _check(core, model, budget, init, relaxed)
        if r.valid is not False or r.blocked is None or r.blocked.op.id != target.id:
            found = set()
            break
        found |= r.blocked.states
    states = sorted(found, key=repr)
    need = _needs(target) if target.f in ("read", "cas") else None
    sources = [op for op in core if need and need[0] and _written(op) is not _NOTHING and _equal(_written(op), need[1])]
    sources_done = max((op.ret for op in sources if op.id != target.id), default=math.inf)
    because = []
    for op in sorted(core, key=lambda o: o.call):
        if op.id == target.id:
            continue
        d = describe(model, op)
        d["role"] = _role(op, target, need, sources_done)
        d["when"] = _when(op, target)
        because.append(d)
    shown = ", ".join(_show(model.describe_state(s)) for s in states[:STATES_SHOWN])
    if len(states) > STATES_SHOWN:
        shown += f", and {len(states) - STATES_SHOWN} more"
    if need is None:
        wants = "is illegal"
    elif need[0]:
        wants = f"needs {_show(need[1])}"
    else:
        wants = f"needs anything but {_show(need[1])}"
    start = ""
    if inits is not None:
        listed = ", ".join(_show(model.describe_state(s)) for s in starts[:STATES_SHOWN])
        start = f", starting from any of {listed}{', ...' if len(starts) > STATES_SHOWN else ''},"
    held = f" the object holds {shown} when it takes effect" if states else " it cannot take effect"
    return {
        "story": f"{model.describe_op(target)} {wants}, but in every order the {len(because)} ops below allow{start}"
        + held,
        "contradicts": [model.describe_state(s) for s in states[:STATES_SHOWN]],
        "because": because,
    }


def add_core(
    cex: dict[str, Any],
    model: Model,
    core: Shrunk | None,
    op: Op,
    inits: Sequence[Any] | None = None,
    relaxed: bool = False,
) -> None:
    """Put the shrunk core and its explanation into a counterexample, or a note saying why there is none."""
    if core is None:
        cex["core_note"] = "time ran out before the failure was reproduced on a smaller history: no core"
        return
    ops = sorted(core.ops, key=lambda o: o.call)
    cex["core"] = [describe(model, o) for o in ops]
    cex["core_minimal"] = core.minimal
    if not core.minimal:
        cex["core_note"] = "time ran out while shrinking: the core fails for the same reason but may not be minimal"
    cex["explanation"] = explain(model, ops, op, inits, relaxed)


def _overlaps(w: FaultWindow, start: int, end: int) -> bool:
    return w.started_at <= end and (w.ended_at is None or w.ended_at >= start)


def add_faults(result: dict[str, Any], events: Sequence[Event]) -> None:
    """Name, in each counterexample of `result`, the faults in place while its story happened.

    The story runs from the first op the counterexample names (its explanation, else the stuck
    op) to the return of the stuck op, or the call of the last op it names if that is later;
    `during_op` marks faults in place while the stuck op ran. Nemesis events up to its end that
    are not start/stop pairs are listed by index (`unpaired_nemesis_events`, the last few): what
    they did is unknown here, so the summary does not claim that no fault was in place.
    """
    cexes = [c for c in (result.get("counterexample"), *(result.get("failures") or ())) if isinstance(c, dict)]
    if not cexes:
        return
    windows = fault_windows(events)
    position = {e.index: pos for pos, e in enumerate(events)}
    for cex in {id(c): c for c in cexes}.values():
        call = position.get((cex.get("op") or {}).get("index"))
        if call is None:
            continue
        ret = next((p for p in range(call + 1, len(events)) if events[p].process == events[call].process), len(events))
        named = [d.get("index") for d in (cex.get("explanation") or {}).get("because") or ()]
        calls = [position[i] for i in named if i in position]
        start, end = min([call, *calls]), max([ret, *calls])
        unpaired = [e.index for e in events[: end + 1] if not e.is_client and not is_fault_event(e)]
        if unpaired:
            cex["unpaired_nemesis_events"] = unpaired[-UNPAIRED_SHOWN:]
        cex["faults"] = [
            {
                "name": w.name,
                "description": w.label,
                "from": w.started.index,
                "to": None if w.ended is None else w.ended.index,
                "during_op": _overlaps(w, call, ret),
            }
            for w in windows
            if _overlaps(w, start, end)
        ]
