"""Client operations as intervals over the raw history: an invocation and how it completed.

The set, counter and bank checkers reason about values as the clients saw them and about
real time ("this read began after that add was acknowledged"), not about a model's states, so
they take each operation's events as they are. Failed operations certainly did not happen and
are kept (a checker may count them as attempts that did not apply); an invocation with no
completion is an `info` that never returned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from checkers.history import Event, HistoryError


@dataclass(frozen=True, slots=True)
class Interval:
    invoke: Event
    complete: Event | None  # None: the history ended with it still open

    @property
    def f(self) -> str:
        return self.invoke.f

    @property
    def type(self) -> str:
        return self.complete.type if self.complete is not None else "info"

    @property
    def start(self) -> int:
        return self.invoke.time

    @property
    def end(self) -> float:
        """When it returned; +inf if it never did (info): it may take effect at any later time."""
        return self.complete.time if self.complete is not None and self.complete.type != "info" else float("inf")

    @property
    def value(self) -> Any:
        """What the client asked for, or what an ok completion reports (a read's result)."""
        return self.complete.value if self.complete is not None and self.complete.type == "ok" else self.invoke.value

    @property
    def indices(self) -> list[int]:
        return [self.invoke.index] + ([self.complete.index] if self.complete is not None else [])


def intervals(events: Iterable[Event]) -> list[Interval]:
    """Every client operation, in invocation order. Raises HistoryError on a completion without an
    open invocation, or an invocation while the same process has one open."""
    out: list[Interval] = []
    open_: dict[Any, tuple[int, Event]] = {}
    for e in events:
        if not e.is_client:
            continue
        if e.type == "invoke":
            if e.process in open_:
                raise HistoryError(f"event {e.index}: process {e.process} invokes {e.f} with an operation still open")
            open_[e.process] = (len(out), e)
            out.append(Interval(e, None))
            continue
        slot = open_.pop(e.process, None)
        if slot is None:
            raise HistoryError(f"event {e.index}: {e.type} {e.f} by process {e.process} has no open invocation")
        out[slot[0]] = Interval(slot[1], e)
    return out
