"""etcd (Debian's 3.4 package) in the same containers as our node, driven the same way, for comparison.

Three containers of `harness.image.etcd_image` on the cluster's own network, a static
`--initial-cluster`, the data dir (and so the fsynced WAL) inside each container, etcd's default
timing (100 ms heartbeat, 1000 ms election timeout) unless told otherwise. Like our node, etcd
runs as a detached child of the container's init with a pidfile, so SIGKILL reaches exactly it.
Clients speak the v3 JSON gateway over keep-alive HTTP/1.1 connections; a range is linearizable
unless it asks otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import itertools
import json
import time
from typing import Any

from harness.errors import HarnessError
from harness.remote.base import Remote, shell, signal

CLIENT_PORT = 2379
PEER_PORT = 2380
DATA_DIR = "/var/lib/etcd-bench"
PID_FILE = "/var/run/etcd.pid"
LOG_FILE = "/var/log/etcd.log"
PATHS = {"write": "/v3/kv/put", "read": "/v3/kv/range"}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def request_body(op: str, n: int) -> dict[str, str]:
    """The gateway's JSON for our node's key pattern: key k{n % 8}, and value n for a write."""
    body = {"key": _b64(f"k{n % 8}")}
    if op == "write":
        body["value"] = _b64(str(n))
    return body


class HttpConnection:
    """One keep-alive HTTP/1.1 connection on asyncio streams.

    Hand-rolled because the benchmark needs only small JSON requests and replies, and the
    per-request cost on the host's client core has to stay well below etcd's.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host.encode()

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """Send one request and read its reply: (HTTP status, parsed JSON body)."""
        payload = json.dumps(body).encode() if body is not None else b""
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (
            method.encode(),
            path.encode(),
            self.host,
            len(payload),
        )
        self.writer.write(head + payload)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by the server")
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        data = await self._read_chunked() if chunked else await self.reader.readexactly(length)
        return int(status_line.split()[1]), json.loads(data) if data else None

    async def _read_chunked(self) -> bytes:
        """Go's server chunks a reply it did not buffer whole (large ones); small replies have a length."""
        parts = []
        while size := int((await self.reader.readline()).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        await self.reader.readline()
        return b"".join(parts)

    def close(self) -> None:
        self.writer.close()


class EtcdSystem:
    """The etcd side of the benchmark: lifecycle, status, closed-loop clients and failover."""

    name = "etcd"

    def __init__(
        self, remote: Remote, addresses: dict[str, str], token: str, heartbeat_ms: int = 100, election_ms: int = 1000
    ) -> None:
        self.remote = remote
        self.addresses = addresses
        self.token = token  # --initial-cluster-token: keeps clusters of different runs apart
        self.heartbeat_ms = heartbeat_ms
        self.election_ms = election_ms

    def _argv(self, node: str) -> list[str]:
        address = self.addresses[node]
        cluster = ",".join(f"{n}=http://{a}:{PEER_PORT}" for n, a in self.addresses.items())
        flags = {
            "--name": node,
            "--data-dir": DATA_DIR,
            "--logger": "zap",
            "--log-outputs": "stderr",
            "--listen-peer-urls": f"http://{address}:{PEER_PORT}",
            "--initial-advertise-peer-urls": f"http://{address}:{PEER_PORT}",
            "--listen-client-urls": f"http://{address}:{CLIENT_PORT}",
            "--advertise-client-urls": f"http://{address}:{CLIENT_PORT}",
            "--initial-cluster": cluster,
            "--initial-cluster-state": "new",
            "--initial-cluster-token": self.token,
            "--heartbeat-interval": str(self.heartbeat_ms),
            "--election-timeout": str(self.election_ms),
        }
        return ["etcd", *itertools.chain.from_iterable(flags.items())]

    def start(self, node: str) -> None:
        """Start (or restart, on its existing data dir) etcd on the node."""
        self.remote.spawn(node, f"echo $$ > {PID_FILE}; exec {shell(self._argv(node))} >> {LOG_FILE} 2>&1")

    def kill(self, node: str) -> None:
        r = self.remote.exec(node, ["cat", PID_FILE], timeout=10)
        if r.ok and r.stdout.strip().isdigit():
            signal(self.remote, node, int(r.stdout), "KILL")

    def _call(self, node: str, path: str, body: dict[str, Any] | None, timeout: float) -> Any:
        """One request (a GET without a body) on a fresh connection; the reply's JSON, or OSError/ValueError."""
        conn = http.client.HTTPConnection(self.addresses[node], CLIENT_PORT, timeout=timeout)
        try:
            method = "GET" if body is None else "POST"
            conn.request(method, path, None if body is None else json.dumps(body), {"Content-Type": "application/json"})
            reply = conn.getresponse()
            data = json.loads(reply.read())
            if reply.status != 200 or "error" in data:
                raise ValueError(f"{node}: HTTP {reply.status}: {data.get('error') or data}")
            return data
        finally:
            conn.close()

    def statuses(self, timeout: float = 1.0) -> dict[str, dict[str, Any]]:
        """Each reachable member's view: its leader (as a node name) and raft term."""
        raw = {}
        for node in self.addresses:
            with contextlib.suppress(OSError, ValueError):
                raw[node] = self._call(node, "/v3/maintenance/status", {}, timeout)
        names = {s["header"]["member_id"]: node for node, s in raw.items()}
        return {
            node: {"leader": names.get(s.get("leader")), "term": int(s.get("raftTerm", 0))} for node, s in raw.items()
        }

    def max_term(self) -> int:
        return max((s["term"] for s in self.statuses().values()), default=0)

    def put(self, node: str, n: int, timeout: float) -> None:
        self._call(node, PATHS["write"], request_body("write", n), timeout)

    def version(self, node: str) -> str:
        """The server's own version, for the table's heading: whatever Debian's package is today."""
        return str(self._call(node, "/version", None, timeout=5).get("etcdserver"))

    def wait_ready(self, timeout: float) -> str:
        """Wait for one leader that every member agrees on and that can commit a write."""
        deadline = time.monotonic() + timeout
        last: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            last = self.statuses()
            leaders = {s["leader"] for s in last.values()}
            if len(last) == len(self.addresses) and len(leaders) == 1 and None not in leaders:
                leader = leaders.pop()
                try:
                    self.put(leader, 0, timeout=5)
                    return leader
                except (OSError, ValueError):
                    pass
            time.sleep(0.2)
        raise HarnessError(
            f"etcd: no leader within {timeout:g} s (members answering: {last or 'none'}); see {LOG_FILE}"
        )

    async def client(self, node: str, op: str, stop_at: float, latencies: list[float], errors: list[str]) -> None:
        """Closed loop on one connection to `node`: etcd forwards a follower's proposals, so no redirects."""
        if op == "noop":  # the transport ceiling: a reply that involves no consensus at all
            method, path = "GET", "/version"
        else:
            method, path = "POST", PATHS[op]
        conn = await HttpConnection.open(self.addresses[node], CLIENT_PORT)
        n = 0
        try:
            while time.monotonic() < stop_at:
                n += 1
                started = time.monotonic()
                status, reply = await conn.request(method, path, request_body(op, n) if method == "POST" else None)
                if status == 200 and not (isinstance(reply, dict) and "error" in reply):
                    latencies.append(time.monotonic() - started)
                    continue
                errors.append(str(reply.get("error") if isinstance(reply, dict) else status))
                await asyncio.sleep(0.01)
        finally:
            conn.close()

    def failover_once(self, timeout: float = 30.0) -> tuple[float, str, str]:
        """SIGKILL the leader; seconds until a put is acknowledged with another member as leader.

        Timed like our node's (the clock starts before the kill's docker exec); puts go to the
        surviving members in turn, each with a 0.5 s timeout. The old leader is restarted after.
        """
        old = self.wait_ready(60)
        others = [n for n in self.addresses if n != old]
        started = time.monotonic()
        self.kill(old)
        attempt = 0
        try:
            while time.monotonic() - started < timeout:
                node = others[attempt % len(others)]
                attempt += 1
                try:
                    self.put(node, attempt, timeout=0.5)
                    took = time.monotonic() - started
                    leader = self.statuses().get(node, {}).get("leader") or "?"
                    return took, old, leader
                except (OSError, ValueError):
                    time.sleep(0.005)
            raise HarnessError(f"etcd: no put acknowledged within {timeout:g} s of killing {old}")
        finally:
            self.start(old)
