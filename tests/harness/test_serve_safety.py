"""`harness serve` serves regular files inside the results root and nothing else, and no client can
hold its workers for ever: links out, `..` in any spelling, FIFOs and folders are refused; idle and
trickling connections are cut; connections beyond the pool's queue are turned away at once."""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from serve_fixtures import fake_run, get, serving

from harness.errors import UsageError
from harness.serve import make_server, server

SECRET = "the secret outside the results folder"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "secretdir").mkdir()
    (tmp_path / "secretdir" / "x.txt").write_text(SECRET)
    results = tmp_path / "results"
    run = fake_run(results, "t", datetime(2026, 11, 1, 2, 0, 0), history=[1, 2])
    (run / "nodes" / "n1").mkdir(parents=True)
    (run / "nodes" / "n1" / "node.log").write_text("log line <script>x</script>\n")
    (run / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (run / "leakdir").symlink_to(tmp_path / "secretdir")
    (results / "everything").symlink_to("/")
    (results / "latest").symlink_to(run)
    os.mkfifo(run / "pipe.log")
    return results


@pytest.mark.parametrize("path", [
    "/t/20261101T020000/leak.txt",  # a link to a file outside
    "/t/20261101T020000/leakdir/x.txt",  # through a link to a folder outside
    "/everything/etc/passwd",
    "/everything/",
    "/../secret.txt",
    "/t/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/t/20261101T020000/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "/..%2f..%2fsecret.txt",
    "/%252e%252e/secret.txt",  # double-encoded: a literal "%2e%2e" folder, which does not exist
    "/t/20261101T020000/results.json%00.html",
    "/%ff%fe/x",  # not UTF-8
    "/t/20261101T020000/..\\..\\secret.txt",
    "/t/20261101T020000/pipe.log",  # a FIFO: must not hang a worker either
    "/t/",  # a test folder: no listing
    "/t",
    "/t/20261101T020000/nodes/",  # a folder inside a run: no listing
])
def test_nothing_outside_the_root_and_no_folder_listing(root: Path, path: str) -> None:
    with serving(root) as srv:
        status, body = get(srv, path)
    assert status == 404, (path, body[:200])
    assert SECRET not in body and "root:" not in body


def test_files_inside_the_root_are_served_and_a_run_lists_only_its_regular_files(root: Path) -> None:
    with serving(root) as srv:
        assert get(srv, "/t/20261101T020000/report.html")[0] == 200
        assert get(srv, "/latest/results.json")[0] == 200, "a link that stays inside the root is fine"
        status, log = get(srv, "/t/20261101T020000/nodes/n1/node.log")
        assert status == 200 and "<script>" in log
        host, port = srv.server_address[:2]
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", "/t/20261101T020000/nodes/n1/node.log")
        r = conn.getresponse()
        r.read()
        conn.close()
        assert r.getheader("Content-Type") == "text/plain; charset=utf-8"
        assert r.getheader("X-Content-Type-Options") == "nosniff"
        assert get(srv, "/t/20261101T020000")[0] == 301, "a run folder without its slash is redirected"
        conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=10)
        conn.request("GET", "////t/20261101T020000")
        r = conn.getresponse()
        r.read()
        conn.close()
        assert r.status == 301 and r.getheader("Location") == "/t/20261101T020000/", "no redirect to another host"
        status, listing = get(srv, "/t/20261101T020000/")
        assert status == 200
        for name in ("report.html", "results.json", "history.jsonl", "nodes/n1/node.log"):
            assert f'href="{name}"' in listing
        for name in ("leak.txt", "leakdir", "pipe.log"):
            assert name not in listing
        assert get(srv, "/t/20261101T020000/report.html", "HEAD") == (200, "")
        assert get(srv, "/t/20261101T020000/report.html", "POST")[0] == 501


def test_results_json_linked_out_of_the_root_is_broken_not_read(root: Path, tmp_path: Path) -> None:
    run = fake_run(root, "u", datetime(2026, 11, 2, 2, 0, 0))
    (run / "results.json").unlink()
    (run / "results.json").symlink_to(tmp_path / "secret.txt")
    with serving(root) as srv:
        status, index = get(srv, "/")
    assert status == 200 and SECRET not in index
    assert "broken: results.json cannot be read: results.json points outside the results folder" in index


def test_url_to_path_refuses_escapes(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    assert server.url_to_path(root, "/a/b") == root / "a" / "b"
    assert server.url_to_path(root, "/a/./b/") == root / "a" / "b"
    for bad in ("/../x", "/a/%2e%2e/%2e%2e/x", "/%00", "/a%5c..%5cx"):
        assert server.url_to_path(root, bad) is None, bad


def _wait_closed(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes `sock` (recv returns b"" or the connection resets)."""
    start = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(1024):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - start


def test_an_idle_connection_is_cut_after_the_io_timeout(root: Path) -> None:
    with serving(root, io_timeout=0.3, deadline=30) as srv, socket.create_connection(srv.server_address[:2]) as s:
        assert _wait_closed(s, 20) < 20, "the server never closed an idle connection"


def test_a_trickling_connection_is_cut_at_its_deadline(root: Path) -> None:
    """A client sending a header byte every 0.05 s never trips the 5 s I/O timeout; the deadline cuts it."""
    with serving(root, io_timeout=5, deadline=0.5) as srv, socket.create_connection(srv.server_address[:2]) as s:
        s.sendall(b"GET / HTTP/1.0\r\n")
        cut = False
        for _ in range(400):  # 20 s of trickling at most
            try:
                s.sendall(b"X-a: b\r\n"[:1])
                s.settimeout(0.05)
                if s.recv(1024) == b"":
                    cut = True
                    break
            except TimeoutError:
                continue
            except OSError:
                cut = True
                break
        assert cut, "a trickling client held a worker for 20 s"


def _serve_threads() -> int:
    return sum(t.name.startswith("serve") for t in threading.enumerate())


def test_idle_clients_do_not_pile_up_threads_and_overflow_gets_503(root: Path, monkeypatch) -> None:
    monkeypatch.setattr(server, "QUEUED", 3)
    with serving(root, workers=2, io_timeout=2, deadline=5) as srv:
        host, port = srv.server_address[:2]
        idle = [socket.create_connection((host, port)) for _ in range(5)]  # 2 busy, 3 queued
        try:
            time.sleep(0.3)
            assert _serve_threads() <= 3, "two workers and the watchdog, however many clients wait"
            with socket.create_connection((host, port)) as extra:
                extra.settimeout(10)
                assert extra.recv(100).startswith(b"HTTP/1.0 503"), "beyond the queue: turned away at once"
        finally:
            for s in idle:
                s.close()
        time.sleep(0.2)
        assert get(srv, "/")[0] == 200, "the server serves again once the idle clients are gone"


def test_remote_binding_needs_allow_remote(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "", "::"):
        with pytest.raises(UsageError, match="--allow-remote"):
            make_server(tmp_path, host, 0)
    assert server.is_loopback("127.0.0.1") and server.is_loopback("::1") and server.is_loopback("localhost")
    assert not server.is_loopback("0.0.0.0") and not server.is_loopback("")
    with pytest.raises(UsageError, match="0 to 65535"):
        make_server(tmp_path, "127.0.0.1", 99999)
