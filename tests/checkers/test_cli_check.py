"""`harness check`: formats, options, exit codes and the human summary."""

from __future__ import annotations

import json
from pathlib import Path

from checkers.api import summary
from harness.cli import main

HISTORIES = Path(__file__).resolve().parents[1] / "data" / "histories"  # see its README


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


STALE = [
    {"process": 0, "type": "invoke", "f": "write", "value": 1},
    {"process": 0, "type": "ok", "f": "write", "value": 1},
    {"process": 0, "type": "invoke", "f": "write", "value": 2},
    {"process": 0, "type": "ok", "f": "write", "value": 2},
    {"process": 1, "type": "invoke", "f": "read", "value": None},
    {"process": 1, "type": "ok", "f": "read", "value": 1},
]


def test_invalid_jsonl_prints_the_core_and_exits_1(tmp_path, capsys):
    path = write_jsonl(tmp_path / "history.jsonl", STALE)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("INVALID")
    assert "read -> 1" in out and "smallest non-linearizable sub-history (3 ops)" in out


def test_results_folder_and_json_output(tmp_path, capsys):
    write_jsonl(tmp_path / "history.jsonl", STALE[:2])
    assert main(["check", str(tmp_path), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["valid"] is True and r["model"] == "cas-register"


def test_budget_options_give_unknown_exit_2(tmp_path, capsys, monkeypatch):
    """The checker's clock jumps a second per reading, so the 0.05 s limit has passed before the
    first key is searched: "unknown" however fast the machine or the search."""
    import itertools
    import types

    import checkers.linearizable

    ticks = itertools.count()
    monkeypatch.setattr(checkers.linearizable, "time", types.SimpleNamespace(monotonic=lambda: float(next(ticks))))
    path = write_jsonl(tmp_path / "history.jsonl", STALE)
    assert main(["check", str(path), "--time-limit", "0.05", "--no-shrink"]) == 2
    out = capsys.readouterr().out
    assert "gave up (time limit, 0.05 s; raise it with --time-limit); 0 of 1 keys finished" in out


def test_malformed_file_is_one_line_on_stderr(tmp_path, capsys):
    path = tmp_path / "h.edn"
    path.write_text("[{:process 0 :type :invoke :f :read}\n {:process 0 :type :ok)]")
    assert main(["check", str(path), "--format", "edn"]) == 254
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path} line 2" in err


def test_published_formats_with_options(capsys):
    etcd = HISTORIES / "porcupine" / "jepsen" / "etcd_002.log"
    assert main(["check", str(etcd), "--format", "jepsen-log"]) == 0
    knossos = HISTORIES / "knossos" / "cas-register" / "bad" / "rethink-fail-minimal.edn"
    assert main(["check", str(knossos), "--format", "edn", "--init", "0"]) == 1
    kv = HISTORIES / "porcupine" / "kv" / "c10-bad.txt"
    assert main(["check", str(kv), "--format", "porcupine-kv", "--all-keys", "--json"]) == 1
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(out)["failures"]


def test_summary_of_a_valid_result_is_empty():
    assert summary({"valid": True}) == []
