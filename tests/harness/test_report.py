"""report.html: escaped, self-contained, explains a failure, and stays small and quick for long runs."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from report_fixtures import stale_run, synthetic_run

from checkers.history import NEMESIS, Event, HistoryWriter, read_history
from harness.report.data import aggregate, clock_offsets, fault_windows, lanes, spans, summarise_faults
from harness.report.html import write_report
from harness.store import RunDir

HOSTILE = "<script>alert(1)</script>"


def _external_references(text: str) -> list[str]:
    """Anything that would make a browser fetch from elsewhere (the SVG namespace is not a fetch)."""
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]+)""", text) + re.findall(r"url\(([^)]*)\)", text)
    return [r for r in refs if re.match(r"(?:[a-z]+:)?//", r)] + re.findall(r"<link\b[^>]*>", text)


def test_report_escapes_history_values_and_shades_faults(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "t")
    with HistoryWriter(run.history) as h:
        h.append(NEMESIS, "invoke", "start-partition")
        h.append(NEMESIS, "info", "start-partition", value={"components": [["n1"], ["n2", "n3"]], "x": HOSTILE})
        h.append(0, "invoke", "write", HOSTILE, "<script>x</script>")
        h.append(0, "ok", "write", HOSTILE, "<script>x</script>", node="<b>n1</b>", error=HOSTILE)
        h.append(NEMESIS, "invoke", "stop-partition")
        h.append(NEMESIS, "info", "stop-partition")
    run.write_results({"valid": False, "test_name": "<b>t</b>", "config": {"concurrency": 1, "nemesis": [HOSTILE]},
                       "problems": [HOSTILE], "versions": {"x": HOSTILE},
                       "counts": {"write": {"ok": 1, "fail": 0, "info": 0}},
                       "checkers": {HOSTILE: {"valid": False, "counterexample": {
                           "message": HOSTILE, "key": HOSTILE, "op": {"index": 2}, "states": [HOSTILE],
                           "prefix": [HOSTILE], "core": [HOSTILE, {"description": HOSTILE}],
                           "tried": [{"op": HOSTILE, "from_state": {HOSTILE: HOSTILE}}]}},
                                    "x": "<script>"}})
    text = write_report(run.path).read_text()
    assert "<script>alert" not in text and "<script>x" not in text
    assert "<b>t</b>" not in text and "<b>n1</b>" not in text
    assert text.count("<script>") == 1, "only the page's own script"
    assert "&lt;script&gt;" in text
    assert 'class="fault"' in text and "n1 | n2 n3" in text
    assert "INVALID" in text
    assert _external_references(text) == []


def test_fault_windows_are_generic_per_kind_and_may_overlap() -> None:
    def ev(i: int, t: int, typ: str, f: str, value: object = None, error: object = None) -> Event:
        return Event(i, t, NEMESIS, typ, f, None, value, None, error)

    events = [
        ev(0, 10, "invoke", "start-partition"),
        ev(1, 20, "info", "start-partition", {"components": [["n1"], ["n2", "n3"]], "probe": {"big": 1}}),
        ev(2, 30, "invoke", "start-pause"),
        ev(3, 35, "info", "start-pause", {"kind": "pause", "nodes": ["n2"], "target": "one", "states": {"n2": "T"}}),
        ev(4, 50, "invoke", "stop-partition"),
        ev(5, 60, "info", "stop-partition", {"verified": True}),
        ev(6, 70, "invoke", "start-frobnicate"),
        ev(7, 80, "info", "start-frobnicate", None, "boom"),
        ev(8, 90, "invoke", "stop-pause"),
        ev(9, 95, "info", "stop-pause", {"verified": True}),
    ]
    windows = fault_windows(events)
    assert [(w.name, w.start, w.applied, w.end) for w in windows] == [
        ("partition", 10, 20, 60), ("pause", 30, 35, 95), ("frobnicate", 70, 80, None)]
    assert windows[0].label == "partition n1 | n2 n3"
    assert windows[1].label == "pause n2 one"
    assert "failed: boom" in windows[2].label
    summary = summarise_faults(events)
    assert summary["partition"] == {"injected": 1, "healed": 1, "failed": 0, "seconds": 0.0,
                                    "nodes": ["n1", "n2", "n3"]}
    assert summary["pause"]["nodes"] == ["n2"], "the aim's word (one) is not a node"
    assert summary["frobnicate"]["failed"] == 1 and summary["frobnicate"]["healed"] == 0


