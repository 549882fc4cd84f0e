"""Reading transactional histories (our JSONL, Jepsen/Elle EDN) and the `python -m checkers.txn` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from checkers.history import HistoryError
from checkers.txn import check, read_txn_history
from checkers.txn.__main__ import main

DATA = Path(__file__).parents[1] / "data" / "elle"
ROOT = Path(__file__).parents[2]


def _jsonl(tmp_path: Path, rows: list[dict]) -> Path:
    p = tmp_path / "history.jsonl"
    p.write_text("".join(json.dumps({"index": i, "time": i, **r}) + "\n" for i, r in enumerate(rows)))
    return p


def test_our_jsonl_as_the_raft_node_writes_it(tmp_path: Path) -> None:
    # The Raft node's txn: ["append", key, value] and ["r", key, null]; an absent key reads null.
    rows = [
        {"process": 0, "type": "invoke", "f": "txn", "value": [["append", "x", 1], ["r", "y", None]]},
        {"process": 1, "type": "invoke", "f": "txn", "value": [["append", "y", 1], ["r", "x", None]]},
        {"process": 0, "type": "ok", "f": "txn", "value": [["append", "x", 1], ["r", "y", None]]},
        {"process": 1, "type": "ok", "f": "txn", "value": [["append", "y", 1], ["r", "x", None]]},
        {"process": "nemesis", "type": "info", "f": "partition", "value": None},
    ]
    r = check(read_txn_history(_jsonl(tmp_path, rows)), "list-append", "serializable")
    assert r["valid"] is False and r["anomaly_types"] == ["G2-item"]
    assert r["anomalies"]["G2-item"][0]["events"] == [0, 1, 2, 3]
    assert check(read_txn_history(_jsonl(tmp_path, rows)), "list-append", "snapshot-isolation")["valid"] is True


def test_info_txn_keeps_only_its_writes(tmp_path: Path) -> None:
    rows = [
        {"process": 0, "type": "invoke", "f": "txn", "value": [["append", "x", 1], ["r", "x", None]]},
        {"process": 0, "type": "info", "f": "txn", "value": None, "error": "timeout"},
        {"process": 1, "type": "invoke", "f": "txn", "value": [["r", "x", None]]},
        {"process": 1, "type": "ok", "f": "txn", "value": [["r", "x", [1]]]},
    ]
    r = check(read_txn_history(_jsonl(tmp_path, rows)))
    assert r["valid"] is True, r


def test_elle_edn_without_process_or_f() -> None:
    events = read_txn_history(DATA / "paper-example.edn")
    assert len(events) == 8 and all(e.f == "txn" and e.process is None for e in events)
    r = check(events, "list-append", "serializable")
    assert r["anomaly_types"] == ["G-single-item"]
    assert r["anomalies"]["G-single-item"][0]["events"] == [2, 3, 4, 5, 6, 7]


def test_malformed_edn_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "h.edn"
    p.write_text("{:type :invoke, :f :txn, :value [[:append 1 2]]}\n{:type :ok, :f :txn, :value [[:append 1 2]]\n")
    with pytest.raises(HistoryError, match=r"h\.edn line 2"):
        read_txn_history(p)
    p.write_text("{:type :okay, :value []}\n")
    with pytest.raises(HistoryError, match="line 1: :type must be one of"):
        read_txn_history(p)


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(DATA / "paper-example.edn")]) == 1
    assert "G-single-item" in capsys.readouterr().out
    assert main([str(DATA / "si-without-g-single.edn"), "--consistency-model", "snapshot-isolation"]) == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"process": 0, "type": "ok", "f": "txn", "value": [["frob", "x", 1]]}\n')
    assert main([str(bad)]) == 254
    assert "micro-op 0 has unknown function 'frob'" in capsys.readouterr().err


def test_cli_bad_option_exits_254() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "checkers.txn", "x.edn", "--consistency-model", "linearizable"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 254 and "invalid choice" in proc.stderr


def test_txn_checker_composes_with_others() -> None:
    from checkers.checker import Compose
    from checkers.txn import TxnChecker

    events = read_txn_history(DATA / "si-without-g-single.edn")
    composed = Compose({"elle": TxnChecker("list-append", "snapshot-isolation")})
    assert composed.check(events, {})["valid"] is True
    assert composed.check(events, {"consistency_model": "serializable"})["valid"] is False
