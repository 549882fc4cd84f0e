"""A system a user might bring: a primary/backup key-value store that fails over by timeout.

Test it with:  harness run --db examples/failover_kv.py:FailoverKV --nemesis partition

The whole system, server and harness side, is this one file. Each node runs the top half as a
script (standard library only, copied onto the node by `setup`); the harness loads the bottom
half. The store is correct while the network is healthy: every request goes to the primary,
which applies it under a lock and copies each write to the backups before it answers. Its bug
is the classic one: a node takes the lowest-named node it has heard from within the last second
as the primary. Cut the network in two and each side elects its own primary and takes writes
(split brain); after the heal, the lowest-named node is primary again and whatever the other
side accepted is lost. There is no consensus and no fencing, so `--nemesis partition` shows
stale reads and lost writes within seconds.
"""
# The harness imports sit below the server half, so that a node (standard library only) never runs them:
# ruff: noqa: E402

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import socketserver
import threading
import time
from pathlib import Path

PORT = 7100  # clients and peers alike: newline-delimited JSON, one request, one reply


def ask(address: str, message: dict, timeout: float) -> dict:
    """One request to a node over a fresh connection, and its reply."""
    with socket.create_connection((address, PORT), timeout=timeout) as sock:
        sock.sendall(json.dumps(message).encode() + b"\n")
        line = sock.makefile("rb").readline()
    if not line:
        raise ConnectionError("connection closed before a reply")
    return json.loads(line)


class Node:
    def __init__(self, me: str, peers: dict[str, str], data_dir: str, dead_after: float) -> None:
        self.me, self.peers, self.dead_after = me, peers, dead_after
        self.file = Path(data_dir) / "data.json"
        self.data = json.loads(self.file.read_text()) if self.file.exists() else {}
        self.heard: dict[str, float] = {}  # peer -> when it last answered a ping (monotonic)
        self.lock = threading.Lock()

    def alive(self) -> list[str]:
        return [p for p, t in self.heard.items() if time.monotonic() - t < self.dead_after]

    def primary(self) -> str:
        return min([self.me, *self.alive()])  # THE BUG: each side of a partition picks its own

    def heartbeat(self) -> None:
        while True:
            for peer, address in self.peers.items():
                try:
                    ask(address, {"op": "ping"}, timeout=0.3)
                    self.heard[peer] = time.monotonic()
                except (OSError, ValueError):
                    pass
            time.sleep(0.2)

    def save(self) -> None:
        self.file.with_suffix(".tmp").write_text(json.dumps(self.data))
        self.file.with_suffix(".tmp").replace(self.file)

    def handle(self, msg: dict) -> dict:
        op, key = msg["op"], msg.get("key")
        if op == "ping":
            return {"status": "ok"}
        if op == "status":
            return {"status": "ok", "value": {"primary": self.primary()}}
        if op == "replicate":
            with self.lock:
                self.data[key] = msg["value"]
                self.save()
            return {"status": "ok"}
        if self.primary() != self.me:
            return {"status": "fail", "error": "not-primary", "primary": self.primary()}
        with self.lock:
            current = self.data.get(key)
            if op == "read":
                return {"status": "ok", "value": current}
            new = msg["value"]
            if op == "cas":
                expected, new = new
                if current != expected:
                    return {"status": "fail", "error": "cas-mismatch", "value": current}
            self.data[key] = new
            self.save()
            for peer in self.alive():  # best effort: a backup that does not answer misses the write
                with contextlib.suppress(OSError, ValueError):
                    ask(self.peers[peer], {"op": "replicate", "key": key, "value": new}, timeout=0.5)
        return {"status": "ok"}


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = daemon_threads = True


def serve() -> None:
    p = argparse.ArgumentParser(description="one node of the failover key-value store")
    p.add_argument("--id", required=True)
    p.add_argument("--peers", required=True, help="the other nodes: name=address,...")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--dead-after-ms", type=float, default=1000)
    a = p.parse_args()
    peers = dict(pair.split("=") for pair in a.peers.split(",") if pair)
    node = Node(a.id, peers, a.data_dir, a.dead_after_ms / 1000)
    threading.Thread(target=node.heartbeat, daemon=True).start()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for line in self.rfile:
                self.wfile.write(json.dumps(node.handle(json.loads(line))).encode() + b"\n")

    print(f"{a.id} serving on port {PORT}, peers {peers}", flush=True)
    Server(("0.0.0.0", PORT), Handler).serve_forever()


if __name__ == "__main__":
    serve()
    raise SystemExit

