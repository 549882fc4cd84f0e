"""An Elle-style checker for transactional histories (list-append and rw-register).

Entry points: `check(events, workload=..., consistency_model=..., time_limit=...)` returns
{"valid": True | False | "unknown", "anomaly_types": [...], "anomalies": {...}, "not": [...],
"also_not": [...], "satisfies": [...], ...}; `TxnChecker` is the same as a harness Checker;
`read_txn_history(path)` reads our JSONL or Jepsen/Elle EDN; `summary(result)` gives terminal lines.

One idea per module: transactions (events -> txns), list_append and rw_register (version
orders and edges per workload), graph (the dependency graph on networkx), cycles (smallest
cycle search per component), models (consistency models and anomalies), explain (plain words),
check (putting it together).
"""

from checkers.txn.check import DEFAULT_MODEL, WORKLOADS, TxnChecker, check, summary
from checkers.txn.files import read_txn_history
from checkers.txn.models import MODELS

__all__ = ["DEFAULT_MODEL", "MODELS", "WORKLOADS", "TxnChecker", "check", "read_txn_history", "summary"]
