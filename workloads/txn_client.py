"""The client side shared by the workloads that speak in transactions (`conn.txn`).

A transaction is a list of micro-ops `[f, key, value]`; the system returns it with reads filled
in. Every transactional workload sends its operations this way, so each needs only the system's
`txn` (see contract.client.TxnConnection).
"""

from __future__ import annotations

from typing import Any

from contract.client import Completion, Op, perform


def run_txn(conn: Any, op: Op, micro_ops: list[list[Any]], ok_value: Any = None) -> Completion:
    """Send `micro_ops` as one transaction; `ok_value` maps the filled-in micro-ops to the completion's
    value (default: the micro-ops themselves, as Elle's histories record them)."""
    return perform(lambda: conn.txn(micro_ops), op, ok_value=ok_value or (lambda done: done))
