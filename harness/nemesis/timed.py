"""Plays a schedule file's timed faults instead of the rhythm, recorded exactly like the rhythm's.

Each fault is injected at its `at` (seconds from the start) and healed `duration` seconds after
its injection completed; a fault whose time has passed (the previous heal ran late) is injected
at once. `played` is set once the last heal has finished (or the player stopped or failed): a
run with a tail ends that long after it. Everything else is the rhythm's: the same history
events, the leader recorded at each injection, errors kept for the results, and the final heal
of every nemesis whatever happens.
"""

from __future__ import annotations

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

    def _wait_until(self, start: float, offset: float) -> bool:
        """Wait until `offset` seconds after `start`; False if the schedule was stopped meanwhile."""
        return not self._stop.wait(max(0.0, start + offset - time.monotonic()))

    def _loop(self) -> None:
        start = time.monotonic()
        try:
            for fault in self.faults:
                if not self._wait_until(start, fault.at):
                    return
                with self._lock:
                    self._inject(self.by_spec[fault.spec])
                if not self._wait_until(time.monotonic(), fault.duration):
                    return
                self.heal()
        except Exception as e:
            log.exception("nemesis failed")
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            self.played.set()
