"""The bank workload's checker: transfers move money, they never make or destroy it.

Op shapes (our Event history): `f "transfer"`, value {"from": account, "to": account,
"amount": n} (invoke, then ok / fail / info); `f "read"`, value null on invoke and
{account: balance} on an ok completion (keys may be strings or numbers; JSON makes them
strings).

Every ok read is a snapshot and must show:

- the total: equal to `total` when given; when not, every read must show the same total
  (a history can show that money appeared or vanished without anyone saying how much there
  was, but then it cannot say which read is right, so it lists the totals it saw);
- no negative balance, unless `negative_allowed`;
- exactly the accounts in `accounts`, when given.

A history with no ok read is "unknown": nothing was checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from checkers.history import NEMESIS, Event

MAX_LISTED = 32


def check_bank(
    history: Sequence[Event],
    total: int | float | None = None,
    negative_allowed: bool = False,
    accounts: Iterable[Any] | None = None,
) -> dict[str, Any]:
    wanted = {str(a) for a in accounts} if accounts is not None else None
    reads = [e for e in history if e.process != NEMESIS and e.f == "read" and e.type == "ok"]
    transfers = [e for e in history if e.process != NEMESIS and e.f == "transfer" and e.type != "invoke"]
    if not reads:
        return {"valid": "unknown", "reason": "no read completed, so nothing could be checked"}
    errors: list[dict[str, Any]] = []
    totals: dict[Any, list[int]] = {}
    for e in reads:
        if not isinstance(e.value, Mapping) or not all(
            isinstance(b, (int, float)) and not isinstance(b, bool) for b in e.value.values()
        ):
            errors.append({"type": "malformed-read", "index": e.index, "value": e.value})
            continue
        balances = {str(k): b for k, b in e.value.items()}
        s = sum(balances.values())
        totals.setdefault(s, []).append(e.index)
        if total is not None and s != total:
            errors.append({"type": "wrong-total", "index": e.index, "total": s, "expected": total})
        negative = {k: b for k, b in balances.items() if b < 0}
        if negative and not negative_allowed:
            errors.append({"type": "negative-balance", "index": e.index, "balances": negative})
        if wanted is not None and set(balances) != wanted:
            errors.append({"type": "wrong-accounts", "index": e.index, "missing": sorted(wanted - set(balances)),
                           "unexpected": sorted(set(balances) - wanted)})
    if total is None and len(totals) > 1:
        errors.append({"type": "total-not-conserved",
                       "totals": {str(t): idx[:MAX_LISTED] for t, idx in sorted(totals.items())}})
    kinds: dict[str, int] = {}
    for err in errors:
        kinds[err["type"]] = kinds.get(err["type"], 0) + 1
    result = {
        "valid": not errors,
        "reads": len(reads),
        "transfers": {t: sum(1 for e in transfers if e.type == t) for t in ("ok", "fail", "info")},
        "totals_seen": sorted(totals, key=float)[:MAX_LISTED],
        "error_counts": kinds,
        "errors": errors[:MAX_LISTED],
    }
    if errors:
        e = errors[0]
        where = f"event {e['index']}" if "index" in e else "across reads"
        detail = {"wrong-total": lambda: f"balances sum to {e['total']}, not {e['expected']}",
                  "negative-balance": lambda: f"negative balances {e['balances']}",
                  "wrong-accounts": lambda: f"missing {e['missing']}, unexpected {e['unexpected']}",
                  "total-not-conserved": lambda: f"reads show different totals {sorted(e['totals'])}",
                  }.get(e["type"], lambda: e["type"])()
        result["message"] = (f"{len(errors)} bad read(s) of all balances ("
                             + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + f"), e.g. {where}: {detail}")
    return result


class BankChecker:
    """The bank checker as a `Checker`; `context` may set "total", "negative_allowed", "accounts"."""

    def __init__(self, total: int | float | None = None, negative_allowed: bool = False,
                 accounts: Iterable[Any] | None = None) -> None:
        self.total = total
        self.negative_allowed = negative_allowed
        self.accounts = list(accounts) if accounts is not None else None

    def check(self, history: Sequence[Event], context: Mapping[str, Any]) -> dict[str, Any]:
        return check_bank(
            history,
            context.get("total", self.total),
            context.get("negative_allowed", self.negative_allowed),
            context.get("accounts", self.accounts),
        )
