"""Histories our checker once got wrong, each with the verdict it must give (see the README of
tests/data/histories/regressions)."""

from __future__ import annotations

from pathlib import Path

from checkers.models import get_model
from checkers.operations import operations
from checkers.search import Budget, check_part
from harness.cli import main

REGRESSIONS = Path(__file__).resolve().parents[1] / "data" / "histories" / "regressions"
CAS_30 = REGRESSIONS / "cas-register-30proc-linearizable.log"


def test_cas_register_30_processes_is_valid(capsys):
    """Built linearizable; once INVALID because a window refutation searched from the wrong state."""
    args = ["check", "--format", "jepsen-log", "--model", "cas-register", "--init", "null", "--semantics", "porcupine"]
    assert main([*args, str(CAS_30)]) == 0
    assert capsys.readouterr().out.startswith("VALID")


def test_search_starts_from_the_given_state_when_ops_are_dropped(hist):
    """The bug itself: an indeterminate write nobody observes is dropped by `essential`, and the
    search then started from the model's initial state instead of the one it was given."""
    events = hist(
        """
        0 invoke write 9   # indeterminate, value never observed: dropped by essential()
        1 invoke read
        1 ok read 5
        """
    )
    ops = operations(events)
    model = get_model("cas-register")
    assert len(model.essential(ops)) < len(ops)
    assert check_part(ops, model, Budget(), init=5).valid is True
    assert check_part(ops, model, Budget(), init=4).valid is False
