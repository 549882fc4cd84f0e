"""etcd as a DB, without Docker: its refusals, and how its client reads the gateway's answers.

The client is driven against a small local HTTP server that answers as etcd's v3 JSON gateway
does (the same JSON, status codes and error strings), so each way a request can end is checked
for the right kind of error: definite only where the operation certainly did not take effect.
The real etcd is exercised in tests/integration/test_etcd.py.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from contract.client import Definite, Indeterminate
from harness.cli import main
from harness.dbs import etcd
from harness.dbs.etcd import EtcdConnection, EtcdDB
from harness.errors import UsageError
from harness.test import make_test


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Gateway(ThreadingHTTPServer):
    """Answers each path with a scripted reply: (status, JSON body), "hang" (never answer) or
    "close" (drop the connection without a reply). Records the request bodies it got."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.replies: dict[str, Any] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.connections = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Go's server does
    server: Gateway

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, body))
        reply = self.server.replies.get(self.path, (200, {"header": {}}))
        if reply == "hang":
            time.sleep(3)
            return
        if reply == "close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status, payload = reply
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    server = Gateway()
    monkeypatch.setattr(etcd, "CLIENT_PORT", server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def client(serializable: bool = False, timeout: float = 1.0) -> EtcdConnection:
    return EtcdConnection("n1", "127.0.0.1", timeout, serializable)


def test_clock_is_refused_with_the_reason() -> None:
    with pytest.raises(UsageError, match=r"nemesis clock needs the clock hook .*db etcd does not have: .*Go.*libc"):
        make_test(db="etcd", nemesis="partition,clock")


def test_clock_and_bad_options_exit_254_naming_the_problem(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--db", "etcd", "--nemesis", "clock"]) == 254
    assert "libfaketime cannot skew it" in capsys.readouterr().err
    assert main(["run", "--db", "etcd", "--db-opt", "serializable-reads=maybe"]) == 254
    assert "serializable-reads=maybe: expected true or false" in capsys.readouterr().err
    assert main(["run", "--db", "etcd", "--nodes", "2"]) == 254
    assert "at least 3 nodes" in capsys.readouterr().err


def test_every_other_fault_is_accepted() -> None:
    test = make_test(db="etcd", db_opts=["serializable-reads=true"], nemesis="partition,kill,pause,packet")
    assert test.db.opts == {"serializable-reads": True}
    assert isinstance(test.db, EtcdDB)


def test_values_round_trip_as_json_and_reads_ask_for_the_chosen_consistency(gateway: Gateway) -> None:
    c = client()
    c.write("r1", {"b": [1, 2.5], "a": None})
    path, body = gateway.requests[-1]
    assert path == "/v3/kv/put" and body == {"key": b64("r1"), "value": b64('{"a":null,"b":[1,2.5]}')}
    gateway.replies["/v3/kv/range"] = (200, {"header": {}, "kvs": [{"key": b64("r1"), "value": body["value"]}]})
    assert c.read("r1") == {"a": None, "b": [1, 2.5]}
    assert "serializable" not in gateway.requests[-1][1]
    gateway.replies["/v3/kv/range"] = (200, {"header": {}})  # an absent key: no kvs at all
    assert client(serializable=True).read("r1") is None
    assert gateway.requests[-1][1]["serializable"] is True
    c.close()


def test_cas_is_a_txn_on_the_value_and_a_mismatch_is_definite(gateway: Gateway) -> None:
    c = client()
    gateway.replies["/v3/kv/txn"] = (200, {"header": {}, "succeeded": True})
    c.cas("r1", 3, 4)
    _, body = gateway.requests[-1]
    assert body["compare"] == [{"key": b64("r1"), "target": "VALUE", "result": "EQUAL", "value": b64("3")}]
    assert body["success"] == [{"request_put": {"key": b64("r1"), "value": b64("4")}}]
    gateway.replies["/v3/kv/txn"] = (200, {"header": {}})  # proto3 JSON leaves out succeeded=false
    with pytest.raises(Definite, match="cas-mismatch"):
        c.cas("r1", 3, 4)
    with pytest.raises(Definite, match="cas-mismatch"):
        c.cas("r1", None, 4)
    assert gateway.requests[-1][1]["compare"][0]["target"] == "CREATE"  # None: the key must not exist


def test_errors_are_definite_only_where_etcd_refused_before_proposing(gateway: Gateway) -> None:
    c = client()
    for status, error, code, kind in ((429, "etcdserver: too many requests", 8, Definite),
                                      (503, "etcdserver: no leader", 14, Definite),
                                      (500, "raft proposal dropped", 2, Definite),
                                      (400, "etcdserver: key is not provided", 3, Definite),
                                      (503, "etcdserver: request timed out", 14, Indeterminate),
                                      (503, "etcdserver: leader changed", 14, Indeterminate),
                                      (500, "etcdserver: server stopped", 2, Indeterminate)):
        gateway.replies["/v3/kv/put"] = (status, {"error": error, "message": error, "code": code})
        with pytest.raises(kind, match=error) as caught:
            c.write("r1", 1)
        assert type(caught.value) is kind, error
    # A read changes nothing: whatever happened to it, it is recorded as failed.
    gateway.replies["/v3/kv/range"] = (503, {"error": "etcdserver: request timed out", "code": 14})
    with pytest.raises(Definite, match="request timed out"):
        c.read("r1")


def test_timeouts_and_dropped_connections_after_sending_are_indeterminate(gateway: Gateway) -> None:
    c = client(timeout=0.3)
    gateway.replies["/v3/kv/put"] = "hang"
    with pytest.raises(Indeterminate, match="timeout"):
        c.write("r1", 1)
    gateway.replies["/v3/kv/txn"] = "close"
    with pytest.raises(Indeterminate, match="connection lost"):
        c.cas("r1", 1, 2)
    gateway.replies["/v3/kv/range"] = "hang"
    with pytest.raises(Definite, match="timeout"):  # a read, again
        c.read("r1")


def test_refused_connect_is_definite_and_a_closed_keep_alive_is_reopened(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    c = client()
    c.write("r1", 1)
    c.write("r1", 2)
    assert gateway.connections == 1  # one keep-alive connection for both
    c._http.sock.shutdown(socket.SHUT_RD)  # as if the server had closed it while idle
    c.write("r1", 3)  # noticed before sending, so reopened rather than reported
    assert gateway.connections == 2
    c.close()

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        monkeypatch.setattr(etcd, "CLIENT_PORT", s.getsockname()[1])
        with pytest.raises(Definite, match="connect: Connection refused"):
            client().write("r1", 1)
