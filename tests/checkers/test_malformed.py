"""Whatever bytes a history file holds, checking it ends in a verdict or one HistoryError."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.api import check_file
from checkers.history import HistoryError

EDN_BITS = [
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ":process",
    ":type",
    ":invoke",
    ":ok",
    ":fail",
    ":info",
    ":f",
    ":read",
    ":write",
    ":cas",
    ":value",
    "nil",
    "0",
    "1",
    "-2",
    '"s"',
    "#{",
    "#_",
    ";c\n",
    ",",
    " ",
    "\n",
    "#jepsen.history.Op",
    ":nemesis",
    "[1 2]",
    "\\",
    '"',
    "1.5",
    ":key",
]
LOG_BITS = [
    "INFO  jepsen.util - ",
    "0",
    "1",
    "\t",
    " ",
    ":invoke",
    ":ok",
    ":fail",
    ":info",
    ":read",
    ":write",
    ":cas",
    "nil",
    "[1 2]",
    ":timed-out",
    "\n",
    "x",
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(["read", "write", "cas", "ok", "invoke", "nemesis", "fail", "info"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["process", "type", "f", "value", "key", "index", "time"]), inner, max_size=7)
    ),
    max_leaves=12,
)


def check_text(tmp_path, text: str, format: str) -> None:
    path = tmp_path / "history"
    path.write_text(text)
    try:
        r = check_file(path, format=format, time_limit=5)
    except HistoryError as e:
        assert str(e)
        return
    assert r["valid"] in (True, False, "unknown")
    json.dumps(r)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(EDN_BITS), max_size=60), st.sampled_from(["edn", "porcupine-kv"]))
def test_fuzzed_edn(tmp_path, bits, format):
    check_text(tmp_path, "".join(bits), format)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(LOG_BITS), max_size=60))
def test_fuzzed_jepsen_log(tmp_path, bits):
    check_text(tmp_path, "".join(bits), "jepsen-log")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(JSON_VALUES, max_size=8))
def test_fuzzed_jsonl(tmp_path, lines):
    check_text(tmp_path, "\n".join(json.dumps(x) for x in lines) + "\n", "jsonl")


@pytest.mark.parametrize(
    ("text", "format"),
    [
        ("[{:process 0 :type :invoke :f :cas :value 3}\n {:process 0 :type :ok :f :cas :value 3}]", "edn"),
        ("[{:process 0 :type :invoke :f :frobnicate}]", "edn"),
        ('{"process": 0, "type": "invoke", "f": "cas", "value": [1]}\n', "jsonl"),
    ],
)
def test_ill_typed_ops_name_the_file_and_line(tmp_path, text, format):
    path = tmp_path / "h"
    path.write_text(text)
    with pytest.raises(HistoryError, match=rf"^{path} line 1: "):
        check_file(path, format=format)
