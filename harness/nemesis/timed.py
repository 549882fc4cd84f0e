"""Plays a schedule file's timed faults instead of the rhythm, recorded exactly like the rhythm's.

Each fault is injected at its `at` (seconds from the start) and healed `duration` seconds after
its injection completed, by its own nemesis only, on a thread of its own: faults may overlap (the
file reader refuses overlaps whose heals would undo each other), and a slow injection or heal
does not delay another fault's. A fault planned to start after another's heal is due also
waits for that heal to finish, so a late heal delays it as in a file of one fault after
another, and two faults whose heals clash are never in place at once. `played` is set once
every heal has finished (or the player stopped or failed: a failed fault stops the rest, as in
the rhythm): a run with a tail ends that long after it. Everything else is the rhythm's: the
same history events, the leader recorded at each injection, errors kept for the results, and
the final heal of every nemesis whatever happens, after any injection or heal in progress.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from checkers.history import HistoryWriter
from harness.nemesis.base import Nemesis
from harness.nemesis.schedule import Schedule
from harness.nemesis.schedule_file import TimedFault

log = logging.getLogger(__name__)


class TimedSchedule(Schedule):
    """`faults` played on background threads; `nemeses` holds one nemesis per spec (`TimedFault.spec`)."""

    def __init__(self, nemeses: dict[str, Nemesis], faults: Sequence[TimedFault], history: HistoryWriter,
                 leaders: Callable[[], list[str]] | None = None) -> None:
        # the rhythm's interval and deck go unused: only its recording, stop and final heal are shared
        super().__init__(list(nemeses.values()), history, 0.0, None, leaders)  # type: ignore[arg-type]
        self.by_spec = nemeses
        self.faults = list(faults)
        self.played = threading.Event()
        self._acting = 0  # injections and heals in progress, which the final heal waits for
        self._idle = threading.Condition()

    def _wait_until(self, when: float) -> bool:
        """Wait until monotonic time `when`; False if the schedule was stopped meanwhile."""
        return not self._stop.wait(max(0.0, when - time.monotonic()))

    def _wait_for(self, events: Sequence[threading.Event]) -> bool:
        """Wait until every one of `events` is set; False if the schedule was stopped meanwhile."""
        for event in events:
            while not event.wait(0.05):
                if self._stop.is_set():
                    return False
        return True

    def _act(self, f: str, action: Callable[[], dict[str, Any]], observe: bool = False) -> bool:
        """Record `action` as the history event `f`, unless the schedule was stopped (False)."""
        with self._idle:
            if self._stop.is_set():
                return False
            self._acting += 1
        try:
            self._record(f, action, observe)
        finally:
            with self._idle:
                self._acting -= 1
                self._idle.notify_all()
        return True

    def _play(self, start: float, j: int, healed: list[threading.Event]) -> None:
        """Play faults[j]: wait for the heals it comes after and for its time, inject, wait, heal."""
        fault = self.faults[j]
        nemesis = self.by_spec[fault.spec]
        after = [healed[i] for i, earlier in enumerate(self.faults[:j]) if not fault.overlaps(earlier)]
        try:
            if (self._wait_for(after) and self._wait_until(start + fault.at)
                    and self._act(f"start-{nemesis.name}", nemesis.inject, observe=True)
                    and self._wait_until(time.monotonic() + fault.duration)
                    and self._act(f"stop-{nemesis.name}", nemesis.heal)):
                healed[j].set()
        except Exception as e:
            log.exception("nemesis failed")
            self.errors.append(f"{type(e).__name__}: {e}")
            self._stop.set()  # the rest are not played; the final heal heals what is in place

    def _loop(self) -> None:
        start = time.monotonic()
        healed = [threading.Event() for _ in self.faults]
        players = [threading.Thread(target=self._play, args=(start, j, healed), name=f"nemesis-{j}", daemon=True)
                   for j in range(len(self.faults))]
        try:
            for player in players:
                player.start()
            for player in players:
                player.join()
        finally:
            self.played.set()

    def final_heal(self) -> None:
        """Stop playing, wait for the injections and heals in progress (so none lands after it), and
        heal every nemesis, as the rhythm does."""
        self._stop.set()
        with self._idle:
            self._idle.wait_for(lambda: self._acting == 0)
            super().final_heal()
