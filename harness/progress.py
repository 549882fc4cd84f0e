"""What a run is doing while it runs: time left, operations done, faults in place.

A minute of silence looks like a hang, and "is the partition on right now?" is the first
question when watching a run. The display reads the history the run is writing anyway (the
writer keeps its events in memory), so the run needs no counters of its own: `run.run` only
wraps its wait for the workload in `progress.workload(history, seconds)`.

On a terminal it is a live rich line with a bar; elsewhere (CI logs, pipes) a plain line every
`interval` seconds, because redrawn lines turn into noise in a log file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

from checkers.history import HistoryWriter
from harness.report.data import describe_fault


@dataclass
class Tally:
    """Counts read incrementally from the history's in-memory events (each event read once)."""

    seen: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {"ok": 0, "fail": 0, "info": 0})
    faults: dict[str, str] = field(default_factory=dict)

    def update(self, history: HistoryWriter) -> None:
        events = history.events[self.seen:]  # a slice is a consistent snapshot while writers append
        self.seen += len(events)
        for e in events:
            if e.is_client:
                if e.type != "invoke":
                    self.outcomes[e.type] += 1
            elif e.f.startswith("start-"):  # a package's injection can take 10-40 s: say it is under way
                name = e.f[6:]
                self.faults[name] = f"injecting {name}" if e.type == "invoke" else describe_fault(name, e.value)
            elif e.type != "invoke" and e.f.startswith("stop-"):
                self.faults.pop(e.f[5:], None)

    @property
    def ops(self) -> str:
        o = self.outcomes
        return f"{sum(o.values())} ops ({o['ok']} ok, {o['fail']} fail, {o['info']} info)"

    @property
    def fault_text(self) -> str:
        return "faults: " + ("; ".join(self.faults.values()) if self.faults else "none")


class Progress:
    """Progress of the workload phase on `stream` (usually stderr)."""

    def __init__(self, stream: TextIO, interval: float | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.interval = interval if interval is not None else (0.25 if self.live else 10.0)

    @contextmanager
    def workload(self, history: HistoryWriter, seconds: float) -> Iterator[None]:
        """Display progress until the block exits; the display never outlives it."""
        tally = Tally()
        stop = threading.Event()
        started = time.monotonic()
        target = self._live if self.live else self._lines
        thread = threading.Thread(target=target, args=(history, seconds, tally, stop, started),
                                  name="progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(5)

    def _line(self, history: HistoryWriter, seconds: float, tally: Tally, started: float) -> str:
        tally.update(history)
        left = max(0.0, seconds - (time.monotonic() - started))
        return f"workload: {left:.0f} s left, {tally.ops}, {tally.fault_text}"

    def _lines(self, history: HistoryWriter, seconds: float, tally: Tally, stop: threading.Event,
               started: float) -> None:
        while not stop.wait(self.interval):
            print(self._line(history, seconds, tally, started), file=self.stream, flush=True)
        print(self._line(history, seconds, tally, started).replace("workload:", "workload done:"),
              file=self.stream, flush=True)

    def _live(self, history: HistoryWriter, seconds: float, tally: Tally, stop: threading.Event,
              started: float) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        columns = (TextColumn("workload"), BarColumn(bar_width=24), TimeRemainingColumn(),
                   TextColumn("{task.fields[ops]}", markup=False), TextColumn("{task.fields[faults]}", markup=False))
        with Bar(*columns, console=Console(file=self.stream), redirect_stdout=False) as bar:
            task = bar.add_task("workload", total=seconds, ops="", faults="")
            while True:
                tally.update(history)
                bar.update(task, completed=min(seconds, time.monotonic() - started), ops=tally.ops,
                           faults=tally.fault_text)
                if stop.wait(self.interval):
                    return
