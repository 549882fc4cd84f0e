"""The sequential specification a history is checked against.

A model is a pure state machine: `step(state, op)` says what state a single, atomic execution
of `op` leads to, or None if `op` could not have returned what it did from `state`. States
must be hashable and compare by value, because the search memoises on them. Models are
stateless objects; the initial state is given when the model is built, so one model class
serves histories that start from nil, 0 or "".
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from checkers.operations import UNKNOWN, Op, jsonable

State = Hashable
Transition = Callable[[Any], Any]
DeadEnd = tuple[Callable[[Any], bool], tuple[int, ...]]


class Model:
    """Base class: subclasses define `name` and `step`, and may refine the rest for speed."""

    name = "model"

    def __init__(self, init: Any = None) -> None:
        self._init = init

    def init(self) -> State:
        return self._init

    def step(self, state: State, op: Op) -> State | None:
        raise NotImplementedError

    def transition(self, op: Op) -> Transition:
        """`step` with `op` fixed, called in the search's inner loop.

        Subclasses return a specialised closure: one call per try instead of a method call plus
        attribute look-ups and dispatch on `op.f`.
        """
        step = self.step
        return lambda state: step(state, op)

    def is_noop(self, op: Op) -> bool:
        """True if `op` is legal in every state and changes none (e.g. a read of unknown value).

        Such ops constrain nothing, so the checker drops them before searching.
        """
        return False

    def essential(self, ops: Sequence[Op]) -> list[Op]:
        """The ops a check of this part needs: some ops can be proven irrelevant up front.

        The default drops no-ops. Every op dropped must be one that some valid linearization
        can always do without, so the verdict is unchanged; each one dropped halves the work
        when the search has to backtrack over it.
        """
        return [op for op in ops if not self.is_noop(op)]

    def is_read_only(self, op: Op) -> bool:
        """True if `op`, wherever it is legal, leaves the state unchanged (a read, a failed cas).

        The search commits to such an op as soon as it is legal, without trying alternatives.
        A write of the current value is not read-only: elsewhere it changes the state.
        """
        return False

    def dead_ends(self, ops: Sequence[Op]) -> list[DeadEnd | None]:
        """Optional quick tests, one per op of a part, that the op can no longer become legal.

        A test is a pair (unusable, sources): in a state where `unusable(state)` is true the op
        cannot go, and only the ops in `sources` (indices into `ops`) could turn such a state
        into a usable one before the op. The search abandons a configuration as soon as some
        pending op is in an unusable state with every one of its sources already linearized.
        Sources may assume that every op that returned before this op was called is already
        linearized (it is, whenever the op may go next). A test must never condemn wrongly;
        None means no test.
        """
        return [None] * len(ops)

    def possible_states(self, ops: Sequence[Op]) -> list[State] | None:
        """A finite superset of the states that some sequence of `ops` can reach from the
        initial state, or None if the model knows none (the default).

        With it, a window of a long history can be checked on its own from every state the
        part before the window might have left behind: see `checkers.refute`.
        """
        return None

    def possible_states_at(self, ops: Sequence[Op], cut: float) -> list[State] | None:
        """A finite superset of the states the object may hold at time `cut` in some
        linearization of `ops`, or None if the model knows none. The default knows nothing
        about time: every state `possible_states` allows."""
        return self.possible_states(ops)

    def window_states(self, ops: Sequence[Op]) -> Callable[[float, Sequence[Op]], list[State]] | None:
        """For refuting many windows of one part: a function (cut, window) giving the states a
        window of `ops` that starts at `cut` must be searched from, or None if the model knows
        no finite set of states.

        It covers `possible_states_at(ops, cut)`, but may keep a single state of each class
        that no op of `window` (nor any part of it) can tell apart: states every op treats
        alike give the same verdict, so searching one of them settles all. The default keeps
        every state and asks `possible_states_at` each time; models with many states and a
        long history precompute what the cuts share.
        """
        if self.possible_states(ops) is None:
            return None
        return lambda cut, window: self.possible_states_at(ops, cut) or []

    def pending_for_windows(self, pending: Sequence[Op]) -> Callable[[Sequence[Op], float], list[Op]]:
        """For cutting many windows from one part: a function (window, end) giving the ops of
        `pending` (indeterminate ops of the part) called by `end` that a window with the other
        ops `window` must hold. It may leave out ops that, added to the window, some
        linearization could always do without (as `essential` drops them), so that each window
        does not pay for every timed-out op of a long history. The default leaves out none.
        """
        ordered = sorted(pending, key=lambda op: op.call)
        calls = [op.call for op in ordered]
        return lambda window, end: ordered[: bisect_right(calls, end)]

    def is_blind(self, op: Op) -> bool:
        """True if `op`, wherever it is legal, sets a state that does not depend on the old one
        (a write). An optional op just before it is wasted, so the search never does that."""
        return False

    def partition(self, ops: Sequence[Op]) -> list[list[Op]]:
        """Split a history into independently checkable parts (P-compositionality).

        The default treats each key as its own object, which is right for any model whose
        ops each touch one key. A history is linearizable iff every part is.
        """
        parts: dict[Any, list[Op]] = defaultdict(list)
        for op in ops:
            parts[op.key].append(op)
        return list(parts.values())

    def describe_op(self, op: Op) -> str:
        key = "" if op.key is None else f"[{json.dumps(jsonable(op.key))}] "
        arg = "" if op.input is None else " " + json.dumps(jsonable(op.input))
        shown = op.output is not True and op.output is not UNKNOWN
        out = " -> " + json.dumps(jsonable(op.output)) if shown else ""
        return f"{key}{op.f}{arg}{out} (process {op.process}, {op.status})"

    def describe_state(self, state: State) -> Any:
        return jsonable(state)
