"""Our Raft key-value node (nodes/raft) as a system under test.

The node runs as a daemon (`harness.dbs.daemon`): one process per node with a pidfile, so kill
and pause reach exactly it, and under libfaketime when a clock fault asks for the hook. Clients
speak the node's newline-delimited JSON protocol (nodes/README.md) over TCP straight to the
node's address. Options (`--db-opt`) choose the read path, elections and seeded bugs.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any, ClassVar

from contract.client import Definite, Indeterminate
from contract.options import Option, boolean, choice, number_range
from harness.dbs.abilities import Primaries
from harness.dbs.daemon import DaemonDB, LibfaketimeClock
from harness.dbs.leader import wait_for_agreed_leader
from harness.image import NODE_DOCKERFILE, NODE_FILES, NODE_HOME, Images
from nodes.raft.core import BUGS
from nodes.raft.server import READ_MODES

log = logging.getLogger(__name__)

PEER_PORT = 7000
CLIENT_PORT = 8000


class RaftConnection:
    """One client's connection to one node: a request at a time, following not-leader hints once.

    A reply that says not-leader is definite, so retrying it at the hinted leader cannot apply
    an operation twice; anything that goes wrong after a request was sent is indeterminate.
    """

    def __init__(self, node: str, addresses: dict[str, str], timeout: float) -> None:
        self.node = node
        self.addresses = addresses
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._sock_node: str | None = None
        self._buf = b""
        self._next_id = 0

    def _open(self, node: str) -> socket.socket:
        if self._sock is not None and self._sock_node == node:
            return self._sock
        self.close()
        try:
            sock = socket.create_connection((self.addresses[node], CLIENT_PORT), timeout=self.timeout)
        except OSError as e:
            raise Definite(f"connect: {e.strerror or type(e).__name__}") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._sock_node, self._buf = sock, node, b""
        return sock

    def _call_once(self, node: str, request: dict[str, Any]) -> dict[str, Any]:
        sock = self._open(node)
        self._next_id += 1
        request = {**request, "id": self._next_id}
        try:
            sock.sendall(json.dumps(request).encode() + b"\n")
        except OSError as e:
            self.close()
            raise Indeterminate(f"send: {e.strerror or type(e).__name__}") from e
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                reply = json.loads(line)
                if reply.get("id") == request["id"]:
                    return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise Indeterminate("timeout")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                self.close()
                raise Indeterminate("timeout") from None
            except OSError as e:
                self.close()
                raise Indeterminate(f"recv: {e.strerror or type(e).__name__}") from e
            if not chunk:
                self.close()
                raise Indeterminate("connection closed")
            self._buf += chunk

    def call(self, request: dict[str, Any]) -> Any:
        """Send a request, returning the ok value or raising Definite / Indeterminate."""
        node = self.node
        reply = self._call_once(node, request)
        hint = reply.get("leader")
        if reply.get("error") == "not-leader" and hint in self.addresses and hint != node:
            reply = self._call_once(hint, request)
        status = reply.get("status")
        if status == "ok":
            return reply.get("value")
        if status == "fail":
            raise Definite(str(reply.get("error")), reply.get("value"))
        raise Indeterminate(str(reply.get("error", "unknown reply")))

    @property
    def served_by(self) -> str | None:
        return self._sock_node

    def read(self, key: str) -> Any:
        return self.call({"op": "read", "key": key})

    def write(self, key: str, value: Any) -> None:
        self.call({"op": "write", "key": key, "value": value})

    def cas(self, key: str, expected: Any, new: Any) -> None:
        self.call({"op": "cas", "key": key, "value": [expected, new]})

    def txn(self, micro_ops: list[list[Any]]) -> list[list[Any]]:
        return self.call({"op": "txn", "value": micro_ops})

    def status(self) -> dict[str, Any]:
        return self._call_once(self.node, {"op": "status"}).get("value") or {}

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock, self._sock_node, self._buf = None, None, b""


def _exposes(bug: str, nemesis: str, *db_opts: str, workload: str = "register",
             workload_opts: tuple[str, ...] = ()) -> dict[str, Any]:
    opts = [a for o in (f"bug={bug}", *db_opts) for a in ("--db-opt", o)]
    wopts = [a for o in workload_opts for a in ("--workload-opt", o)]
    return {"name": bug, "args": ["--db", "raft", *opts, "--workload", workload, *wopts, "--nemesis", nemesis]}


# Each seeded bug (nodes/BUGS.md) and the `harness run` arguments that expose it (without
# --nodes, --time-limit and --seed), for `harness list --db raft --json` and
# benchmarks/detection.py. The fault packages bring their own rhythm (interval, client timeout).
# Rows for bugs this node does not have (yet) are left out, so the table always matches BUGS.
_EXPOSED_BY = (
    _exposes("stale-read", "partition:leader"),
    _exposes("early-ack", "partition:leader"),
    _exposes("volatile-log", "kill:all"),
    _exposes("no-election-restriction", "lag-then-kill"),
    # Leadership must outlast one injection (finding the leader, then one command on it: seconds on a
    # loaded machine); with the node's 300:600 ms the cluster changed leader every few seconds there.
    _exposes("lease-skew", "isolate-then-skew", "read-mode=lease", "election-timeout-ms=1000:2000"),
    _exposes("forget-vote", "kill-during-election", "pre-vote=false", "election-timeout-ms=3000:9000",
             workload="set"),
    # The set's reads must not write the log: a read-only transaction is a log entry of the new
    # leader's term, whose commit is a correct commit of the old entries (nodes/BUGS.md).
    _exposes("commit-old-term", "crash-after-replicate", workload="set", workload_opts=("read-with=read",)),
    _exposes("split-txn", "none", workload="bank"),
    _exposes("uncommitted-read", "partition:leader", workload="list-append"),
)
SEEDED_BUGS: tuple[dict[str, Any], ...] = tuple(b for b in _EXPOSED_BY if b["name"] in BUGS)


def without_bug(args: list[str]) -> list[str]:
    """A bug's arguments with its `--db-opt bug=...` pair removed: the control run for those faults."""
    out: list[str] = []
    pairs = iter(enumerate(args))
    for i, a in pairs:
        if a == "--db-opt" and i + 1 < len(args) and args[i + 1].startswith("bug="):
            next(pairs)
            continue
        out.append(a)
    return out


