"""The trend, diff and index pages in a real browser (headless Chromium), from the static site and
from the live server: they load with no console message, the static index filters itself, and a
real report still runs its script under the server's Content-Security-Policy.

Like test_report_browser, these fail rather than skip when Chromium is missing;
HARNESS_SKIP_BROWSER=1 leaves them out on purpose.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from report_fixtures import stale_run
from serve_fixtures import fake_run, serving
from test_report_browser import CONSOLE, chromium

from harness.report.html import write_report
from harness.serve.static import write_static

pytestmark = pytest.mark.skipif(os.environ.get("HARNESS_SKIP_BROWSER") == "1", reason="HARNESS_SKIP_BROWSER=1")
DAY = datetime(2026, 11, 1, 2, 0, 0)


def open_url(url: str, tmp_path: Path, screenshot: Path | None = None) -> tuple[str, list[str]]:
    """The DOM after the page's scripts ran, and every console message; a screenshot to look at
    if asked (each Chromium start costs seconds on a loaded machine, so only a few are taken)."""
    base = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1300,1600",
            "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    log = dom.stderr
    if screenshot is not None:
        shot = subprocess.run([*base, f"--screenshot={screenshot}", url], capture_output=True, text=True,
                              timeout=120)
        assert screenshot.stat().st_size > 5_000, shot.stderr[-2000:]
        print(f"\nscreenshot of {url}: {screenshot}")
        log += shot.stderr
    return dom.stdout, [m.group(1) for m in CONSOLE.finditer(log)]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    for n, valid in enumerate((True, True, False, "unknown", True)):
        fake_run(root, "nightly", DAY + timedelta(days=n), valid, history=[1 + n, 2, 3 + n, 40],
                 config={"nemesis": ["partition", "kill"], "db": "raft", "workload": "register"},
                 faults={"partition": {"injected": 2 + n}, "kill": {"injected": n}},
                 timings={"ops_per_s": 40.0 + n})
    write_report(stale_run(root))
    return root


def test_static_trend_diff_and_filtered_index_in_a_browser(results: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_static(results, site)
    dom, console = open_url((site / "trend" / "nightly.html").as_uri(), tmp_path, tmp_path / "trend.png")
    assert console == []
    assert dom.count('<rect class="v ') == 5 and 'aria-label="latency"' in dom
    diff = next((site / "diff" / "nightly").glob("*.html"))
    dom, console = open_url(diff.as_uri(), tmp_path, tmp_path / "diff.png")
    assert console == [] and "<h2>Configuration</h2>" in dom
    dom, console = open_url((site / "index.html").as_uri() + "?verdict=invalid&test=nightly", tmp_path)
    assert console == []
    assert 'data-ready="yes"' in dom, "the filter script ran to its end"
    assert '<span id="count">1</span>' in dom, "one invalid nightly run of six runs"


def test_live_pages_and_a_real_report_under_the_servers_policy(results: Path, tmp_path: Path) -> None:
    stale = next(results.glob("stale/2*"))
    with serving(results) as srv:
        host, port = srv.server_address[:2]
        base = f"http://{host}:{port}"
        for path, name in (("/trend?test=nightly", "trend"), ("/diff?a=nightly/20261101T020000&b="
                                                              "nightly/20261103T020000", "diff"), ("/", "index")):
            dom, console = open_url(base + path, tmp_path)
            assert console == [], (path, console)
            assert "<svg" in dom or name != "trend"
        dom, console = open_url(f"{base}/stale/{stale.name}/report.html", tmp_path)
    assert console == [], "the report's inline script and style are allowed by the CSP"
    assert 'data-ready="yes"' in dom and '<span class="word">INVALID</span>' in dom
