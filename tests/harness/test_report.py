from __future__ import annotations

from pathlib import Path

from checkers.history import NEMESIS, HistoryWriter
from harness.report.html import write_report
from harness.store import RunDir


def test_report_escapes_history_values_and_shades_faults(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "t")
    with HistoryWriter(run.history) as h:
        h.append(NEMESIS, "invoke", "start-partition")
        h.append(NEMESIS, "info", "start-partition", value={"components": [["n1"], ["n2", "n3"]]})
        h.append(0, "invoke", "write", "<script>alert(1)</script>", "<script>x</script>")
        h.append(0, "ok", "write", "<script>alert(1)</script>", "<script>x</script>")
        h.append(NEMESIS, "invoke", "stop-partition")
        h.append(NEMESIS, "info", "stop-partition")
    run.write_results({"valid": False, "test_name": "<b>t</b>", "config": {"concurrency": 1},
                       "counts": {"write": {"ok": 1, "fail": 0, "info": 0}}, "checkers": {"x": "<script>"}})
    text = write_report(run.path).read_text()
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert 'class="fault"' in text and "n1 | n2 n3" in text
    assert "INVALID" in text
