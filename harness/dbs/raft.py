"""Our Raft key-value node (nodes/raft) as a system under test.

The node runs as a detached child of the container's init, never as PID 1, with its pid in a
file so that kill and pause reach exactly it. Clients speak the node's newline-delimited JSON
protocol (nodes/README.md) over TCP straight to the container's address.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any

from harness.dbs.base import Definite, Indeterminate
from harness.errors import HarnessError, UsageError
from harness.image import NODE_HOME
from harness.remote.base import Remote, shell, signal
from nodes.raft.core import BUGS
from nodes.raft.server import READ_MODES

log = logging.getLogger(__name__)

PEER_PORT = 7000
CLIENT_PORT = 8000
DATA_DIR = "/var/lib/raft"
LOG_FILE = "/var/log/raft/node.log"
PID_FILE = "/var/run/raft.pid"
# The node reads wall-clock time through libfaketime with an offset in this file, so the clock
# nemesis can skew one node's clock while it runs (harness/nemesis/clock.py). Offset 0 = real time.
CLOCK_FILE = "/var/run/raft.clock"
FAKETIME = (
    'lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1); '
    f'[ -s {CLOCK_FILE} ] || echo +0.000 > {CLOCK_FILE}; '
    f'[ -z "$lib" ] || export LD_PRELOAD="$lib" FAKETIME_TIMESTAMP_FILE={CLOCK_FILE} '
    'FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1; '
)


@dataclass(frozen=True)
class RaftOptions:
    """The node options a test may vary: seeded bugs, the read path, elections.

    Checked here, before any container starts, because a node that refuses its options only
    says so in its own log, which the user would see as "the raft node did not start".
    """

    bugs: tuple[str, ...] = ()
    read_mode: str = "readindex"
    pre_vote: bool = True
    election_timeout_ms: tuple[float, float] | None = None  # None: the node's default
    # Start the node with libfaketime preloaded, so the clock nemesis can skew it. Off unless
    # asked for: libfaketime re-reads its offset file on every intercepted call (a timed lock
    # wait in the node's fsync thread is one), which halves write throughput and adds 100 ms tails.
    clock_hook: bool = False

    def __post_init__(self) -> None:
        unknown = [b for b in self.bugs if b not in BUGS]
        if unknown:
            raise UsageError(f"unknown bug {unknown[0]!r}; known: {', '.join(BUGS)} (see nodes/BUGS.md)")
        if self.read_mode not in READ_MODES:
            raise UsageError(f"unknown read mode {self.read_mode!r}; known: {', '.join(READ_MODES)}")
        if self.election_timeout_ms is not None:
            low, high = self.election_timeout_ms
            if not 0 < low <= high:
                raise UsageError(f"election timeout {low:g}:{high:g} ms: need 0 < LOW <= HIGH")

    def argv(self) -> list[str]:
        """The options as `python3 -m nodes.raft` arguments (none for the defaults)."""
        args = [arg for bug in self.bugs for arg in ("--bug", bug)]
        if self.read_mode != "readindex":
            args += ["--read-mode", self.read_mode]
        if not self.pre_vote:
            args.append("--no-pre-vote")
        if self.election_timeout_ms is not None:
            args += ["--election-timeout-ms", "{:g}:{:g}".format(*self.election_timeout_ms)]
        return args


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

    def status(self) -> dict[str, Any]:
        return self._call_once(self.node, {"op": "status"}).get("value") or {}

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock, self._sock_node, self._buf = None, None, b""


class RaftDB:
    """Lifecycle and fault hooks for nodes/raft inside the node image."""

    name = "raft"

    def __init__(
        self,
        remote: Remote,
        addresses: dict[str, str],
        options: RaftOptions = RaftOptions(),
    ) -> None:
        self.remote = remote
        self.addresses = addresses
        self.options = options
        self.faketime_file = CLOCK_FILE if options.clock_hook else None  # what the clock nemesis rewrites

    def _argv(self, node: str) -> list[str]:
        peers = ",".join(f"{n}={a}:{PEER_PORT}" for n, a in self.addresses.items())
        # The environment is spelled out: an SSH session does not get the image's ENV lines.
        return ["env", f"PYTHONPATH={NODE_HOME}", "PYTHONUNBUFFERED=1", "python3", "-m", "nodes.raft",
                "--id", node, "--peers", peers,
                "--client-port", str(CLIENT_PORT), "--data-dir", DATA_DIR, *self.options.argv()]

    def setup(self, node: str) -> None:
        self.remote.exec(node, ["mkdir", "-p", DATA_DIR, "/var/log/raft"])
        self.start(node)

    def start(self, node: str) -> None:
        # `exec` keeps the shell's pid, so the pidfile names the node process itself; the
        # libfaketime environment (if asked for and installed) is exported just before it.
        faketime = FAKETIME if self.options.clock_hook else ""
        self.remote.spawn(node, f"echo $$ > {PID_FILE}; {faketime}exec {shell(self._argv(node))} >> {LOG_FILE} 2>&1")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.is_running(node):
                return
            time.sleep(0.05)
        raise HarnessError(f"{node}: the raft node did not start; see {LOG_FILE} in its logs")

    def pid(self, node: str) -> int | None:
        r = self.remote.exec(node, ["cat", PID_FILE], timeout=10)
        return int(r.stdout) if r.ok and r.stdout.strip().isdigit() else None

    def process_state(self, node: str) -> str | None:
        """The kernel's state letter for the node process (R, S, T, ...), or None if it is gone."""
        pid = self.pid(node)
        if pid is None:
            return None
        r = self.remote.exec(node, ["ps", "-o", "stat=", "-p", str(pid)], timeout=10)
        return r.stdout.strip()[:1] or None if r.ok else None

    def is_running(self, node: str) -> bool:
        return self.process_state(node) not in (None, "Z")

    def _signal(self, node: str, sig: str) -> None:
        pid = self.pid(node)
        if pid is not None:
            signal(self.remote, node, pid, sig)

    def kill(self, node: str) -> None:
        self._signal(node, "KILL")

    def pause(self, node: str) -> None:
        self._signal(node, "STOP")

    def resume(self, node: str) -> None:
        self._signal(node, "CONT")

    def teardown(self, node: str) -> None:
        self.kill(node)
        self.remote.exec(node, ["rm", "-rf", DATA_DIR])

    def log_files(self, node: str) -> list[str]:
        return [LOG_FILE]

    def peer_port(self) -> int:
        return PEER_PORT

    def connect(self, node: str, timeout: float) -> RaftConnection:
        return RaftConnection(node, self.addresses, timeout)

    def statuses(self, timeout: float = 1.0) -> dict[str, dict[str, Any]]:
        """Each reachable node's own view (role, term, leader); unreachable nodes are left out."""
        out = {}
        for node in self.addresses:
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
        """Wait for one leader that every reachable node agrees on and that can commit a write."""
        deadline = time.monotonic() + timeout
        last: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            last = self.statuses()
            leaders = {s.get("leader") for s in last.values()}
            if len(last) == len(self.addresses) and len(leaders) == 1 and None not in leaders:
                leader = leaders.pop()
                conn = self.connect(leader, timeout=5)
                try:
                    conn.write("__harness_ready", True)
                    return leader
                except (Definite, Indeterminate):
                    pass
                finally:
                    conn.close()
            time.sleep(0.2)
        seen = ", ".join(f"{n}: {s.get('role')}/term {s.get('term')}" for n, s in sorted(last.items())) or "none"
        raise HarnessError(f"no leader elected within {timeout:g} s (nodes answering: {seen})")
