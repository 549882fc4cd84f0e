"""Readiness for a system with one elected leader: every node answers, all name the same leader,
and that leader commits a write. Shared by our Raft node and etcd (and any leader-based system).

Agreement alone is not enough: a leader elected a moment ago may not yet have committed an entry
of its term, and a workload started then would see its first operations stall or fail. The
write goes to a key outside every workload's keys (`READY_KEY`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from contract.client import Definite, Indeterminate
from harness.errors import HarnessError

READY_KEY = "__harness_ready"


def wait_for_agreed_leader(db: Any, statuses: Callable[[], dict[str, dict[str, Any]]], timeout: float) -> str:
    """The leader, once `statuses()` (node -> {"leader": node or None, "term": ...}) has every node of
    `db` naming it and it committed a write through `db.connect`; HarnessError after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        last = statuses()
        leaders = {s.get("leader") for s in last.values()}
        if len(last) == len(db.addresses) and len(leaders) == 1 and None not in leaders:
            leader = leaders.pop()
            conn = db.connect(leader, timeout=5)
            try:
                conn.write(READY_KEY, True)
                return leader
            except (Definite, Indeterminate):
                pass
            finally:
                conn.close()
        time.sleep(0.2)
    seen = ", ".join(f"{n}: leader {s.get('leader')}, term {s.get('term')}" for n, s in sorted(last.items()))
    raise HarnessError(f"{db.name}: no leader agreed on within {timeout:g} s (nodes answering: {seen or 'none'}); "
                       f"see {db.log_files(next(iter(db.addresses)))[0]} in the node logs")
