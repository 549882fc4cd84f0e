"""A live progress line for a long check, on a terminal only.

A check that runs for minutes without a word looks like a hang. So once a check has run for a
few seconds, a line on stderr says how many keys are done and how many configurations the
search has explored, redrawn in place a few times a second. Only on a terminal: in a log or a
pipe, a redrawn line is noise, and stdout (the verdict, or --json) is never touched.
"""

from __future__ import annotations

import time
from typing import TextIO

# Quiet for checks shorter than this (seconds): most finish before anyone wonders.
SHOW_AFTER = 3.0
REDRAW_EVERY = 0.25


class ProgressLine:
    """Draws "checking: 3 of 10 keys done, 1,234,567 configurations explored, 12 s" in place."""

    def __init__(self, stream: TextIO, show_after: float = SHOW_AFTER) -> None:
        self.stream = stream
        self.start = time.monotonic()
        self.show_after = show_after
        self.last = 0.0
        self.shown = False

    def update(self, keys_done: int, keys: int, configurations: int) -> None:
        now = time.monotonic()
        if now - self.start < self.show_after or now - self.last < REDRAW_EVERY:
            return
        self.last = now
        self.shown = True
        self.stream.write(
            f"\r\x1b[Kchecking: {keys_done} of {keys} keys done, "
            f"{configurations:,} configurations explored, {now - self.start:.0f} s"
        )
        self.stream.flush()

    def close(self) -> None:
        """Erase the line, so the verdict that follows starts on a clean line."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def terminal_progress(stream: TextIO) -> ProgressLine | None:
    """A progress line on `stream` if it is a terminal, else None (no progress shown)."""
    isatty = getattr(stream, "isatty", None)
    return ProgressLine(stream) if isatty is not None and isatty() else None