# ---- The harness side: `harness run --db examples/failover_kv.py:FailoverKV` loads what follows. ----

from typing import Any, ClassVar

from contract.client import Definite, Indeterminate
from contract.options import Option, number
from harness.dbs.abilities import Primaries
from harness.dbs.daemon import DaemonDB
from harness.errors import HarnessError

HOME = "/opt/failover-kv"  # where the node keeps its copy of this file


class FailoverKVConnection:
    """A register client: read, write, cas. Follows a not-primary answer once to the primary it names."""

    def __init__(self, node: str, addresses: dict[str, str], timeout: float) -> None:
        self.node, self.addresses, self.timeout = node, addresses, timeout

    def _ask(self, node: str, msg: dict) -> dict:
        try:
            sock = socket.create_connection((self.addresses[node], PORT), timeout=self.timeout)
        except OSError as e:
            raise Definite(f"connect: {e}") from e  # nothing was sent: it certainly did not happen
        with sock:
            try:
                sock.sendall(json.dumps(msg).encode() + b"\n")
                line = sock.makefile("rb").readline()
            except OSError as e:
                raise Indeterminate(f"no reply: {e}") from e  # sent: it may have happened
        if not line:
            raise Indeterminate("connection closed before a reply")
        return json.loads(line)

    def call(self, msg: dict) -> Any:
        reply = self._ask(self.node, msg)
        if reply.get("error") == "not-primary" and reply.get("primary") in self.addresses:
            reply = self._ask(reply["primary"], msg)  # a refused request did nothing: safe to resend
        if reply["status"] == "ok":
            return reply.get("value")
        raise Definite(reply["error"], reply.get("value"))  # not-primary, cas-mismatch: nothing changed

    def read(self, key: str) -> Any:
        return self.call({"op": "read", "key": key})

    def write(self, key: str, value: Any) -> None:
        self.call({"op": "write", "key": key, "value": value})

    def cas(self, key: str, expected: Any, new: Any) -> None:
        self.call({"op": "cas", "key": key, "value": [expected, new]})

    def close(self) -> None:
        pass  # a connection per request: nothing held open


class FailoverKV(DaemonDB, Primaries):
    """Process control comes with DaemonDB; Primaries lets faults aim at the primary."""

    name = "failover-kv"
    description = "example: primary/backup key-value store failing over by timeout (examples/failover_kv.py)"
    options: ClassVar = (Option("dead-after-ms", "silence after which a node counts a peer as dead", default=1000,
                                parse=number(100, 60_000, integer=True), metavar="MS"),)
    connection = FailoverKVConnection
    min_nodes = 2
    peer_port = PORT
    lacks: ClassVar = {"ClockHook": "nothing in it reads the wall clock, so skewing it would test nothing"}
    data_dir = "/var/lib/failover-kv"
    log_file = "/var/log/failover-kv/node.log"
    pid_file = "/var/run/failover-kv.pid"

    def setup(self, node: str) -> None:
        self.remote.exec(node, ["mkdir", "-p", HOME])
        self.remote.put(node, Path(__file__), HOME)  # the server is this very file
        super().setup(node)

    def teardown(self, node: str) -> None:
        super().teardown(node)
        self.remote.exec(node, ["rm", "-rf", HOME])

    def command(self, node: str) -> list[str]:
        peers = ",".join(f"{n}={a}" for n, a in self.addresses.items() if n != node)
        return ["python3", f"{HOME}/{Path(__file__).name}", "--id", node, "--peers", peers,
                "--data-dir", self.data_dir, "--dead-after-ms", str(self.opts["dead-after-ms"])]

    def connect(self, node: str, timeout: float) -> FailoverKVConnection:
        return FailoverKVConnection(node, self.addresses, timeout)

    def views(self) -> dict[str, str]:
        """Each answering node's idea of the primary."""
        out = {}
        for node in self.addresses:
            with contextlib.suppress(Definite, Indeterminate, ValueError, KeyError):
                out[node] = self.connect(node, 1.0)._ask(node, {"op": "status"})["value"]["primary"]
        return out

    def primaries(self) -> list[str]:
        return sorted(node for node, primary in self.views().items() if node == primary)

    def wait_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        views: dict[str, str] = {}
        while time.monotonic() < deadline:
            views = self.views()
            if len(views) == len(self.addresses) and len(set(views.values())) == 1:
                return next(iter(views.values()))
            time.sleep(0.2)
        raise HarnessError(f"the nodes did not agree on a primary within {timeout:g} s (views: {views})")
