"""Linearizability search for one part: Wing & Gong's algorithm with Lowe's memoisation.

The completed ops of a part become a doubly linked list of call and return entries in
real-time order. The ops called before the first remaining return entry form the window: the
only ops that may be linearized next. The search tries them one by one (apply the model; if
legal and the configuration is new, lift the op's entries out of the list and go deeper);
when none works, the op owning that first return entry (the blocker) has missed its deadline
and the search backtracks. A configuration is (set of linearized ops, model state); Lowe's
observation is that a configuration seen once need never be explored again. The set is
Python ints: a bitset of completed ops relative to the longest fully linearized prefix (so it
stays as small as the frontier however long the history), and a bitset of indeterminate ops.

What makes it fast, each sound on its own:
- order: read-only ops first, then earliest deadline first, indeterminate ops last. A
  state-changing op with a long window tried early is how plain WGL wanders into huge doomed
  subtrees; the op that must happen soonest is the best first guess.
- forced moves: a legal read-only op (legal => state unchanged) can always go first, so when
  the configuration after it fails, the one before it has failed too: no alternatives tried.
- dead ends: the model may say that a pending op can never become legal whatever the ops
  that may still precede it do (a read of 5 when nobody pending writes 5); the configuration
  is then abandoned before its subtree is searched.

Indeterminate ops (info, or never completed) have no return entry: they may be linearized
anywhere after their call, or never, and the part is linearizable as soon as every completed
op is. They are optional, which allows two more prunings:
- dominance: linearizing one that leaves the state unchanged only removes options, so it is
  never tried; nor is one followed directly by a blind op (a write), which would undo it; a
  run of them is only used just in time, when the completed op after it ends in a state it
  could not reach without the run, and never comes back to a state it passed through; and a
  configuration that has the same completed ops and state as one seen before, but more
  optional ops used, is pruned;
- symmetry: ones with the same function and input are interchangeable once called, so only
  the earliest-called unlinearized one of each such group is offered.
(The model also drops, before the search, the ones no linearization can need.)

Budgets: a deadline (time) and a memory cap, charged per memoised configuration. Either one
ends the search with "unknown"; neither can end in an out-of-memory crash.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from checkers.model import Model
from checkers.operations import Op

# A memoised configuration costs a set slot, a 4-tuple, three small ints and a share of a state,
# plus the bytes of its bitsets (counted as it is stored): the memory budget's unit.
CONFIG_BYTES = 200
DEFAULT_MEMORY_LIMIT = 1 << 30
_CLOCK_EVERY = 1 << 12
SEARCH_BUDGET = "configuration budget"
# Parts of at least this many ops are first searched without dead-end tests (see check_part),
# with this many configurations per op.
PLAIN_FIRST_OPS = 1000
PLAIN_CONFIGURATIONS_PER_OP = 2
# How many sets of optional ops per (completed ops, state) the dominance test compares with.
_DOMINATORS = 4


@dataclass(slots=True)
class Budget:
    """What one check may spend: a monotonic deadline (None: none), a memory limit in bytes, and
    optionally a number of configurations (for callers that share time among several parts).
    `progress`, if given, is called now and then with the configurations stored so far."""

    deadline: float | None = None
    memory_limit: int = DEFAULT_MEMORY_LIMIT
    max_configurations: int | None = None
    progress: Callable[[int], None] | None = None


@dataclass(slots=True)
class Blocked:
    """Where the deepest failed attempt got stuck; the raw material of a counterexample."""

    op: Op
    prefix: list[Op]
    states: set[Any]
    candidates: list[Op]


@dataclass(slots=True)
class PartResult:
    """The verdict for one independent part of a history."""

    valid: bool | str
    reason: str | None = None
    configurations: int = 0
    linearization: list[Op] = field(default_factory=list)
    blocked: Blocked | None = None


def check_part(
    ops: Sequence[Op], model: Model, budget: Budget | None = None, init: Any = None, relaxed: bool = False
) -> PartResult:
    """Decide whether one part (ops that share no state with other parts) is linearizable.

    `init` is the state to start from; None means the model's initial state. `relaxed` lets
    each indeterminate op take effect any number of times: a weaker check, so only its "not
    linearizable" is conclusive (used to refute windows, see `checkers.refute`), but a much
    smaller search, since which optional ops were used no longer matters. It is meant for
    models with finitely many states (`Model.possible_states`): with an append, reusing an
    op could grow the state without end, and only a budget would stop the search.
    """
    budget = budget or Budget()
    kept = model.essential(ops)
    searched = kept if any(op.completed for op in kept) else []
    # The search builds a transition for each op it keeps, which rejects ops this model cannot
    # interpret; a trial step does the same for the others, so a malformed op is an error
    # (HistoryError naming the event) even where the search would not have needed it.
    if len(searched) < len(ops):
        probe = model.init()
        kept_ids = {id(op) for op in searched}
        for op in ops:
            if id(op) not in kept_ids:
                model.step(probe, op)
    if not searched:
        return PartResult(True)
    start = model.init() if init is None else init
    tried = 0
    if len(searched) >= PLAIN_FIRST_OPS:
        # Most long parts of a valid history linearize in about one configuration per op, and
        # for them the dead-end tests cost more to build than they save. So a plain search (a
        # pruning less, the same verdict) gets a budget of a few configurations per op, and
        # only a part it does not show linearizable is searched again, with every pruning and
        # exactly as before, so counterexamples and refutations are unchanged.
        cap = PLAIN_CONFIGURATIONS_PER_OP * len(searched) + 1000
        if budget.max_configurations is not None:
            cap = min(cap, budget.max_configurations)
        plain = Budget(budget.deadline, budget.memory_limit, cap, budget.progress)
        first = _Search(searched, model, plain).run(start, relaxed, dead_ends=False)
        if first.valid is True:
            return first
        tried = first.configurations
    r = _Search(searched, model, budget).run(start, relaxed)
    r.configurations += tried
    return r


def _with_prefix(blocked: Blocked | None, ops: list[Op], prefix: list[int]) -> Blocked | None:
    """`blocked` with the deepest attempt's prefix filled in, as it leaves the search."""
    if blocked is not None:
        blocked.prefix = [ops[i] for i in prefix]
    return blocked


