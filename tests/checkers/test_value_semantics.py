"""Exact value semantics (docs/history-format.md): JSON values compare as JSON, never as Python.

The reference for "the same value" is the Raft node's own rule: two values are equal iff their
canonical JSON texts are (sorted keys), so true != 1, 1 != 1.0, 0.0 != -0.0, {} != [].
Every property goes through a real file and `check_file`, so the reader is covered too.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from checkers.api import check_file
from checkers.values import freeze

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 1.0, 2.0, 1e16])
    | st.text(max_size=4)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
    max_leaves=8,
)
# Values that Python's == merges and JSON keeps apart: the pairs most likely to expose a merge.
CONFUSABLE = st.sampled_from([0, 1, 0.0, 1.0, -0.0, True, False, [], {}, [["a", 1]], {"a": 1}, [True], [1], "1", None])
ANY_VALUE = CONFUSABLE | VALUES
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def canonical(v: object) -> str:
    return json.dumps(v, sort_keys=True)


def check(tmp_path, rows: list[dict]) -> dict:
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return check_file(path, shrink=False)


def op(process: int, f: str, value: object, out: object = None, key: object = "k") -> list[dict]:
    return [
        {"process": process, "type": "invoke", "f": f, "key": key, "value": value},
        {"process": process, "type": "ok", "f": f, "key": key, "value": value if out is None else out},
    ]


@SETTINGS
@given(a=ANY_VALUE, b=ANY_VALUE)
def test_freeze_equality_is_json_equality(a, b):
    same = canonical(a) == canonical(b)
    assert (freeze(a) == freeze(b)) is same
    assert (freeze(a) != freeze(b)) is not same
    if same:
        assert hash(freeze(a)) == hash(freeze(b))


@SETTINGS
@given(written=ANY_VALUE, read=ANY_VALUE)
def test_a_read_of_another_value_is_never_valid(tmp_path, written, read):
    assume(written is not None and read is not None)  # a null read means "absent"
    r = check(tmp_path, op(0, "write", written) + op(1, "read", None, read))
    assert r["valid"] is (canonical(written) == canonical(read))


@SETTINGS
@given(written=ANY_VALUE, expected=ANY_VALUE)
def test_a_cas_succeeds_only_on_the_same_value(tmp_path, written, expected):
    assume(written is not None and expected is not None)
    r = check(tmp_path, op(0, "write", written) + op(1, "cas", [expected, "new"]))
    assert r["valid"] is (canonical(written) == canonical(expected))


@SETTINGS
@given(k1=ANY_VALUE, k2=ANY_VALUE)
def test_distinct_keys_never_merge(tmp_path, k1, k2):
    assume(canonical(k1) != canonical(k2))
    # Key k1 gets 7; a read of k2 that sees 7 can only be explained if k2 were k1.
    r = check(tmp_path, op(0, "write", 7, key=k1) + op(1, "read", None, 7, key=k2))
    assert r["valid"] is False
    assert r["keys"] == 2


def test_cases_from_the_issue(tmp_path):
    cases = [({"a": 1}, [["a", 1]]), ([], {}), ([True], [1]), (1, 1.0), (True, 1), (0.0, -0.0)]
    for written, read in cases:
        assert check(tmp_path, op(0, "write", written) + op(1, "read", None, read))["valid"] is False, (written, read)
        assert check(tmp_path, op(0, "write", written) + op(1, "read", None, written))["valid"] is True, written
    # Keys true and 1, 1 and 1.0: two registers, so each read sees its own write.
    for k1, k2 in [(True, 1), (1, 1.0)]:
        rows = op(0, "write", "x", key=k1) + op(1, "write", "y", key=k2) + op(2, "read", None, "x", key=k1)
        assert check(tmp_path, rows)["keys"] == 2


def test_object_key_order_does_not_matter(tmp_path):
    r = check(tmp_path, op(0, "write", {"a": 1, "b": [2]}) + op(1, "read", None, {"b": [2], "a": 1}))
    assert r["valid"] is True
