"""The report's counterexample is drawn from what the checker returned, by event index."""

from __future__ import annotations

import html
import json
from pathlib import Path

from report_fixtures import stale_run

from harness.report.html import write_report


def test_counterexample_shows_nodes_faults_and_the_story(tmp_path: Path) -> None:
    run_dir = stale_run(tmp_path)
    cex = json.loads((run_dir / "results.json").read_text())["checkers"]["linearizable"]["counterexample"]
    text = write_report(run_dir).read_text()
    assert f"Why: {html.escape(cex['explanation']['story'])}" in text
    for b in cex["explanation"]["because"]:
        assert f"event {b['index']}, node {b['node']}" in text, "each op of the story with its node"
    assert "Faults in place while this happened" in text and "partition n1 | n2 n3" in text
    assert " @n" in text, "bars are labelled with the node that served them"


def test_prefix_is_placed_by_index_not_by_description(tmp_path: Path) -> None:
    run_dir = stale_run(tmp_path)
    path = run_dir / "results.json"
    results = json.loads(path.read_text())
    cex = results["checkers"]["linearizable"]["counterexample"]
    for p in cex["prefix"]:
        p["description"] = "renamed: the report must not match ops by description"
    path.write_text(json.dumps(results))
    text = write_report(run_dir).read_text()
    assert '<g class="lin">' in text, "the prefix's linearization is drawn from its indices"
    for p in cex["prefix"]:
        p.pop("index")
    path.write_text(json.dumps(results))
    assert '<g class="lin">' not in write_report(run_dir).read_text(), "no indices: the text view only"
