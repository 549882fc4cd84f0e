"""report.html in a real browser (headless Chromium): it loads, its script runs without a console
message, it shows the verdict and the fault windows, and a screenshot is kept to look at.

Like the Docker tests, these do not skip silently when Chromium is missing (./setup.sh installs
it); HARNESS_SKIP_BROWSER=1 leaves them out on purpose.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from report_fixtures import stale_run

from harness.report.html import write_report

pytestmark = pytest.mark.skipif(os.environ.get("HARNESS_SKIP_BROWSER") == "1", reason="HARNESS_SKIP_BROWSER=1")
CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)")


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: run ./setup.sh as root, or apt-get install chromium")
    return path


def open_in_browser(page: Path, screenshot: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The DOM after the page's scripts ran, and every console message (our page writes none)."""
    base = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1300,2600",
            "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    shot = subprocess.run([*base, f"--screenshot={screenshot}", page.as_uri()], capture_output=True, text=True,
                          timeout=120)
    assert screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
    console = [m.group(1) for m in CONSOLE.finditer(dom.stderr + shot.stderr)]
    return dom.stdout, console


def test_console_errors_are_noticed(tmp_path: Path) -> None:
    """The check the report tests rely on: a page with a script error does show one."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>nope();</script></body></html>")
    dom, console = open_in_browser(page, tmp_path / "broken.png", tmp_path)
    assert "<p>x</p>" in dom
    assert any("nope is not defined" in m for m in console), console


def check_report_in_browser(run_dir: Path, tmp_path: Path, verdict: str) -> Path:
    report = write_report(run_dir)
    screenshot = tmp_path / f"report-{run_dir.parent.name}.png"
    dom, console = open_in_browser(report, screenshot, tmp_path)
    print(f"\nscreenshot of {report}: {screenshot}")
    assert console == []
    assert 'data-ready="yes"' in dom, "the page's script ran to its end"
    assert f'<span class="word">{verdict}</span>' in dom
    assert dom.count('class="faultbar') >= 1 and 'class="fault"' in dom
    return screenshot


# Appended to a copy of the report: drags across the latency plot, then double-clicks, and
# records what the page's script did in data-* attributes that --dump-dom shows.
ZOOM_PROBE = """<script>
(function () {
  var svg = document.querySelector('svg.tx[aria-label="latency"]'), box = svg.getBoundingClientRect();
  function at(type, x) {
    svg.dispatchEvent(new MouseEvent(type, {bubbles: true, clientY: box.top + 20,
      clientX: box.left + x * box.width / svg.viewBox.baseVal.width}));
  }
  function ticks() {
    return Array.prototype.map.call(svg.querySelectorAll("g.ticks text"), function (t) { return t.textContent; });
  }
  var before = ticks().join(" ");
  at("mousedown", 400); at("mousemove", 700); at("mouseup", 700);
  document.body.dataset.zoomed = ticks().join(" ") !== before ? "yes" : "no";
  svg.dispatchEvent(new MouseEvent("dblclick", {bubbles: true}));
  document.body.dataset.reset = ticks().join(" ") === before ? "yes" : "no";
})();
</script></body>"""


def test_invalid_report_in_a_browser(tmp_path: Path) -> None:
    run_dir = stale_run(tmp_path / "results")
    check_report_in_browser(run_dir, tmp_path, "INVALID")
    probe = run_dir / "zoom-probe.html"
    probe.write_text((run_dir / "report.html").read_text().replace("</body>", ZOOM_PROBE))
    dom, console = open_in_browser(probe, tmp_path / "zoom.png", tmp_path)
    assert console == []
    assert 'data-zoomed="yes"' in dom and 'data-reset="yes"' in dom


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_real_run_report_in_a_browser(node_image: str, tmp_path: Path) -> None:
    """`harness run` end to end on 3 nodes for 10 s, with --junit and --summary, then its report."""
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "harness.cli", "run", "--nodes", "3", "--subnet", "10.250.0.0/24",
           "--time-limit", "10", "--nemesis-interval", "3", "--concurrency", "4", "--rate", "50", "--seed", "7",
           "--test-name", "browser", "--results", str(results),
           "--junit", str(tmp_path / "junit.xml"), "--summary", str(tmp_path / "summary.md")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=500)
    assert done.returncode in (0, 1, 2), done.stderr[-3000:]
    assert re.search(r"^workload done: 0 s left, \d+ ops", done.stderr, re.M), "plain progress lines off a terminal"
    run_dir = (results / "latest").resolve()
    r = json.loads((run_dir / "results.json").read_text())
    assert (run_dir / "history.edn").is_file()
    assert r["faults"]["partition"]["injected"] >= 1 and r["versions"]["docker_engine"]
    word = {True: "VALID", False: "INVALID"}.get(r["valid"], "UNKNOWN")
    assert f" {word}: browser (seed 7)" in (tmp_path / "summary.md").read_text().splitlines()[0]
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.find("testcase[@name='linearizable']") is not None
    check_report_in_browser(run_dir, tmp_path, word)
    page = (run_dir / "report.html").read_text()
    assert "partition" in page and "nodes/n1/node.log" in page
