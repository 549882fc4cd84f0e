"""The nemesis's rhythm: quiet, fault, quiet, heal, ... and a final heal whatever happens.

Each injection and heal is recorded in the history as a pair of nemesis events (an invoke when
it starts, an info when it is done, with what was done), so faults and client operations share
one time axis.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from checkers.history import NEMESIS, HistoryWriter
from harness.nemesis.base import HealError, Nemesis

log = logging.getLogger(__name__)


class Schedule:
    """Alternates `inject` and `heal` every `interval` seconds on a background thread."""

    def __init__(self, nemesis: Nemesis, history: HistoryWriter, interval: float) -> None:
        self.nemesis = nemesis
        self.history = history
        self.interval = interval
        self.active = False
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="nemesis", daemon=True)

    def _record(self, f: str, action: Any) -> dict[str, Any]:
        self.history.append(NEMESIS, "invoke", f)
        try:
            done = action()
        except Exception as e:
            self.history.append(NEMESIS, "info", f, error=str(e))
            raise
        self.history.append(NEMESIS, "info", f, value=done)
        return done

    def inject(self) -> None:
        with self._lock:
            self.active = True
            self._record(f"start-{self.nemesis.name}", self.nemesis.inject)

    def heal(self) -> None:
        with self._lock:
            self._record(f"stop-{self.nemesis.name}", self.nemesis.heal)
            self.active = False

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                if self.active:
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
        """Heal unconditionally (a fault may be half-applied after an error) and raise if it fails."""
        try:
            self.heal()
        except HealError:
            raise
        except Exception as e:
            raise HealError(f"final heal failed: {e}") from e
