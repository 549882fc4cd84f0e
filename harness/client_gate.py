"""What a fault package may ask of the clients while it works: all operations, only reads, or none.

Some bugs show only when the system's log stays still while clients go on watching: Raft's
Figure 8 needs a new leader with no entry of its own term, yet reads that see what it commits.
Jepsen composes client and nemesis phases in one generator for this; here a package sets the
gate and the workers obey it: under `READS` they draw the workload's read operation instead of
their usual mix (a workload without one issues nothing), under `NONE` they issue nothing.

An operation is admitted when it is about to be sent, not when it is drawn, so a change of mode
is never overtaken by a worker that drew before it. `settle` waits for operations sent under a
wider mode to finish (each ends within the client timeout). Packages record the modes they set
in their steps, so the history says when clients were held back.
"""

from __future__ import annotations

import threading
import time

ALL = "all"
READS = "reads"
NONE = "none"
MODES = (ALL, READS, NONE)
_ADMITS = {ALL: {ALL, READS}, READS: {READS}, NONE: set()}


class ClientGate:
    """The mode the workers run in, and the operations in flight per kind (`ALL`: any, `READS`: a read)."""

    def __init__(self) -> None:
        self._mode = ALL
        self._cond = threading.Condition()
        self._in_flight = {ALL: 0, READS: 0}

    @property
    def mode(self) -> str:
        return self._mode

    def allow(self, mode: str) -> None:
        """Switch the workers to `mode` (ALL, READS or NONE) from their next operation on."""
        if mode not in MODES:
            raise ValueError(f"unknown client mode {mode!r}; known: {', '.join(MODES)}")
        with self._cond:
            self._mode = mode
            self._cond.notify_all()

    def admit(self, kind: str) -> bool:
        """Whether an operation of `kind` may be sent now; if so it counts as in flight until `done`."""
        with self._cond:
            if kind not in _ADMITS[self._mode]:
                return False
            self._in_flight[kind] += 1
            return True

    def done(self, kind: str) -> None:
        with self._cond:
            self._in_flight[kind] -= 1
            self._cond.notify_all()

    def settle(self, timeout: float) -> bool:
        """Wait until no operation the current mode would refuse is in flight; False if `timeout` ran out."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while any(n and kind not in _ADMITS[self._mode] for kind, n in self._in_flight.items()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True
