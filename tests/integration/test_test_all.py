"""`harness test-all`: a matrix run as one job, one JUnit file, one summary, one exit code."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
FLAKY = ROOT / "tests" / "data" / "plugins" / "flaky_raft.py"
FAST = ["--nodes", "3", "--time-limit", "3", "--nemesis-interval", "1", "--rate", "50"]


def run_test_all(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "-m", "harness.cli", "test-all", *FAST, "--results", str(tmp_path),
                           "--junit", str(tmp_path / "junit.xml"), "--summary", str(tmp_path / "summary.md"),
                           *args], cwd=tmp_path, capture_output=True, text=True, timeout=800)


def test_matrix_of_two_faults_and_three_seeds(free_subnet, node_image, leftovers, tmp_path: Path) -> None:
    r = run_test_all(tmp_path, "--db", "raft", "--workload", "register", "--nemesis", "partition,kill", "--test-count",
                 "3", "--seed", "100", "--parallel", "3", "--subnet", free_subnet("10.249"))
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["tests"] == 6 and summary["counts"] == {"valid": 6}
    assert sorted((run["nemesis"], run["seed"]) for run in summary["runs"]) == [
        (n, s) for n in ("kill", "partition") for s in (100, 101, 102)]
    assert len({Path(run["run_dir"]).parent for run in summary["runs"]}) == 6
    assert all(leftovers(run["run_id"]) == [] for run in summary["runs"])
    suites = ET.parse(tmp_path / "junit.xml").getroot().findall("testsuite")
    assert len(suites) == 6 and all(s.findall("testcase") for s in suites)
    replay = next(p.get("value") for p in suites[0].iter("property") if p.get("name") == "replay")
    assert replay.startswith("harness run --db raft") and "--seed" in replay
    assert len((tmp_path / "summary.md").read_text().splitlines()) == 4 + 6


def test_harness_trouble_is_reported_and_retried(free_subnet, node_image, tmp_path: Path) -> None:
    subnet = free_subnet("10.249")
    db = ["--db", f"{FLAKY}:FlakyRaft", "--db-opt", f"marker={tmp_path / 'marker'}", "--nemesis", "partition"]
    failed = run_test_all(tmp_path / "once", *db, "--subnet", subnet)
    assert failed.returncode == 255, failed.stdout + failed.stderr
    run = json.loads((tmp_path / "once" / "summary.json").read_text())["runs"][0]
    assert run["verdict"] == "harness failure" and "induced failure" in run["failure"]
    error = ET.parse(tmp_path / "once" / "junit.xml").getroot().find(".//error")
    assert error is not None and error.get("type") == "unknown-harness" and "induced" in error.text

    (tmp_path / "marker").unlink()
    retried = run_test_all(tmp_path / "retried", *db, "--subnet", subnet, "--retry-harness-errors", "1")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "retrying" in retried.stdout and "induced failure" in retried.stdout
    run = json.loads((tmp_path / "retried" / "summary.json").read_text())["runs"][0]
    assert run["attempts"] == 2 and "induced failure" in run["retried_for"][0] and run["verdict"] == "valid"


def test_a_bad_cell_is_refused_before_anything_runs(tmp_path: Path) -> None:
    r = run_test_all(tmp_path, "--workload", "register,nosuch")
    assert r.returncode == 254 and "--workload nosuch" in r.stderr and not (tmp_path / "summary.json").exists()
