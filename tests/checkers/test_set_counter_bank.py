"""The set (set-full), counter and bank checkers: each error kind, and a valid history beside it."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.bank import BankChecker, check_bank
from checkers.counter import check_counter
from checkers.history import Event
from checkers.set_full import SetChecker, check_set

# --- set ------------------------------------------------------------------------------------

SET_OK = """
0 invoke add 1
0 ok add 1
3 invoke add 2
1 invoke read null
1 ok read [1]          # 2 was not acknowledged yet: not stale
2 invoke read null
2 ok read [1]          # 2 is still in flight
3 ok add 2
2 invoke read null
2 ok read [1, 2]
0 invoke read null
0 ok read [2, 1]
"""


def test_set_valid(hist) -> None:
    r = check_set(hist(SET_OK))
    assert r["valid"] is True
    assert r["stable_count"] == 2 and r["lost_count"] == 0 and r["stale_count"] == 0
    assert r["stable_latency"]["max"] is not None


def test_set_lost_element(hist) -> None:
    r = check_set(hist(SET_OK + "4 invoke read null\n4 ok read [2]\n"))
    assert r["valid"] is False and r["lost_count"] == 1
    assert r["lost"][0]["element"] == 1 and r["lost"][0]["lost_in_read_index"] == 13


def test_set_unexpected_and_duplicated(hist) -> None:
    r = check_set(hist(SET_OK + "0 invoke add 9\n0 fail add 9\n4 invoke read null\n4 ok read [1, 2, 2, 7, 9]\n"))
    assert r["valid"] is False
    assert {u["element"] for u in r["unexpected"]} == {7, 9}
    assert r["duplicated"][0]["element"] == 2


def test_set_stale_read_is_an_error_only_when_linearizable(hist) -> None:
    h = hist(
        SET_OK
        + "3 invoke add 5\n3 ok add 5\n4 invoke read null\n4 ok read [1, 2]\n0 invoke read null\n0 ok read [1, 2, 5]\n"
    )
    assert check_set(h)["valid"] is True
    assert check_set(h)["stale_count"] == 1
    assert SetChecker(linearizable=True).check(h, {})["valid"] is False


def test_set_info_add_never_seen_is_fine_and_no_reads_is_unknown(hist) -> None:
    assert check_set(hist(SET_OK + "5 invoke add 8\n5 info add 8\n"))["valid"] is True
    assert check_set(hist("0 invoke add 1\n0 ok add 1\n"))["valid"] == "unknown"


# --- counter --------------------------------------------------------------------------------

COUNTER = """
0 invoke add 1
0 ok add 1
1 invoke add 5
2 invoke read null
2 ok read {v}
1 info add 5
0 invoke add 2
0 fail add 2
2 invoke read null
2 ok read {w}
"""


def test_counter_bounds(hist) -> None:
    assert check_counter(hist(COUNTER.format(v=1, w=6)))["valid"] is True
    assert check_counter(hist(COUNTER.format(v=6, w=1)))["valid"] is True  # the info add may show, or not
    r = check_counter(hist(COUNTER.format(v=0, w=6)))
    assert r["valid"] is False and r["errors"] == [{"index": 4, "value": 0, "lower": 1, "upper": 6}]
    r = check_counter(hist(COUNTER.format(v=1, w=8)))  # the failed add of 2 cannot count
    assert r["valid"] is False and r["errors"][0]["upper"] == 6


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6))
def test_counter_serial_runs_are_valid_and_off_by_one_is_caught(seed: int) -> None:
    rng = random.Random(seed)
    events, value = [], 0
    for _ in range(30):
        p = rng.randrange(3)
        if rng.random() < 0.6:
            d = rng.randrange(-3, 6)
            events += [Event(0, 0, p, "invoke", "add", None, d), Event(0, 0, p, "ok", "add", None, d)]
            value += d
        else:
            events += [Event(0, 0, p, "invoke", "read", None, None), Event(0, 0, p, "ok", "read", None, value)]
    events += [Event(0, 0, 9, "invoke", "read", None, None), Event(0, 0, 9, "ok", "read", None, value)]
    for i, e in enumerate(events):
        e.index = e.time = i
    assert check_counter(events)["valid"] is True
    events[-1].value = value + 1
    assert check_counter(events)["valid"] is False


# --- bank -----------------------------------------------------------------------------------

BANK = """
0 invoke transfer {"from": "a", "to": "b", "amount": 5}
0 ok transfer {"from": "a", "to": "b", "amount": 5}
1 invoke read null
1 ok read {"a": 5, "b": 15}
"""


def test_bank_valid_and_wrong_total(hist) -> None:
    assert check_bank(hist(BANK), total=20)["valid"] is True
    r = check_bank(hist(BANK), total=25)
    assert r["valid"] is False and r["error_counts"] == {"wrong-total": 1}


def test_bank_total_not_conserved_without_a_given_total(hist) -> None:
    assert check_bank(hist(BANK))["valid"] is True
    r = check_bank(hist(BANK + '2 invoke read null\n2 ok read {"a": 5, "b": 10}\n'))
    assert r["valid"] is False and r["errors"][0]["type"] == "total-not-conserved"


def test_bank_negative_balance_and_accounts(hist) -> None:
    h = hist(BANK + '2 invoke read null\n2 ok read {"a": -5, "b": 25}\n')
    assert check_bank(h, total=20)["error_counts"] == {"negative-balance": 1}
    assert check_bank(h, total=20, negative_allowed=True)["valid"] is True
    r = BankChecker(total=20, accounts=["a", "b", "c"]).check(hist(BANK), {})
    assert r["valid"] is False and r["errors"][0]["missing"] == ["c"]
    assert check_bank(hist(BANK.split("1 invoke read")[0]), total=20)["valid"] == "unknown"
