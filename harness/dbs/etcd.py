"""etcd (Debian's etcd-server 3.4) as a system under test, with a register client over its v3 API.

Each node runs one etcd member as a daemon (`harness.dbs.daemon`), so kill and pause reach
exactly it. The cluster is formed statically (`--initial-cluster` names every member) and each
member keeps its data, and so its fsynced write-ahead log, on the node's own disk; a killed
member restarts on that data. Debian's package is the one etcd a machine without a registry can
install, so it is what `harness.image.etcd_image` builds on top of the base image.

Clients speak the v3 JSON gateway (`POST /v3/kv/range`, `/v3/kv/put`, `/v3/kv/txn`) with the
standard library's `http.client`, one keep-alive connection per client. The `etcd3` package on
PyPI is unmaintained (no release since 2020) and pins grpcio/protobuf versions that conflict
with current ones; the gateway needs no dependency and speaks to the same server code.

The clock fault is refused: etcd is a Go program, and Go's runtime reads the wall clock through
the kernel's vDSO rather than through libc, so libfaketime's LD_PRELOAD cannot move it.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import secrets
import select
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from contract.client import Definite, Indeterminate
from contract.options import Option, boolean
from harness.dbs.abilities import Primaries
from harness.dbs.base import Nodes
from harness.dbs.daemon import DaemonDB
from harness.dbs.leader import wait_for_agreed_leader
from harness.errors import HarnessError
from harness.image import Images, etcd_image

CLIENT_PORT = 2379
PEER_PORT = 2380

# etcd errors that are raised before a request is proposed to Raft, so it certainly did not take
# effect (etcdserver/api/v3rpc/rpctypes). Every other error of a write may come after the
# proposal was appended to the leader's log ("request timed out", "leader changed", ...).
NOT_APPLIED = frozenset({
    "etcdserver: too many requests",
    "etcdserver: request is too large",
    "etcdserver: no leader",
    "etcdserver: not capable",
    "raft proposal dropped",
})
# gRPC codes that say the request was refused as it stands: invalid argument, permission denied,
# unimplemented, unauthenticated.
REFUSED_CODES = frozenset({3, 7, 12, 16})


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def encode(value: Any) -> str:
    """A value as etcd stores it: canonical JSON, so equal values are equal bytes for a compare."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _dropped(sock: socket.socket | None) -> bool:
    """True if an idle keep-alive socket was closed by the server (readable at rest means EOF or RST)."""
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class EtcdConnection:
    """One client's keep-alive HTTP connection to one member's v3 JSON gateway.

    A follower forwards writes to its leader itself, so a client stays on its member. Errors are
    classified as the contract asks: refused before sending or refused by etcd before proposing
    is Definite; a timeout, a dropped connection or any other etcd error after sending is
    Indeterminate. Reads change nothing, so a read that may have been served is recorded as
    failed (Definite), as Jepsen's clients do: that drops it from the check, which is sound.
    """

    def __init__(self, node: str, address: str, timeout: float, serializable: bool = False) -> None:
        self.node = node
        self.address = address
        self.timeout = timeout
        self.serializable = serializable
        self._http: http.client.HTTPConnection | None = None

    def _open(self) -> http.client.HTTPConnection:
        if self._http is not None and _dropped(self._http.sock):
            self.close()
        if self._http is None:
            conn = http.client.HTTPConnection(self.address, CLIENT_PORT, timeout=self.timeout)
            try:
                conn.connect()
            except OSError as e:
                conn.close()
                raise Definite(f"connect: {e.strerror or type(e).__name__}") from e
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._http = conn
        return self._http

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST one request; the reply's JSON, or Definite / Indeterminate."""
        conn = self._open()
        try:
            conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            reply = conn.getresponse()
            data = reply.read()
        except TimeoutError:
            self.close()
            raise Indeterminate("timeout") from None
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Indeterminate(f"connection lost: {getattr(e, 'strerror', None) or type(e).__name__}") from e
        try:
            parsed = json.loads(data)
        except ValueError:
            self.close()
            raise Indeterminate(f"HTTP {reply.status}: not JSON: {data[:80]!r}") from None
        if reply.status == 200 and isinstance(parsed, dict) and "error" not in parsed:
            return parsed
        details = parsed if isinstance(parsed, dict) else {}
        message = str(details.get("error") or details.get("message") or f"HTTP {reply.status}")
        code = details.get("code")
        if message in NOT_APPLIED or code in REFUSED_CODES:
            raise Definite(message)
        raise Indeterminate(message)

    def read(self, key: str) -> Any:
        body: dict[str, Any] = {"key": _b64(key)}
        if self.serializable:
            body["serializable"] = True
        try:
            reply = self.call("/v3/kv/range", body)
        except Indeterminate as e:
            raise Definite(e.error) from e
        kvs = reply.get("kvs") or []
        return json.loads(base64.b64decode(kvs[0]["value"])) if kvs else None

    def write(self, key: str, value: Any) -> None:
        self.call("/v3/kv/put", {"key": _b64(key), "value": _b64(encode(value))})

    def cas(self, key: str, expected: Any, new: Any) -> None:
        """A txn: if the value is `expected` (or, for None, the key does not exist), put `new`.

        etcd's VALUE compare always fails on a missing key, so absence is compared by create
        revision instead; a written JSON null therefore does not match an expected None."""
        k = _b64(key)
        if expected is None:
            compare = {"key": k, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
        else:
            compare = {"key": k, "target": "VALUE", "result": "EQUAL", "value": _b64(encode(expected))}
        reply = self.call("/v3/kv/txn", {"compare": [compare],
                                         "success": [{"request_put": {"key": k, "value": _b64(encode(new))}}]})
        if not reply.get("succeeded", False):  # proto3 JSON leaves out a false field
            raise Definite("cas-mismatch")

    def status(self) -> dict[str, Any]:
        """The member's own view: its id, its leader's id and its Raft term."""
        return self.call("/v3/maintenance/status", {})

    def close(self) -> None:
        if self._http is not None:
            try:
                self._http.close()
            finally:
                self._http = None


class EtcdDB(DaemonDB, Primaries):
    """Lifecycle, process control and leader discovery for an etcd cluster of 3 or more members."""

    name = "etcd"
    description = "etcd 3.4 (Debian's etcd-server) over its v3 JSON gateway; linearizable or serializable reads"
    options: ClassVar = (
        Option("serializable-reads", "serve reads from the member's local state (`serializable: true`) instead of "
               "confirming leadership first: faster, and not linearizable", default=False, parse=boolean,
               metavar="BOOL"),
    )
    connection = EtcdConnection
    min_nodes = 3
    peer_port = PEER_PORT
    lacks: ClassVar = {"ClockHook": "etcd is a Go program, and Go reads the wall clock through the kernel's vDSO, "
                                    "not libc, so libfaketime cannot skew it"}
    data_dir = "/var/lib/harness-etcd"
    log_file = "/var/log/harness-etcd/etcd.log"
    pid_file = "/var/run/harness-etcd.pid"

    def bind(self, nodes: Nodes) -> None:
        super().bind(nodes)
        # Keeps members of different clusters from joining each other on long-lived hosts.
        self.token = f"harness-{secrets.token_hex(4)}"

    def image(self, images: Images) -> str:
        return etcd_image(images.client, images.base_override)

    def setup(self, node: str) -> None:
        if not self.remote.exec(node, ["sh", "-c", "command -v etcd"]).ok:
            raise HarnessError(f"{node}: no etcd on the node's PATH (the etcd image has Debian's etcd-server; "
                               "on your own hosts, install it first)")
        super().setup(node)

    def command(self, node: str) -> list[str]:
        address = self.addresses[node]
        cluster = ",".join(f"{n}=http://{a}:{PEER_PORT}" for n, a in self.addresses.items())
        flags = {
            "--name": node,
            "--data-dir": self.data_dir,
            "--logger": "zap",
            "--log-outputs": "stderr",
            "--listen-peer-urls": f"http://0.0.0.0:{PEER_PORT}",
            "--initial-advertise-peer-urls": f"http://{address}:{PEER_PORT}",
            "--listen-client-urls": f"http://0.0.0.0:{CLIENT_PORT}",
            "--advertise-client-urls": f"http://{address}:{CLIENT_PORT}",
            "--initial-cluster": cluster,
            "--initial-cluster-state": "new",
            "--initial-cluster-token": self.token,
        }
        return ["etcd", *itertools.chain.from_iterable(flags.items())]

    def connect(self, node: str, timeout: float) -> EtcdConnection:
        return EtcdConnection(node, self.addresses[node], timeout, self.opts["serializable-reads"])

    def statuses(self, timeout: float = 1.0) -> dict[str, dict[str, Any]]:
        """Each reachable member's view: `leader` (a node name, or None) and `term`; all asked at once,
        so a paused member costs one timeout, not one per member."""

        def ask(node: str) -> dict[str, Any] | None:
            conn = EtcdConnection(node, self.addresses[node], timeout)
            try:
                return conn.status()
            except (Definite, Indeterminate, ValueError):
                return None
            finally:
                conn.close()

        with ThreadPoolExecutor(max_workers=len(self.addresses), thread_name_prefix="etcd-status") as pool:
            answers = dict(zip(self.addresses, pool.map(ask, self.addresses), strict=True))
        raw = {node: s for node, s in answers.items() if s is not None}
        names = {s.get("header", {}).get("member_id"): node for node, s in raw.items()}
        return {node: {"leader": names.get(s.get("leader")), "term": int(s.get("raftTerm", 0)),
                       "member_id": s.get("header", {}).get("member_id"), "leader_id": s.get("leader")}
                for node, s in raw.items()}

    def primaries(self) -> list[str]:
        """Members that name themselves as leader (an isolated old leader steps down by itself:
        etcd runs Raft with CheckQuorum)."""
        return [n for n, s in self.statuses().items() if s["member_id"] and s["leader_id"] == s["member_id"]]

    def wait_ready(self, timeout: float) -> str:
        """Wait for one leader that every node agrees on and that can commit a write."""
        return wait_for_agreed_leader(self, self.statuses, timeout)
