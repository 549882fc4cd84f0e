"""`harness check --workload NAME`: a saved history judged by that workload's own checkers."""

from __future__ import annotations

import json
from pathlib import Path

from harness.cli import main

ELLE = Path(__file__).resolve().parents[1] / "data" / "elle"


def test_elle_example_history_under_each_consistency_model(capsys) -> None:
    paper = str(ELLE / "paper-example.edn")
    assert main(["check", "--workload", "list-append", paper]) == 1
    out = capsys.readouterr().out
    assert "G-single-item" in out and "satisfies: read-committed, read-uncommitted" in out
    assert main(["check", "--workload", "list-append", "--workload-opt", "consistency-model=read-committed",
                 paper, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["valid"] is True and r["checkers"]["elle"]["anomaly_types"] == ["G-single-item"]


def test_set_and_bank_histories_from_our_jsonl(tmp_path: Path, capsys) -> None:
    rows = [{"process": 0, "type": "invoke", "f": "add", "value": 1},
            {"process": 0, "type": "ok", "f": "add", "value": 1},
            {"process": 1, "type": "invoke", "f": "read"}, {"process": 1, "type": "ok", "f": "read", "value": []}]
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["check", "--workload", "set", str(path)]) == 1
    assert "lost" in capsys.readouterr().out
    bank = tmp_path / "bank.jsonl"
    bank.write_text(json.dumps({"process": 0, "type": "invoke", "f": "read"}) + "\n"
                    + json.dumps({"process": 0, "type": "ok", "f": "read", "value": {"a0": 60, "a1": 40}}) + "\n")
    assert main(["check", "--workload", "bank", "--workload-opt", "accounts=2", str(bank)]) == 0


def test_misuse_is_one_line_and_254(tmp_path: Path, capsys) -> None:
    paper = str(ELLE / "paper-example.edn")
    assert main(["check", "--workload", "list-append", "--model", "cas-register", paper]) == 254
    assert "--model is for the linearizability check" in capsys.readouterr().err
    assert main(["check", "--workload", "nosuch", paper]) == 254
    assert "--workload nosuch" in capsys.readouterr().err
    assert main(["check", "--workload", "list-append", "--workload-opt", "consistency-model=bogus", paper]) == 254
    assert "consistency-model=bogus" in capsys.readouterr().err
    empty = tmp_path / "empty.edn"
    empty.write_text("[]\n")
    assert main(["check", "--workload", "list-append", str(empty)]) == 254