class RaftDB(DaemonDB, Primaries, LibfaketimeClock):
    """Lifecycle, process control, leader discovery and the clock hook for nodes/raft."""

    name = "raft"
    description = "our Raft key-value store (nodes/raft): registers and list-append transactions, seeded bugs"
    options: ClassVar = (
        Option("bug", "start the nodes with a seeded bug (nodes/BUGS.md); repeatable or a comma list",
               default=(), parse=choice(*BUGS), many=True, metavar="NAME"),
        Option("read-mode", "how reads are made linearizable: readindex (a heartbeat round), log (reads go "
               "through the log) or lease (wall-clock leases: fast, correct only while clocks behave)",
               default="readindex", parse=choice(*READ_MODES), metavar="MODE"),
        Option("pre-vote", "campaign with a pre-vote round", default=True, parse=boolean, metavar="BOOL"),
        Option("election-timeout-ms", "randomized election timeout range (default: the node's, 300:600)",
               parse=number_range(1, 600_000), metavar="LOW:HIGH"),
    )
    connection = RaftConnection
    bugs = SEEDED_BUGS
    min_nodes = 3
    peer_port = PEER_PORT
    data_dir = "/var/lib/raft"
    log_file = "/var/log/raft/node.log"
    pid_file = "/var/run/raft.pid"

    def image(self, images: Images) -> str:
        return images.build("harness-node", NODE_DOCKERFILE, NODE_FILES)

    def command(self, node: str) -> list[str]:
        peers = ",".join(f"{n}={a}:{PEER_PORT}" for n, a in self.addresses.items())
        return ["env", f"PYTHONPATH={NODE_HOME}", "PYTHONUNBUFFERED=1", "python3", "-m", "nodes.raft",
                "--id", node, "--peers", peers, "--client-port", str(CLIENT_PORT), "--data-dir", self.data_dir,
                *node_flags(self.opts)]

    def connect(self, node: str, timeout: float) -> RaftConnection:
        return RaftConnection(node, self.addresses, timeout)

    def statuses(self, timeout: float = 1.0, nodes: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Each reachable node's own view (role, term, leader), of `nodes` (default all); unreachable
        nodes are left out."""
        out = {}
        for node in nodes if nodes is not None else self.addresses:
            conn = RaftConnection(node, self.addresses, timeout)
            try:
                out[node] = conn.status()
            except (Definite, Indeterminate, ValueError):
                pass
            finally:
                conn.close()
        return out

    def primaries(self) -> list[str]:
        return [n for n, s in self.statuses().items() if s.get("role") == "leader"]

    def wait_ready(self, timeout: float) -> str:
        """Wait for one leader that every node agrees on and that can commit a write."""
        return wait_for_agreed_leader(self, self.statuses, timeout)


def node_flags(opts: dict[str, Any]) -> list[str]:
    """The DB options as `python3 -m nodes.raft` flags (none for the defaults)."""
    args = [arg for bug in opts.get("bug", ()) for arg in ("--bug", bug)]
    if opts.get("read-mode", "readindex") != "readindex":
        args += ["--read-mode", opts["read-mode"]]
    if not opts.get("pre-vote", True):
        args.append("--no-pre-vote")
    if opts.get("election-timeout-ms") is not None:
        args += ["--election-timeout-ms", "{:g}:{:g}".format(*opts["election-timeout-ms"])]
    return args
