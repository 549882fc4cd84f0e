"""The nemesis's rhythm: quiet, fault, quiet, heal, ... and a final heal whatever happens.

Several nemeses compose: at each fault tick the seeded random source picks one of them, and
the next heal tick heals that one. Picks are drawn like cards from a shuffled deck of all of
them, reshuffled when it runs out, so every configured fault comes up once in each round of
len(nemeses) faults: even a short run exercises all of them, in a seeded order. The final heal
heals every nemesis, whether or not it was ever picked, because after an error a fault may be
half-applied by any of them.

Each injection and heal is recorded in the history as a pair of nemesis events (an invoke when
it starts, an info when it is done, with what was done), so faults and client operations share
one time axis.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from typing import Any

from checkers.history import NEMESIS, HistoryWriter
from harness.nemesis.base import HealError, Nemesis

log = logging.getLogger(__name__)


class Schedule:
    """Alternates `inject` (of one drawn nemesis) and `heal` every `interval` seconds on a background thread."""

    def __init__(
        self,
        nemeses: Sequence[Nemesis],
        history: HistoryWriter,
        interval: float,
        rng: random.Random,
        leaders: Callable[[], list[str]] | None = None,
    ) -> None:
        """`leaders`, if the system can say who leads, is asked before each injection and the
        answer recorded with it (`leaders_at_start`), whatever the fault aims at."""
        self.nemeses = list(nemeses)
        self.leaders = leaders
        if not self.nemeses:
            raise ValueError("a schedule needs at least one nemesis")
        self.history = history
        self.interval = interval
        self.rng = rng
        self.active: Nemesis | None = None
        self._deck: list[Nemesis] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="nemesis", daemon=True)

    def _record(self, f: str, action: Callable[[], dict[str, Any]], observe: bool = False) -> dict[str, Any]:
        self.history.append(NEMESIS, "invoke", f)
        try:
            seen = {"leaders_at_start": self.leaders()} if observe and self.leaders is not None else {}
            done = {**action(), **seen}
        except Exception as e:
            self.history.append(NEMESIS, "info", f, error=str(e))
            raise
        self.history.append(NEMESIS, "info", f, value=done)
        return done

    def inject(self) -> None:
        """Inject the next nemesis drawn from the deck."""
        with self._lock:
            if not self._deck:
                self._deck = self.rng.sample(self.nemeses, len(self.nemeses))
            self._inject(self._deck.pop())

    def _inject(self, nemesis: Nemesis) -> None:
        """Inject `nemesis` and make it the fault in force; the caller holds the lock."""
        self.active = nemesis
        self._record(f"start-{nemesis.name}", nemesis.inject, observe=True)

    def heal(self) -> None:
        """Heal the fault in force (if any)."""
        with self._lock:
            if self.active is not None:
                self._record(f"stop-{self.active.name}", self.active.heal)
                self.active = None

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                if self.active is not None:
                    self.heal()
                else:
                    self.inject()
        except Exception as e:
            log.exception("nemesis failed")
            self.errors.append(f"{type(e).__name__}: {e}")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the rhythm and wait for an injection or heal in progress to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def final_heal(self) -> None:
        """Heal every nemesis unconditionally (a fault may be half-applied after an error).

        Every nemesis is healed even when one fails; the failures are raised together as one
        HealError, so a fault that stays in force is reported, never ignored.
        """
        failures = []
        with self._lock:
            for nemesis in self.nemeses:
                try:
                    self._record(f"stop-{nemesis.name}", nemesis.heal)
                except Exception as e:
                    failures.append(str(e) if isinstance(e, HealError) else f"{nemesis.name}: {type(e).__name__}: {e}")
            self.active = None
        if failures:
            raise HealError("final heal failed: " + " | ".join(failures))


def as_ran(events: Sequence[Any]) -> list[dict[str, Any]]:
    """The faults as they ran, for results.json: each one's name, start, applied and stop times
    (seconds from the start of the history), the concrete nodes and targets it hit, the leader it
    was aimed at and the leaders at the time, and a package's steps. What a replay needs."""
    from harness.report.data import fault_windows

    out = []
    for fault in fault_windows(events):
        v = fault.value if isinstance(fault.value, dict) else {}
        entry = {"nemesis": fault.name, "start_s": round(fault.start / 1e9, 3),
                 "applied_s": None if fault.applied is None else round(fault.applied / 1e9, 3),
                 "stop_s": None if fault.end is None else round(fault.end / 1e9, 3)}
        entry |= {k: v[k] for k in ("kind", "target", "nodes", "leader", "leaders_at_start", "shape", "grudge",
                                    "mode", "offsets", "offset", "fault", "attempts", "candidate", "term",
                                    "voters", "same_term_leaders", "steps") if k in v}
        if fault.error is not None:
            entry["error"] = fault.error
        out.append(entry)
    return out
