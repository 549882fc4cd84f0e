"""Helpers to run real ``python3 -m nodes.raft`` processes on loopback and talk to them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_ports(count: int) -> list[int]:
    """Ask the kernel for distinct free ports (bound briefly, then released)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Client:
    """Blocking newline-JSON client with a timeout on every call."""

    def __init__(self, port: int, timeout: float = 15.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rwb")
        self.next_id = 0

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        self.next_id += 1
        self.file.write(json.dumps({"id": self.next_id, "op": op, **fields}).encode() + b"\n")
        self.file.flush()
        line = self.file.readline()
        if not line:
            raise ConnectionError("connection closed")
        reply = json.loads(line)
        assert reply["id"] == self.next_id
        return reply

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@dataclass
class ProcCluster:
    """Three (or more) node processes with per-node data dirs and log files."""

    base: Path
    size: int = 3
    extra_args: list[str] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ports = free_ports(2 * self.size)
        self.ids = [f"n{i + 1}" for i in range(self.size)]
        self.peer_ports = dict(zip(self.ids, ports[: self.size], strict=True))
        self.client_ports = dict(zip(self.ids, ports[self.size :], strict=True))

    def start(self, nid: str) -> None:
        peers = ",".join(f"{n}=127.0.0.1:{p}" for n, p in self.peer_ports.items())
        args = [sys.executable, "-m", "nodes.raft", "--id", nid, "--peers", peers]
        args += ["--client-port", str(self.client_ports[nid]), "--data-dir", str(self.base / nid)]
        args += ["--listen", "127.0.0.1", *self.extra_args]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with open(self.base / f"{nid}.log", "ab") as log:
            self.procs[nid] = subprocess.Popen(args, stderr=log, stdout=log, env=env)

    def start_all(self) -> None:
        for nid in self.ids:
            self.start(nid)

    def kill(self, nid: str, sig: int = signal.SIGKILL) -> int:
        proc = self.procs.pop(nid)
        proc.send_signal(sig)
        return proc.wait(timeout=30)

    def stop_all(self) -> None:
        for nid in list(self.procs):
            self.kill(nid)

    def status(self, nid: str) -> dict[str, Any] | None:
        try:
            client = Client(self.client_ports[nid], timeout=2.0)
            try:
                return client.call("status")["value"]
            finally:
                client.close()
        except OSError:
            return None

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
        """Poll ``predicate`` until it returns something truthy, bounded by ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; logs in {self.base}")

    def leader(self, among: list[str] | None = None) -> str | None:
        """The node that every live node in ``among`` agrees is leader, if any."""
        statuses = [self.status(n) for n in (among or list(self.procs))]
        leaders = {s["leader"] for s in statuses if s}
        if len(leaders) == 1 and None not in leaders and all(statuses):
            (leader,) = leaders
            if leader in (among or self.procs):
                return leader
        return None

    def log_text(self, nid: str) -> str:
        return (self.base / f"{nid}.log").read_text()
