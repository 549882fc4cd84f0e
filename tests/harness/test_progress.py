"""The progress display: plain lines off a terminal, counting ops and naming the faults in place."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from checkers.history import NEMESIS, HistoryWriter
from harness.progress import Progress, Tally


def test_tally_counts_completions_and_tracks_faults(tmp_path: Path) -> None:
    with HistoryWriter(tmp_path / "h.jsonl") as h:
        tally = Tally()
        h.append(0, "invoke", "read", "r0")
        h.append(0, "ok", "read", "r0", 1)
        h.append(NEMESIS, "invoke", "start-partition")
        tally.update(h)
        assert tally.fault_text == "faults: injecting partition"
        h.append(NEMESIS, "info", "start-partition", value={"components": [["n1"], ["n2", "n3"]]})
        tally.update(h)
        assert tally.ops == "1 ops (1 ok, 0 fail, 0 info)"
        assert tally.fault_text == "faults: partition n1 | n2 n3"
        h.append(1, "invoke", "write", "r0", 2)
        h.append(1, "info", "write", "r0", 2)
        h.append(NEMESIS, "info", "stop-partition", value={"verified": True})
        tally.update(h)
        assert tally.ops == "2 ops (1 ok, 0 fail, 1 info)" and tally.fault_text == "faults: none"


def test_plain_lines_when_not_on_a_terminal(tmp_path: Path) -> None:
    out = io.StringIO()
    progress = Progress(out, interval=0.05)
    assert not progress.live
    with HistoryWriter(tmp_path / "h.jsonl") as h, progress.workload(h, seconds=30):
        h.append(0, "invoke", "read", "r0")
        h.append(0, "ok", "read", "r0", 1)
        threading.Event().wait(0.2)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2
    assert all(line.startswith("workload") and "\x1b" not in line for line in lines)
    assert lines[-1].startswith("workload done:") and "1 ops (1 ok" in lines[-1] and "s left" in lines[-1]
