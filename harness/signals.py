"""Which signals end a run early, the exception they become, and a context that handles them for
a while, then puts back what was there.

The run turns them into a teardown, and shields the teardown (and, once interrupted, the writing
of its results) from them; the `harness` command's own handling is in `harness.cli.entry`.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

INTERRUPTING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C so that the same teardown runs."""


def interrupt(signum: int, frame: FrameType | None) -> None:
    """A handler that raises `Interrupted`, named after the signal ("SIGTERM")."""
    raise Interrupted(signal.Signals(signum).name)


@contextmanager
def handling(handler: Any, signals: Sequence[signal.Signals] = INTERRUPTING) -> Iterator[None]:
    """Install `handler` for `signals` (main thread only), restoring the previous handlers after."""
    try:
        previous = {s: signal.signal(s, handler) for s in signals}
    except ValueError:  # not the main thread: signals go to the main thread's own handlers
        yield
        return
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