class _Search:
    """The state of one search; a class only to keep the set-up apart from the hot loop."""

    def __init__(self, ops: list[Op], model: Model, budget: Budget) -> None:
        self.ops = ops
        self.model = model
        self.budget = budget
        self.trans = [model.transition(op) for op in ops]
        # The linked list holds the call and return entries of completed ops, sorted by time; at
        # equal times calls come first, which makes the ops concurrent: the permissive reading
        # of a tie. Indeterminate ops live apart, see `_groups`.
        self.completed = completed = [op.ret != math.inf for op in ops]
        entries = sorted(
            [(op.call, 0, i) for i, op in enumerate(ops) if completed[i]]
            + [(op.ret, 1, i) for i, op in enumerate(ops) if completed[i]]
        )
        m = len(entries)
        self.head = m
        self.node_op = [i for _, _, i in entries]
        self.node_time = [t for t, _, _ in entries]
        self.is_call = [kind == 0 for _, kind, _ in entries]
        self.nxt = [*range(1, m), -1, 0 if m else -1]
        self.prv = [m, *range(m - 1), -1]
        self.call_node = [-1] * len(ops)
        self.ret_node = [-1] * len(ops)
        for node, (_, kind, i) in enumerate(entries):
            if kind == 0:
                self.call_node[i] = node
            else:
                self.ret_node[i] = node
        self.group_of, self.members = self._groups()

    def _groups(self) -> tuple[list[int], list[list[int]]]:
        """Indeterminate ops with the same function, input and output, each sorted by call.

        They are interchangeable once called (each may go anywhere after its call, or never),
        so only the earliest-called unlinearized one of a group (its representative) is ever
        offered: the linearized ones are always a prefix of the group. With a small value
        domain this turns thousands of pending timed-out writes into a handful of candidates.
        """
        group_of = [-1] * len(self.ops)
        index: dict[Any, int] = {}
        members: list[list[int]] = []
        for i in sorted(range(len(self.ops)), key=lambda i: self.ops[i].call):
            if self.completed[i]:
                continue
            op = self.ops[i]
            try:
                sig: Any = (op.f, op.input, op.output)
                hash(sig)
            except TypeError:
                sig = ("unhashable", i)
            g = index.setdefault(sig, len(members))
            if g == len(members):
                members.append([])
            members[g].append(i)
            group_of[i] = g
        return group_of, members

    def run(self, init: Any, relaxed: bool, dead_ends: bool = True) -> PartResult:
        trans, node_op, is_call = self.trans, self.node_op, self.is_call
        nxt, prv, call_node, ret_node = self.nxt, self.prv, self.call_node, self.ret_node
        ops = self.ops
        completed = self.completed
        read_only = [self.model.is_read_only(op) for op in ops]
        blind = [self.model.is_blind(op) for op in ops]
        # Try order within a window: read-only ops first (a legal one is a forced move), then
        # earliest deadline first, indeterminate ops last (they are appended to the window).
        # An op with a long window tried early is the classic way WGL wanders into huge doomed
        # subtrees; the op that must happen soonest is the best first guess.
        m = len(node_op)
        priority = [(0 if read_only[i] else m) + ret_node[i] for i in range(len(ops))]
        by_priority = priority.__getitem__
        # The set of linearized ops is three ints: completed ops are numbered in call order and
        # all those numbered below `base` are linearized, `rel` holds the rest shifted down by
        # `base`; `ibits` holds indeterminate ops. Completed ops all get linearized eventually,
        # so `base` advances and the ints stay as small as the search's frontier, instead of
        # growing with the history: a memoised configuration costs tens of bytes, not n/8.
        number = self._numbering()
        # Representatives of the indeterminate groups, as (call, op) sorted by call; `taken[g]`
        # counts the linearized members of group g.
        group_of, members = self.group_of, self.members
        calls = [op.call for op in ops]
        reps = sorted((calls[g[0]], g[0]) for g in members)
        taken = [0] * len(members)
        node_time = self.node_time
        dead_end = self._dead_ends(number) if dead_ends else [None] * len(ops)
        doomed = -1
        head = self.head
        deadline = self.budget.deadline
        progress = self.budget.progress
        # A floor, so that tiny parts always finish: the cap is there for the huge ones.
        memory_left = max(self.budget.memory_limit, 1024 * CONFIG_BYTES)
        configs_left = self.budget.max_configurations or -1  # counts down; -1 never reaches 0
        total = sum(completed)
        remaining = total
        state = init
        base = rel = ibits = 0
        # Frames: the op linearized, what it changed (state, base, rel, ibits before it), the
        # window it was chosen from, the next index to try there, that window's blocker.
        stack: list[tuple[int, Any, int, int, int, list[int], int, int]] = []
        cache: set[tuple[int, int, int, Any]] = set()
        fewest: dict[tuple[int, int, Any], list[int]] = {}
        stored = 0
        best = -1
        blocked: Blocked | None = None
        # The deepest attempt's prefix, as op indices. Copying the stack at each new best would
        # be quadratic on a long history, so only the part above `low` (the lowest the stack
        # has been since the last copy) is copied again.
        best_prefix: list[int] = []
        low = 0
        # For each op, the states it was found stuck in: what the system could have held when
        # the op had to take effect. Reported for the op the deepest attempt stuck on.
        stuck: list[set[Any] | None] = [None] * len(ops)
        countdown = _CLOCK_EVERY
        late = len(ops)  # sorts after every op index in a (time, op) pair
        window, blocker = self._window(by_priority)
        if reps:
            window += [r[1] for r in reps[: bisect_right(reps, (node_time[blocker], late))]]
        tried = 0
        while True:
            countdown -= 1
            if not countdown:
                countdown = _CLOCK_EVERY
                if progress is not None:
                    progress(stored)
                if deadline is not None and time.monotonic() > deadline:
                    return PartResult("unknown", "time limit", stored, blocked=_with_prefix(blocked, ops, best_prefix))
            # After an optional op, a blind one would make it wasted: the same state is reached
            # without it (and with it still available) by the sibling branch that skips it.
            after_optional = bool(stack) and not completed[stack[-1][0]]
            for k in range(tried, len(window)):
                i = window[k]
                if after_optional and blind[i]:
                    continue
                new = trans[i](state)
                if new is None:
                    continue
                n = number[i]
                if completed[i]:
                    if after_optional:
                        # Optional ops are used just in time: a run of them before this op is
                        # wasted if the op would reach the same state without it.
                        j = len(stack) - 1
                        while j > 0 and not completed[stack[j - 1][0]]:
                            j -= 1
                        if trans[i](stack[j][1]) == new:
                            continue
                    n -= base
                    nrel = rel | (1 << n)
                    nbase = base
                    if not n:
                        t = ((nrel + 1) & ~nrel).bit_length() - 1  # trailing ones
                        nrel >>= t
                        nbase += t
                    nibits = ibits
                else:
                    if new == state:
                        continue
                    # A run of optional ops that comes back to a state it passed through was
                    # wasted: the configuration then is the earlier one with fewer options.
                    j = len(stack) - 1
                    while j >= 0 and not completed[stack[j][0]] and stack[j][1] != new:
                        j -= 1
                    if j >= 0 and not completed[stack[j][0]]:
                        continue
                    nbase, nrel, nibits = base, rel, ibits if relaxed else ibits | (1 << n)
                # Memo with dominance: a configuration is pruned if it was seen, or if the same
                # completed ops and state were reached with a subset of its optional ops (more
                # options left). The subset test looks at a few earlier optional sets only.
                config = (nbase, nrel, nibits, new)
                if config in cache:
                    continue
                if nibits:
                    key = (nbase, nrel, new)
                    seen = fewest.get(key)
                    if seen is None:
                        fewest[key] = [nibits]
                    elif any(not old & ~nibits for old in seen):
                        continue
                    elif len(seen) < _DOMINATORS:
                        seen.append(nibits)
                else:
                    fewest[(nbase, nrel, new)] = [0]
                cache.add(config)
                stored += 1
                memory_left -= CONFIG_BYTES + (nrel.bit_length() + nibits.bit_length()) // 8
                if memory_left < 0:
                    return PartResult(
                        "unknown", "memory limit", stored, blocked=_with_prefix(blocked, ops, best_prefix)
                    )
                configs_left -= 1
                if not configs_left:
                    return PartResult("unknown", SEARCH_BUDGET, stored, blocked=_with_prefix(blocked, ops, best_prefix))
                stack.append((i, state, base, rel, ibits, window, k + 1, blocker))
                base, rel, ibits, state = nbase, nrel, nibits, new
                if completed[i]:
                    node = call_node[i]
                    p, q = prv[node], nxt[node]
                    nxt[p] = q
                    if q >= 0:
                        prv[q] = p
                    node = ret_node[i]
                    p, q = prv[node], nxt[node]
                    nxt[p] = q
                    if q >= 0:
                        prv[q] = p
                    remaining -= 1
                    if not remaining:
                        return PartResult(True, None, stored, linearization=[ops[f[0]] for f in stack])
                elif not relaxed:
                    g = group_of[i]
                    del reps[bisect_left(reps, (calls[i], i))]
                    taken[g] += 1
                    if taken[g] < len(members[g]):
                        j = members[g][taken[g]]
                        insort(reps, (calls[j], j))
                break
            else:
                # Nothing in the window can go next: the blocker's deadline is missed (or a
                # dead-end test showed that some other pending op's will be).
                done = total - remaining
                x = node_op[blocker] if doomed < 0 else doomed
                doomed = -1
                if done > best:
                    best = done
                    del best_prefix[low:]
                    best_prefix.extend(f[0] for f in stack[low:])
                    low = len(stack)
                    blocked = Blocked(ops[x], [], set(), [ops[i] for i in window])
                stuck_at = stuck[x]
                if stuck_at is None:
                    stuck[x] = {state}
                else:
                    stuck_at.add(state)
                while True:
                    if not stack:
                        assert blocked is not None
                        blocked.states = stuck[ops.index(blocked.op)] or set()
                        return PartResult(
                            False, "not linearizable", stored, blocked=_with_prefix(blocked, ops, best_prefix)
                        )
                    i, state, base, rel, ibits, window, tried, blocker = stack.pop()
                    if len(stack) < low:
                        low = len(stack)
                    if completed[i]:
                        node = ret_node[i]
                        p, q = prv[node], nxt[node]
                        nxt[p] = node
                        if q >= 0:
                            prv[q] = node
                        remaining += 1
                        node = call_node[i]
                        p, q = prv[node], nxt[node]
                        nxt[p] = node
                        if q >= 0:
                            prv[q] = node
                    elif not relaxed:
                        g = group_of[i]
                        if taken[g] < len(members[g]):
                            j = members[g][taken[g]]
                            del reps[bisect_left(reps, (calls[j], j))]
                        taken[g] -= 1
                        insort(reps, (calls[i], i))
                    # A read-only op (one that, when legal, never changes the state) was a
                    # forced move: had any continuation worked, the same one with that op moved
                    # first would have. Its failure is the failure of the configuration before.
                    if not read_only[i]:
                        break
                continue
            # The new window: the ops called before the first pending return (the blocker's),
            # indeterminate representatives last.
            window = []
            node = nxt[head]
            while is_call[node]:
                window.append(node_op[node])
                node = nxt[node]
            window.sort(key=by_priority)
            blocker = node
            if reps:
                window += [r[1] for r in reps[: bisect_right(reps, (node_time[node], late))]]
            tried = 0
            # A pending op that can never become legal dooms the configuration. Read-only ops
            # come first in the window; checking them and the first other op is enough to catch
            # most dead ends without paying for a test of every pending op.
            for i in window:
                test = dead_end[i]
                if test is not None and test[0](state):
                    sources, isources = test[1], test[2]
                    if not isources & ~ibits and all(c < base or (rel >> (c - base)) & 1 for c in sources):
                        tried = len(window)
                        doomed = i
                        break
                if not read_only[i]:
                    break

    def _numbering(self) -> list[int]:
        """Each op's bit: completed ops count up in call order, indeterminate ops separately."""
        number = [0] * len(self.ops)
        counts = [0, 0]
        calls = [op.call for op in self.ops]
        for i in sorted(range(len(self.ops)), key=calls.__getitem__):
            kind = 0 if self.completed[i] else 1
            number[i] = counts[kind]
            counts[kind] += 1
        return number

    def _dead_ends(self, number: list[int]) -> list[tuple[Any, tuple[int, ...], int] | None]:
        """The model's dead-end tests, with sources split into completed numbers and a bitset
        of indeterminate ones. Only an op that must be linearized can doom a configuration."""
        tests: list[tuple[Any, tuple[int, ...], int] | None] = []
        for i, test in zip(range(len(self.ops)), self.model.dead_ends(self.ops), strict=True):
            if test is None or not self.completed[i]:
                tests.append(None)
                continue
            unusable, sources = test
            imask = 0
            for j in sources:
                if not self.completed[j]:
                    imask |= 1 << number[j]
            tests.append((unusable, tuple(number[j] for j in sources if self.completed[j]), imask))
        return tests

    def _window(self, by_priority: Any) -> tuple[list[int], int]:
        """The ops that may go first, in try order, and the return entry that bounds them.

        The search loop has an inlined copy of this for speed; this one starts it.
        """
        window = []
        node = self.nxt[self.head]
        while self.is_call[node]:
            window.append(self.node_op[node])
            node = self.nxt[node]
        window.sort(key=by_priority)
        return window, node
