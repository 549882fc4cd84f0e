"""The nemesis interface: inject a fault, heal every fault, and say exactly what was done.

`inject` and `heal` return a JSON-able description that goes into the history as a nemesis
event, so a reader of the history (or the report) sees which nodes were cut off and when.
`heal` must leave the cluster verifiably clean; it is also called on every error path.
"""

from __future__ import annotations

from typing import Any, Protocol


class HealError(Exception):
    """A heal that could not be verified: the cluster may still be faulty."""


class Nemesis(Protocol):
    name: str

    def inject(self) -> dict[str, Any]:
        """Cause one fault (chosen with the nemesis's seeded random source) and describe it."""
        ...

    def heal(self) -> dict[str, Any]:
        """Undo every fault this nemesis may have caused, verify it, and describe what was undone."""
        ...