def test_clock_offsets_prefer_measured_and_reset_on_heal() -> None:
    events = [
        Event(0, 100, NEMESIS, "info", "start-clock", None,
              {"nodes": ["n1", "n2"], "offsets": {"n1": 5.0, "n2": -1.0},
               "measured": {"n1": {"running": True, "offset": 4.99}, "n2": {"running": False}}}),
        Event(1, 200, NEMESIS, "info", "start-clock", None, {"nodes": ["n3"], "delta_ms": 250}),
        Event(2, 300, NEMESIS, "info", "stop-clock", None, {"kind": "heal-clock"}),
    ]
    series = clock_offsets(events)
    assert series["n1"] == [(0, 0.0), (100, 4.99), (300, 0.0)]
    assert "n2" not in series or series["n2"][1] == (300, 0.0)
    assert series["n3"] == [(0, 0.0), (200, 0.25), (300, 0.0)]


def test_retired_processes_share_their_worker_row() -> None:
    events = [Event(0, 0, 0, "invoke", "read"), Event(1, 5, 0, "info", "read"),
              Event(2, 6, 5, "invoke", "read"), Event(3, 9, 5, "ok", "read"),
              Event(4, 1, 1, "invoke", "write", "k", 1), Event(5, 8, 1, "ok", "write", "k", 1)]
    row_of, rows = lanes(spans(events))
    assert len(rows) == 2 and row_of[0] == row_of[5] != row_of[1]
    agg = aggregate(spans(events), 12, buckets=2)
    assert agg.counts["info"] == [1, 0] and agg.counts["ok"] == [0, 2]


def test_invalid_run_explains_the_counterexample(tmp_path: Path) -> None:
    run_dir = stale_run(tmp_path)
    text = write_report(run_dir).read_text()
    assert "INVALID" in text
    assert 'class="cex"' in text, "the counterexample drawing"
    assert 'class="cx ok failing"' in text or 'class="cx info failing"' in text, "the failing op is marked"
    assert 'class="lin"' in text and 'class="linpath"' in text, "the prefix's linearization is drawn"
    assert "cannot be linearized" in text and "illegal in state" in text
    assert "Clock offsets" in text, "the clock bump is plotted"


def test_report_survives_sparse_results(tmp_path: Path) -> None:
    """Old or partial results.json files (a crashed run, another checker) still render."""
    run_dir = stale_run(tmp_path, seconds=0.3)
    results = {"valid": False, "checkers": {"linearizable": {"valid": False, "counterexample": {
        "key": "r0", "op": {"index": 10**9}, "prefix": [{"weird": 1}]}}, "other": {"valid": "unknown"}}}
    (run_dir / "results.json").write_text(json.dumps(results))
    text = write_report(run_dir).read_text()
    assert "INVALID" in text and "Counterexample on key" in text


def test_100k_ops_render_small_and_quick(tmp_path: Path) -> None:
    run_dir = synthetic_run(tmp_path, 100_000)
    assert sum(1 for e in read_history(run_dir / "history.jsonl") if e.process != NEMESIS) == 200_000
    started = time.monotonic()
    out = write_report(run_dir)
    seconds = time.monotonic() - started
    size = out.stat().st_size
    print(f"\n100k-op report: {size / 1e6:.2f} MB in {seconds:.2f} s ({out})")
    assert size < 10e6
    assert seconds < 60, "generous: the machine is shared; expect a few seconds"
    text = out.read_text()
    assert "Aggregated" in text and "3000 of 100000 ops shown as dots" in text
    assert text.count('class="faultbar') == 15 and "Clock offsets" in text


def test_an_empty_interrupted_run_still_says_why(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "t")
    run.history.write_text("")
    run.write_results({"valid": "unknown", "interrupted": True, "problems": ["heal not verified"]})
    text = write_report(run.path).read_text()
    assert "UNKNOWN" in text and "the run was interrupted; heal not verified" in text
    assert "no faults were injected" in text and "no completed operations" in text
