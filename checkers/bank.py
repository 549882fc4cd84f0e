"""The bank checker: money moves between accounts, but the total never changes.

Operations: `transfer` (value: {"from", "to", "amount"}) and `read` (an ok completion's value:
{account: balance} for every account). Whatever the transfers did, each read taken as one
snapshot must show every account, balances summing to the total, and none negative unless
negative balances are allowed. A read that sums wrong saw part of a transfer: a transaction
was not atomic, or the read mixed states (read skew).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import Event
from checkers.intervals import intervals

SHOWN = 10


def check_bank(events: Sequence[Event], accounts: Sequence[str], total: int | float,
               negative_allowed: bool = False) -> dict[str, Any]:
    reads = [op for op in intervals(events) if op.f == "read" and op.type == "ok"]
    errors = []
    for r in reads:
        balances = r.value
        problem = None
        if not isinstance(balances, dict):
            problem = f"returned {balances!r}, not balances by account"
        else:
            missing = [a for a in accounts if a not in balances]
            odd = [a for a, b in balances.items() if isinstance(b, bool) or not isinstance(b, int | float)]
            if missing:
                problem = f"has no balance for {', '.join(missing)}"
            elif odd:
                problem = f"has a non-numeric balance for {', '.join(odd)}"
            elif sum(balances.values()) != total:
                problem = f"sums to {sum(balances.values())}, not {total}"
            elif not negative_allowed and any(b < 0 for b in balances.values()):
                problem = "has a negative balance"
        if problem is not None:
            errors.append({"index": r.complete.index, "node": r.complete.node, "balances": balances,
                           "problem": problem})
    result: dict[str, Any] = {"valid": not errors, "reads": len(reads), "total": total, "error_count": len(errors)}
    if errors:
        e = errors[0]
        result["errors"] = errors[:SHOWN]
        result["message"] = f"{len(errors)} read(s) of all balances are wrong, e.g. event {e['index']}: {e['problem']}"
    return result


class BankChecker:
    def __init__(self, accounts: Sequence[str], total: int | float, negative_allowed: bool = False) -> None:
        self.accounts = list(accounts)
        self.total = total
        self.negative_allowed = negative_allowed

    def check(self, history: Sequence[Event], context: Mapping[str, Any]) -> dict[str, Any]:
        return check_bank(history, self.accounts, self.total, self.negative_allowed)
