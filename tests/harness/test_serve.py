"""`harness serve`: the index lists every run once, with its verdict, and links to reports that load."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

from report_fixtures import stale_run

from harness.report.html import write_report
from harness.serve import make_server
from harness.store import RunDir


def test_index_lists_runs_and_serves_reports(tmp_path: Path) -> None:
    bad = stale_run(tmp_path)
    write_report(bad)
    pending = RunDir.create(tmp_path, "pending")  # a run still going: no results.json yet
    server = make_server(tmp_path, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        base = f"http://{host}:{port}"
        with urllib.request.urlopen(f"{base}/", timeout=10) as r:
            index = r.read().decode()
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
        assert index.count("<tr class=\"run") == 1, "the one finished run (latest links not repeated)"
        assert "invalid" in index and "stale" in index and "partition" in index
        assert pending.path.name not in index
        link = f"/stale/{bad.name}/report.html"
        assert f'href="{link}"' in index
        with urllib.request.urlopen(f"{base}{link}", timeout=10) as r:
            assert "INVALID" in r.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
