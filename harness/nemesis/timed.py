"""Plays a schedule file's timed faults instead of the rhythm, recorded exactly like the rhythm's.

Each fault is injected at its `at` (seconds from the start) and healed `duration` seconds after
its injection completed, by its own nemesis only: faults may overlap (the file reader refuses
overlaps whose heals would undo each other). A fault planned to start after another's heal is
due also waits for that heal to finish, so a late heal delays it as in a file of one fault after
another, and two faults of one kind are never in place at once, however late a heal runs. One
thread plays everything, one injection or heal at a time: a heal that falls due during a slow
injection runs as soon as it ends. `played` is set once every heal has finished (or the player
stopped or failed): a run with a tail ends that long after it. Everything else is the rhythm's:
the same history events, the leader recorded at each injection, errors kept for the results,
and the final heal of every nemesis whatever happens.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Sequence

from checkers.history import HistoryWriter
from harness.nemesis.base import Nemesis
from harness.nemesis.schedule import Schedule
from harness.nemesis.schedule_file import TimedFault

log = logging.getLogger(__name__)


class TimedSchedule(Schedule):
    """`faults` played on a background thread; `nemeses` holds one nemesis per spec (`TimedFault.spec`)."""

    def __init__(self, nemeses: dict[str, Nemesis], faults: Sequence[TimedFault], history: HistoryWriter,
                 leaders: Callable[[], list[str]] | None = None) -> None:
        # the rhythm's interval and deck go unused: only its recording, stop and final heal are shared
        super().__init__(list(nemeses.values()), history, 0.0, None, leaders)  # type: ignore[arg-type]
        self.by_spec = nemeses
        self.faults = list(faults)
        self.played = threading.Event()

    def _wait_until(self, when: float) -> bool:
        """Wait until monotonic time `when`; False if the schedule was stopped meanwhile."""
        return not self._stop.wait(max(0.0, when - time.monotonic()))

    def _heal_one(self, fault: TimedFault) -> None:
        nemesis = self.by_spec[fault.spec]
        with self._lock:
            self._record(f"stop-{nemesis.name}", nemesis.heal)

    def _loop(self) -> None:
        start = time.monotonic()
        in_force: list[tuple[float, int]] = []  # (heal due, index), a heap
        healed: set[int] = set()

        def heal_next() -> bool:
            due, i = in_force[0]
            if not self._wait_until(due):
                return False
            heapq.heappop(in_force)
            self._heal_one(self.faults[i])
            healed.add(i)
            return True

        try:
            for j, fault in enumerate(self.faults):
                after = {i for i, earlier in enumerate(self.faults[:j]) if not fault.overlaps(earlier)}
                # heals due first (a tie too: heal, then inject) and those this fault comes after
                while in_force and (in_force[0][0] <= start + fault.at or not after <= healed):
                    if not heal_next():
                        return
                if not self._wait_until(start + fault.at):
                    return
                with self._lock:
                    self._inject(self.by_spec[fault.spec])
                heapq.heappush(in_force, (time.monotonic() + fault.duration, j))
            while in_force:
                if not heal_next():
                    return
        except Exception as e:
            log.exception("nemesis failed")
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            self.played.set()
