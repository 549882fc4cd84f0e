"""The transaction bugs (nodes/BUGS.md: split-txn, uncommitted-read) on three real node processes.

Each test shows the anomaly with the bug on and its absence with the bug off, with the same
requests, so it is the bug that makes the difference and not the test's timing.
"""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from raft_procs import ProcCluster

from nodes.raft.core import SERVER_BUGS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
def cluster_of(tmp_path: Path) -> Iterator:
    made: list[ProcCluster] = []

    def make(*args: str) -> ProcCluster:
        base = tmp_path / str(len(made))
        base.mkdir()
        c = ProcCluster(base, extra_args=list(args))
        made.append(c)
        c.start_all()
        c.wait_for(c.leader, what="a leader")
        return c

    yield make
    for c in made:
        c.stop_all()


def pipelined(port: int, requests: list[dict], timeout: float = 20.0) -> dict[int, dict]:
    """Send every request at once on one connection (the node runs them concurrently); replies by id."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(b"".join(json.dumps(r).encode() + b"\n" for r in requests))
        replies: dict[int, dict] = {}
        buf = b""
        while len(replies) < len(requests):
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                reply = json.loads(line)
                replies[reply["id"]] = reply
        return replies
    finally:
        sock.close()


def torn_reads(cluster: ProcCluster) -> int:
    """Transactions that write x and y together, interleaved with transactions that read both:
    how many reads saw x and y from different writes."""
    leader = cluster.leader()
    assert leader is not None
    requests = []
    for i in range(150):
        requests.append({"id": 2 * i, "op": "txn", "value": [["w", "x", i], ["w", "y", i]]})
        requests.append({"id": 2 * i + 1, "op": "txn", "value": [["r", "y", None], ["r", "x", None]]})
    replies = pipelined(cluster.client_ports[leader], requests)
    reads = [r["value"] for r in replies.values() if r.get("status") == "ok" and r["value"][0][0] == "r"]
    assert len(reads) > 100
    return sum(1 for (_, _, y), (_, _, x) in reads if x != y)


def test_split_txn_lets_other_commands_in_between_micro_ops(cluster_of) -> None:
    assert torn_reads(cluster_of()) == 0
    assert torn_reads(cluster_of("--bug", "split-txn")) > 0


def read_during_lost_quorum(cluster: ProcCluster) -> dict:
    """Stop both followers, then ask the leader to append to a list and, at once, to read it."""
    leader = cluster.leader()
    assert leader is not None
    for nid in cluster.ids:
        if nid != leader:
            cluster.procs[nid].send_signal(signal.SIGSTOP)
    try:
        replies = pipelined(cluster.client_ports[leader], [
            {"id": 1, "op": "txn", "value": [["append", "l", 7]]},
            {"id": 2, "op": "txn", "value": [["r", "l", None]]},
        ], timeout=30)
    finally:
        for nid in cluster.ids:
            if nid != leader:
                cluster.procs[nid].send_signal(signal.SIGCONT)
    return replies


def test_uncommitted_read_shows_an_append_no_majority_has(cluster_of) -> None:
    slow = ("--election-timeout-ms", "1500:3000")  # the leader keeps leading a while without its followers
    buggy = read_during_lost_quorum(cluster_of(*slow, "--bug", "uncommitted-read"))
    assert buggy[2] == {"id": 2, "status": "ok", "value": [["r", "l", [7]]]}, buggy
    correct = read_during_lost_quorum(cluster_of(*slow))
    assert correct[2]["status"] != "ok", correct  # a read-only txn needs a majority too


def test_the_server_bugs_are_these() -> None:
    """Each server bug has its test here (the consensus bugs are hunted by the simulation)."""
    assert set(SERVER_BUGS) == {"split-txn", "uncommitted-read"}
