"""history.edn is valid EDN in Jepsen's shape, and our independent reader gets the same history back."""

from __future__ import annotations

from pathlib import Path

from checkers.formats import read_edn
from checkers.history import NEMESIS, HistoryWriter, read_history
from harness.edn_export import jsonl_to_edn, op, value


def test_values_become_edn() -> None:
    assert value(None) == "nil" and value(True) == "true" and value(3) == "3" and value(1.5) == "1.5"
    assert value([1, [2, None]]) == "[1 [2 nil]]"
    assert value('a "q"\n\\') == r'"a \"q\"\n\\"'
    assert value({"kind": "x", "not a keyword": 1}) == '{:kind "x", "not a keyword" 1}'
    assert value(float("nan")) == "##NaN"


def test_lone_surrogates_are_escaped_so_the_file_can_be_written(tmp_path: Path) -> None:
    """JSON allows an unpaired surrogate ("\\ud800"); UTF-8 cannot encode one, so it is escaped."""
    assert value("a\ud800b") == r'"a\ud800b"'
    jsonl = tmp_path / "h.jsonl"
    jsonl.write_text('{"index": 0, "time": 1, "process": 0, "type": "invoke", "f": "write", "value": "\\udc00"}\n')
    edn = jsonl_to_edn(jsonl, tmp_path / "h.edn")
    assert r'"\udc00"' in edn.read_text(encoding="utf-8")


def test_ops_have_jepsen_fields() -> None:
    line = op({"index": 3, "time": 99, "process": 2, "type": "ok", "f": "cas", "key": "r0", "value": [1, 2],
               "node": "n1", "error": "cas-mismatch"})
    assert line == ('{:index 3, :time 99, :type :ok, :process 2, :f :cas, :value ["r0" [1 2]], :node "n1", '
                    ':error :cas-mismatch}')
    nemesis = op({"index": 4, "time": 100, "process": NEMESIS, "type": "invoke", "f": "start-partition",
                  "value": None})
    assert ":process :nemesis" in nemesis and ":type :info" in nemesis and ":f :start-partition" in nemesis


def test_round_trip_through_the_checkers_edn_reader(tmp_path: Path) -> None:
    jsonl = tmp_path / "history.jsonl"
    with HistoryWriter(jsonl) as h:
        h.append(0, "invoke", "write", "r0", 3)
        h.append(NEMESIS, "invoke", "start-partition")
        h.append(0, "ok", "write", "r0", 3, node="n1")
        h.append(NEMESIS, "info", "start-partition", value={"components": [["n1"], ["n2", "n3"]]})
        h.append(1, "invoke", "cas", "r1", [3, 4])
        h.append(1, "fail", "cas", "r1", [3, 4], error="cas-mismatch")
        h.append(2, "invoke", "read", "r0", None)
        h.append(2, "info", "read", "r0", None, error='timeout "quoted"\n')
    with open(jsonl, "a") as f:
        f.write('{"index": 8, "time": 1')  # a line cut short by a crash
    original = read_history(jsonl)
    back = read_edn(jsonl_to_edn(jsonl, tmp_path / "history.edn"))
    assert len(back) == len(original) == 8
    for a, b in zip(original, back, strict=True):
        assert (a.process, a.f, a.time, a.error) == (b.process, b.f, b.time, b.error)
        if a.is_client:
            assert (a.type, a.key, a.value) == (b.type, b.key, b.value)
        else:
            assert b.type == "info" and b.value == a.value
