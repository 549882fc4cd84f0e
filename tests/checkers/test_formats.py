"""File readers: every format reads, and a malformed file gives one error naming its line."""

from __future__ import annotations

import json

import pytest

from checkers.api import check_file
from checkers.edn import iter_edn
from checkers.formats import read_edn, read_events, read_jepsen_log
from checkers.history import HistoryError


def test_edn_values():
    text = """; a comment
    {:a 1, :b [1 2.5 -3 nil true false "s\\"q"] :c #{:x} :d (1 2) #_ :gone :e \\c
     :f #jepsen.history.Op{:type :ok} :g 12N}"""
    ((line, value),) = list(iter_edn(text))
    assert line == 2
    assert value == {
        "a": 1,
        "b": [1, 2.5, -3, None, True, False, 's"q'],
        "c": frozenset({"x"}),
        "d": [1, 2],
        "e": "c",
        "f": {"type": "ok"},
        "g": 12,
    }


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("[{:a 1}\n {:b 2]", 2, "closes"),
        ("[{:a 1}\n\n {:b", 3, "never closed"),
        ("{:a}", 1, "even"),
        ("\n)", 2, "unmatched"),
    ],
)
def test_edn_errors_name_the_line(text, line, what):
    with pytest.raises(HistoryError, match=f"line {line}.*{what}"):
        list(iter_edn(text, "h.edn"))


def test_read_edn_vector_and_nemesis(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text("""[{:process 0, :type :invoke, :f :write, :value 1}
 {:process :nemesis, :type :info, :f :start, :value nil}
 {:process 0, :type :ok, :f :write, :value 1}]""")
    events = read_edn(p)
    assert [e.process for e in events] == [0, "nemesis", 0]
    assert check_file(p, format="edn", init=0)["valid"] is True


def test_read_edn_one_map_per_line_with_tagged_ops(tmp_path):
    p = tmp_path / "history.edn"
    p.write_text(
        "#jepsen.history.Op{:index 0 :time 5 :type :invoke :process 0 :f :read :value nil}\n"
        "#jepsen.history.Op{:index 1 :time 9 :type :ok :process 0 :f :read :value 0}\n"
    )
    events = read_edn(p)
    assert [(e.type, e.time, e.value) for e in events] == [("invoke", 5, None), ("ok", 9, 0)]


def test_jepsen_independent_tuples_become_keys(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text("""[{:process 0 :type :invoke :f :write :value [7 1]}
 {:process 0 :type :ok :f :write :value [7 1]}
 {:process 1 :type :invoke :f :cas :value [8 [0 2]]}
 {:process 1 :type :fail :f :cas :value [8 [0 2]]}
 {:process 0 :type :invoke :f :read :value [8 nil]}
 {:process 0 :type :ok :f :read :value [8 1]}]""")
    events = read_edn(p)
    assert [(e.key, e.value) for e in events][:3] == [(7, 1), (7, 1), (8, [0, 2])]
    r = check_file(p, format="edn", semantics="harness")
    assert r["keys"] == 2 and r["valid"] is False and r["failed_key"] == 8


def test_plain_cas_only_history_is_not_mistaken_for_tuples(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text("[{:process 0 :type :invoke :f :cas :value [0 1]} {:process 0 :type :ok :f :cas :value [0 1]}]")
    assert [e.key for e in read_edn(p)] == [None, None]


def test_bad_edn_op_names_line(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text("[{:process 0 :type :invoke :f :read}\n {:process 0 :type :done :f :read}]")
    with pytest.raises(HistoryError, match=r"line 2: :type"):
        read_edn(p)


LOG = """INFO  jepsen.util - 4\t:invoke\t:read\tnil
INFO  jepsen.util - 4\t:ok\t:read\tnil
INFO  jepsen.util - 1\t:invoke\t:write\t1
INFO  jepsen.util - 2\t:invoke\t:cas\t[2 4]
INFO  jepsen.util - 1 :ok :write 1
INFO  jepsen.util - 2\t:fail\t:cas\t[2 4]
INFO  jepsen.util - 3\t:invoke\t:write\t3
INFO  jepsen.util - 3\t:info\t:write\t:timed-out
INFO  jepsen.util - 5\t:invoke\t:read\tnil
INFO  jepsen.util - 5\t:fail\t:read\t:timed-out
some other log line
"""


def test_jepsen_log(tmp_path):
    p = tmp_path / "etcd.log"
    p.write_text(LOG)
    events = read_jepsen_log(p)
    assert [(e.process, e.type, e.f, e.value) for e in events] == [
        (4, "invoke", "read", None),
        (4, "ok", "read", None),
        (1, "invoke", "write", 1),
        (2, "invoke", "cas", [2, 4]),
        (1, "ok", "write", 1),
        (2, "fail", "cas", [2, 4]),
        (3, "invoke", "write", 3),
        (5, "invoke", "read", None),
        (5, "fail", "read", None),
    ]
    r = check_file(p, format="jepsen-log")
    assert r["valid"] is True and r["semantics"] == "porcupine"


def test_jepsen_log_bad_event_line(tmp_path):
    p = tmp_path / "etcd.log"
    p.write_text(LOG + "INFO  jepsen.util - 4\t:ok\t:read\tbanana\n")
    with pytest.raises(HistoryError, match="line 12"):
        read_jepsen_log(p)


def test_porcupine_kv(tmp_path):
    p = tmp_path / "c01.txt"
    p.write_text(
        '{:process 0, :type :invoke, :f :append, :key "0", :value "x"}\n'
        '{:process 0, :type :ok, :f :append, :key "0", :value "x"}\n'
        '{:process 0, :type :invoke, :f :get, :key "0", :value nil}\n'
        '{:process 0, :type :ok, :f :get, :key "0", :value "x"}\n'
    )
    r = check_file(p, format="porcupine-kv")
    assert r["valid"] is True and r["model"] == "key-value"


def test_jsonl_and_errors(tmp_path):
    p = tmp_path / "history.jsonl"
    lines = [{"process": 0, "type": "invoke", "f": "write", "value": 1}, {"process": 0, "type": "ok", "f": "write"}]
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert check_file(p)["valid"] is True
    with pytest.raises(HistoryError, match="cannot read"):
        check_file(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="unknown format"):
        read_events(p, "xml")
    bin_file = tmp_path / "b.edn"
    bin_file.write_bytes(b"\xff\xfe")
    with pytest.raises(HistoryError, match="UTF-8"):
        read_edn(bin_file)


def test_wrong_format_is_an_error_not_an_empty_history(tmp_path):
    p = tmp_path / "c01.txt"
    p.write_text('{:process 0, :type :invoke, :f :get, :key "0", :value nil}\n')
    with pytest.raises(HistoryError, match="not a jepsen-log"):
        check_file(p, format="jepsen-log")
    empty = tmp_path / "empty.log"
    empty.write_text("")
    with pytest.raises(HistoryError, match="no client operation"):
        check_file(empty, format="jepsen-log")
