"""JUnit XML (one test case per checker) and the markdown summary CI shows."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.ci import summary_markdown, write_junit

RESULTS: dict[str, Any] = {
    "valid": False, "test_name": "raft-register", "seed": 42, "run_id": "r1",
    "config": {"nemesis": ["partition"]}, "versions": {"python": "3.11", "harness": "0.1.0"},
    "timings": {"workload_s": 10.0, "check_s": 0.5},
    "counts": {"read": {"ok": 5, "fail": 1, "info": 1}},
    "faults": {"partition": {"injected": 2, "healed": 2, "failed": 0, "seconds": 8.0, "nodes": ["n1", "n2"]}},
    "problems": ["heal <not> verified | twice"],
    "checkers": {
        "linearizable": {"valid": False, "seconds": 0.4,
                         "counterexample": {"message": "read 3 cannot be <linearized>"}},
        "stats": {"valid": True, "seconds": 0.1},
        "timeline": {"valid": "unknown", "reason": "time limit"},
    },
}


def test_junit_has_one_case_per_checker_and_marks_failures(tmp_path: Path) -> None:
    root = ET.parse(write_junit(RESULTS, tmp_path / "junit.xml", tmp_path / "run")).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == "raft-register"
    counts = [suite.get(a) for a in ("tests", "failures", "errors", "skipped")]
    assert counts == ["4", "1", "2", "0"]
    float(suite.get("time", "x"))
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["seed"] == "42" and props["python"] == "3.11"
    assert props["replay"] == "harness run --seed 42" and props["report"].endswith("report.html")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"linearizable", "stats", "timeline", "harness"}
    for c in cases.values():
        assert c.get("classname") == "harness.raft-register"
        float(c.get("time", "x"))
    failure = cases["linearizable"].find("failure")
    assert failure is not None and failure.get("type") == "invalid"
    assert "cannot be <linearized>" in (failure.get("message") or "")
    assert [c.tag for c in cases["stats"]] == ["properties"]
    assert cases["timeline"].find("error").get("type") == "unknown-checker"
    assert cases["harness"].find("error").get("type") == "unknown-harness"
    case_props = {p.get("name"): p.get("value") for p in cases["stats"].iter("property")}
    assert case_props["seed"] == "42" and "--seed 42" in case_props["replay"]


def test_summary_is_short_markdown_with_escaped_values() -> None:
    text = summary_markdown(RESULTS, Path("results/raft-register/x"))
    assert text.startswith("## ❌ INVALID: raft-register (seed 42)")
    assert "| linearizable | invalid | read 3 cannot be &lt;linearized&gt; |" in text
    assert "| stats | valid |  |" in text
    assert "partition x2 on n1 n2" in text and "7 (5 ok, 1 fail, 1 info)" in text
    assert "heal &lt;not&gt; verified \\| twice" in text
    assert "results/raft-register/x/report.html" in text
    assert len(text.splitlines()) < 20
