"""The set, counter and bank checkers on hand-built histories: each anomaly beside a valid twin."""

from __future__ import annotations

import pytest

from checkers.bank import check_bank
from checkers.counter import check_counter
from checkers.set_full import check_set

SET_OK = """
0 invoke add 1
0 ok add 1
1 invoke add 2
1 ok add 2
2 invoke read
2 ok read [1, 2]
2 invoke read
2 ok read [2, 1]
"""


def test_set_valid_twin_is_stable(hist) -> None:
    r = check_set(hist(SET_OK))
    assert r["valid"] is True and r["stable_count"] == 2 and r["lost_count"] == 0, r
    assert set(r["visible_ms"]) == {"p50", "p99", "max"}


def test_set_lost_element(hist) -> None:
    r = check_set(hist(SET_OK.replace("2 ok read [2, 1]", "2 ok read [2]")))
    assert r["valid"] is False and r["lost_count"] == 1 and r["lost"][0]["element"] == 1, r
    assert r["lost"][0]["missing_from_read"]["index"] == 7
    assert "lost" in r["message"]


def test_set_stale_read_is_an_error_only_when_linearizable(hist) -> None:
    text = SET_OK.replace("2 ok read [1, 2]", "2 ok read [2]") + "2 invoke read\n2 ok read [1, 2]\n"
    assert check_set(hist(text))["stale_count"] == 1
    assert check_set(hist(text))["valid"] is False
    assert check_set(hist(text), linearizable=False)["valid"] is True


def test_set_unexpected_and_duplicated(hist) -> None:
    assert check_set(hist(SET_OK.replace("2 ok read [2, 1]", "2 ok read [2, 1, 9]")))["unexpected_count"] == 1
    dup = check_set(hist(SET_OK.replace("2 ok read [2, 1]", "2 ok read [2, 1, 1]")))
    assert dup["valid"] is False and dup["duplicated_count"] == 1


def test_set_types_are_exact(hist) -> None:
    """1.0 and true are not the element 1: a read of them is unexpected, and 1 is lost."""
    r = check_set(hist(SET_OK.replace("2 ok read [2, 1]", "2 ok read [2, true]")))
    assert r["valid"] is False and r["unexpected_count"] == 1 and r["lost_count"] == 1


def test_set_indeterminate_add_may_appear_or_not(hist) -> None:
    text = "0 invoke add 5\n0 info add 5\n1 invoke read\n1 ok read []\n1 invoke read\n1 ok read [5]\n"
    assert check_set(hist(text))["valid"] is True


COUNTER = """
0 invoke add 2
0 ok add 2
1 invoke add 3
2 invoke read
2 ok read {read}
1 info add 3
2 invoke read
2 ok read {final}
"""


@pytest.mark.parametrize(("read", "final", "valid"), [
    (2, 2, True), (5, 5, True), (2, 5, True),  # the info add may or may not have happened
    (1, 2, False),  # misses an add acknowledged before the read began
    (6, 5, False),  # more than was ever attempted
    (2, 9, False),
])
def test_counter_reads_are_bounded(hist, read: int, final: int, valid: bool) -> None:
    r = check_counter(hist(COUNTER.format(read=read, final=final)))
    assert r["valid"] is valid, r
    if not valid:
        assert r["errors"][0]["index"] in (4, 7) and "out of bounds" in r["message"]


def test_counter_failed_add_counts_in_no_bound(hist) -> None:
    text = "0 invoke add 4\n0 fail add 4\n1 invoke read\n1 ok read 4\n"
    assert check_counter(hist(text))["valid"] is False


BANK = """
0 invoke init {{"a": 5, "b": 5}}
0 ok init {{"a": 5, "b": 5}}
1 invoke transfer {{"from": "a", "to": "b", "amount": 2}}
1 ok transfer {{"from": "a", "to": "b", "amount": 2}}
2 invoke read
2 ok read {read}
"""


@pytest.mark.parametrize(("read", "valid", "why"), [
    ('{"a": 3, "b": 7}', True, None),
    ('{"a": 3, "b": 5}', False, "sums to 8"),
    ('{"a": 3}', False, "no balance for b"),
    ('{"a": -1, "b": 11}', False, "negative"),
    ('{"a": 3, "b": true}', False, "non-numeric"),
])
def test_bank_reads_conserve_the_total(hist, read: str, valid: bool, why: str | None) -> None:
    r = check_bank(hist(BANK.format(read=read)), ["a", "b"], 10)
    assert r["valid"] is valid, r
    if why:
        assert why in r["errors"][0]["problem"] and r["errors"][0]["index"] == 5
