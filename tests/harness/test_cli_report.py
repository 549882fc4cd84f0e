"""`harness report` and `harness serve` from the command line: results in, one clear line out."""

from __future__ import annotations

from pathlib import Path

from report_fixtures import stale_run
from test_cli import assert_one_line, harness


def test_report_rerenders_a_run(tmp_path: Path) -> None:
    run_dir = stale_run(tmp_path)
    done = harness("report", str(run_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(run_dir / "report.html")
    assert "INVALID" in (run_dir / "report.html").read_text()


def test_serve_without_a_results_folder_is_a_usage_error(tmp_path: Path) -> None:
    done = harness("serve", "--results", str(tmp_path / "nothing"), "--port", "0")
    assert done.returncode == 254
    assert_one_line(done.stderr, "no such results folder")


def test_run_accepts_junit_and_summary() -> None:
    from harness.cli import build_parser

    args = build_parser().parse_args(["run", "--junit", "j.xml", "--summary", "s.md"])
    assert (args.junit, args.summary) == ("j.xml", "s.md")
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.results) == ("127.0.0.1", 8080, "results")
