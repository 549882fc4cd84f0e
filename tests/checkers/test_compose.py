"""Verdicts combine as false > unknown > true; the linearizability checker is a Checker."""

from __future__ import annotations

from checkers.api import LinearizableChecker
from checkers.checker import Checker, Compose, merge_valid


class Fixed:
    def __init__(self, valid):
        self.valid = valid

    def check(self, history, context):
        return {"valid": self.valid}


def test_merge_valid_order():
    assert merge_valid([]) is True
    assert merge_valid([True, True]) is True
    assert merge_valid([True, "unknown"]) == "unknown"
    assert merge_valid(["unknown", False, True]) is False
    assert merge_valid([True, "weird"]) == "unknown"


def test_compose_keeps_each_result():
    c = Compose({"a": Fixed(True), "b": Fixed("unknown")})
    r = c.check([], {})
    assert r == {"valid": "unknown", "a": {"valid": True}, "b": {"valid": "unknown"}}


def test_linearizable_checker_in_a_composition(hist):
    lin: Checker = LinearizableChecker()
    c = Compose({"linear": lin, "other": Fixed(True)})
    good = hist("0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read 1")
    bad = hist("0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read 2")
    assert c.check(good, {})["valid"] is True
    r = c.check(bad, {"time_limit": 5})
    assert r["valid"] is False and r["linear"]["failed_key"] is None
