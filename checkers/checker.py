"""What every checker looks like to the harness, and how their verdicts combine.

A test run usually wants several verdicts (linearizability, plus whatever a workload adds);
the run is only as good as its worst one. "unknown" is worse than true, because a checker
that gave up proves nothing, and better than false, because it found nothing wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from checkers.history import Event

Verdict = bool | str

_RANK = {True: 0, "unknown": 1, False: 2}


class Checker(Protocol):
    """Anything with `check(history, context) -> {"valid": True | False | "unknown", ...}`."""

    def check(self, history: Sequence[Event], context: Mapping[str, Any]) -> dict[str, Any]: ...


def merge_valid(verdicts: Sequence[Verdict]) -> Verdict:
    """The combined verdict: false beats unknown beats true; no verdicts at all is true."""
    worst: Verdict = True
    for v in verdicts:
        if v not in _RANK:
            v = "unknown"
        if _RANK[v] > _RANK[worst]:
            worst = v
    return worst


class Compose:
    """Run several named checkers over one history; each result is kept under its name."""

    def __init__(self, checkers: Mapping[str, Checker]) -> None:
        self.checkers = dict(checkers)

    def check(self, history: Sequence[Event], context: Mapping[str, Any]) -> dict[str, Any]:
        results = {name: c.check(history, context) for name, c in self.checkers.items()}
        return {"valid": merge_valid([r.get("valid", "unknown") for r in results.values()]), **results}
