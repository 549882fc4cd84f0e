"""The timeline of a fault package: each step of one injection, when it ran and what it hit.

A package (lag-then-kill, isolate-then-skew, ...) does several things in one injection, aimed
at nodes it resolves as it goes (the leader *then*, the followers *then*). Its history event
carries this timeline, so a reader sees the sequence as it ran, with the concrete nodes and the
leader at each step, and a replay can aim at the same nodes at the same offsets.
"""

from __future__ import annotations

import time
from typing import Any


class Steps:
    """Steps noted in order, each with `at` (seconds since the injection began)."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self.done: list[dict[str, Any]] = []

    def note(self, step: str, **what: Any) -> dict[str, Any]:
        entry = {"at": round(time.monotonic() - self._t0, 3), "step": step, **what}
        self.done.append(entry)
        return entry
