"""The history file: streamed while recording, readable after a crash, errors named by line."""

from __future__ import annotations

import json
import threading
from itertools import pairwise
from pathlib import Path

import pytest

from checkers.history import HistoryError, HistoryWriter, read_history


def test_concurrent_appends_get_unique_increasing_indexes(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as w:
        def work(p: int) -> None:
            for _ in range(200):
                w.append(p, "invoke", "read", "k")
                w.append(p, "ok", "read", "k", 1)

        threads = [threading.Thread(target=work, args=(p,)) for p in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    events = read_history(path)
    assert [e.index for e in events] == list(range(3200))
    assert all(a.time <= b.time for a, b in pairwise(events))


def test_a_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with HistoryWriter(path) as w:
        w.append(0, "invoke", "write", "k", 1)
        w.append(0, "ok", "write", "k", 1)
    with open(path, "a") as f:
        f.write('{"index":2,"time":9,"process":1,"type":"inv')  # the harness died mid-write
    assert len(read_history(path)) == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"process": 0, "type": "invoke"}', "missing field(s) f"),
        ('{"process": 0, "type": "done", "f": "read"}', "type must be one of"),
        ('{"process": "client", "type": "ok", "f": "read"}', "process must be an integer"),
        ("{oops", "not valid JSON"),
    ],
)
def test_malformed_lines_are_named(tmp_path: Path, line: str, message: str) -> None:
    good = json.dumps({"process": 0, "type": "invoke", "f": "read", "key": "k"})
    path = tmp_path / "h.jsonl"
    path.write_text(f"{good}\n{line}\n{good}\n")
    with pytest.raises(HistoryError, match=rf"line 2: .*{message[:12]}"):
        read_history(path)
