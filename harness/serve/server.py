"""The HTTP side of `harness serve`: generated pages, and the runs' own files, and nothing else.

Results folders hold whatever a system under test returned, and a results folder may be shared
(a CI workspace, a team's NFS mount), so the server trusts neither the requests nor the files:
- only regular files whose path, after resolving every link, is inside the results root are
  served; `..`, encoded traversal, links out of the root, FIFOs and devices get 404, and no
  directory is listed (a run folder gets a generated list of its regular files instead);
- a fixed pool of worker threads serves connections; each socket operation times out, each
  connection has a deadline after which it is cut, and connections beyond what the pool can
  queue are answered 503 at once, so idle or slow clients cannot pile up threads;
- it binds loopback unless `allow_remote` is given (the CLI warns loudly then).
"""

from __future__ import annotations

import contextlib
import ipaddress
import mimetypes
import os
import socket
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from harness.errors import UsageError
from harness.serve import pages
from harness.serve.catalog import Filters, catalog, inside
from harness.store import RESULTS

IO_TIMEOUT = 10.0  # seconds one read or write on a connection may wait
DEADLINE = 120.0  # seconds a whole connection may take (slow clients trickling bytes are cut here)
WORKERS = 8
QUEUED = 32  # connections accepted and waiting for a worker, beyond which new ones get 503
MAX_LISTED = 2000  # files listed for one run
TEXT_SUFFIXES = {".log", ".jsonl", ".edn", ".txt", ".json", ".md"}
SECURITY_HEADERS = {
    # Reports are self-contained: inline style and script, no fetches, no framing.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                               "img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def url_to_path(root: Path, url_path: str) -> Path | None:
    """The file or folder a URL path names inside `root`, with links resolved; None if it would
    leave the root or cannot name a file (`..` segments, NUL, bad percent-encoding)."""
    try:
        text = unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if "\x00" in text or ".." in parts or any("\\" in p for p in parts):
        return None
    return inside(root, root.joinpath(*parts))


def run_files(root: Path, run_dir: Path) -> list[str]:
    """Relative names of the regular files in a run folder, not following links (and skipping
    links to files, which may point anywhere)."""
    names: list[str] = []
    for folder, dirs, files in os.walk(run_dir, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(path).st_mode) and inside(root, path) is not None:
                    names.append(path.relative_to(run_dir).as_posix())
            if len(names) >= MAX_LISTED:
                return names
    return names


class _Watchdog:
    """Cuts connections that outlive their deadline (one thread for the whole server)."""

    def __init__(self) -> None:
        self._due: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="serve-watchdog", daemon=True)
        self._thread.start()

    def watch(self, sock: socket.socket, seconds: float) -> None:
        with self._lock:
            self._due[sock] = time.monotonic() + seconds

    def forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._due.pop(sock, None)

    def cut_all(self) -> None:
        with self._lock:
            for sock in self._due:
                self._due[sock] = 0.0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                late = [s for s, t in self._due.items() if t <= now]
                for s in late:
                    del self._due[s]
            for s in late:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


class ResultsServer(HTTPServer):
    """An HTTPServer whose connections go to a fixed pool of workers, each under a deadline."""

    request_queue_size = 64

    def __init__(self, root: Path, address: tuple[str, int], family: int, workers: int, io_timeout: float,
                 deadline: float) -> None:
        self.address_family = family
        self.root = root
        self.io_timeout = io_timeout
        self.deadline = deadline
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="serve")
        self._slots = threading.BoundedSemaphore(workers + QUEUED)
        self._watchdog = _Watchdog()
        super().__init__(address, _Handler)  # on a bind error this calls server_close, which stops the above

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.settimeout(1.0)
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        self._watchdog.watch(request, self.deadline)  # the deadline counts the wait for a worker too
        self._pool.submit(self._serve_one, request, client_address)

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            with contextlib.suppress(Exception):  # a client hanging up or timing out is routine, not news
                self.finish_request(request, client_address)
        finally:
            self._watchdog.forget(request)
            self.shutdown_request(request)
            self._slots.release()

    def server_close(self) -> None:
        super().server_close()
        self._watchdog.cut_all()
        time.sleep(0.1)  # one watchdog tick: the cut connections' workers return
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._watchdog.stop()


class _Handler(BaseHTTPRequestHandler):
    """GET and HEAD only: the generated pages, or a regular file inside the results root."""

    server: ResultsServer
    server_version = "harness"
    sys_version = ""

    def setup(self) -> None:
        self.timeout = self.server.io_timeout
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a browser fetching a report is not news on the terminal."""

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def do_GET(self) -> None:
        self._respond(head=False)

    def _respond(self, head: bool) -> None:
        root = self.server.root
        url = urlsplit(self.path)
        try:
            if url.path in ("/", "/index.html"):
                runs = catalog(root)
                body = pages.index_html(root, runs, Filters.from_query(url.query), pages.Links())
            elif url.path == "/trend":
                narrow = Filters.from_query(url.query)
                body = pages.trend_html(root, narrow.test, catalog(root), pages.Links(), narrow)
            elif url.path == "/diff":
                body = self._diff(url.query)
                if body is None:
                    return
            else:
                self._file(url.path, head)
                return
        except Exception as e:  # one line to the terminal and a 500, never a traceback
            print(f"harness serve: {self.path[:200]!r}: {type(e).__name__}: {e}", file=sys.stderr)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"internal error\n", "text/plain; charset=utf-8", head)
            return
        self._send(HTTPStatus.OK, body.encode("utf-8", "replace"), "text/html; charset=utf-8", head)

    def _diff(self, query: str) -> str | None:
        params = parse_qs(query, errors="replace")
        a, b = (params.get(k, [""])[-1] for k in ("a", "b"))
        by_rel = {r.rel: r for r in catalog(self.server.root)}
        if a not in by_rel or b not in by_rel:
            self._send(HTTPStatus.NOT_FOUND, b"diff needs a=RUN&b=RUN naming two runs in the index\n",
                       "text/plain; charset=utf-8", False)
            return None
        return pages.diff_html(self.server.root, by_rel[a], by_rel[b], pages.Links())

    def _file(self, url_path: str, head: bool) -> None:
        root = self.server.root
        path = url_to_path(root, url_path)
        if path is not None and path.is_dir():
            if (path / RESULTS).exists() and path != root:  # a run folder: its files, listed by us
                rel = path.relative_to(root).as_posix()
                if not url_path.endswith("/"):  # so that the list's relative links resolve inside it
                    self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                    # Built from the resolved folder, never from the request: "//host/..." would send
                    # the browser to another site.
                    self.send_header("Location", "/" + quote(rel) + "/")
                    self._headers("text/plain; charset=utf-8", 0)
                    return
                body = pages.files_html(rel, run_files(root, path), pages.Links()).encode("utf-8", "replace")
                self._send(HTTPStatus.OK, body, "text/html; charset=utf-8", head)
                return
            path = None
        if path is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", head)
            return
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", head)
            return
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", head)
                return
            self.send_response(HTTPStatus.OK)
            self._headers(_content_type(path), st.st_size)
            if not head:
                while chunk := f.read(256 * 1024):
                    self.wfile.write(chunk)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, head: bool) -> None:
        self.send_response(status)
        self._headers(content_type, len(body))
        if not head:
            self.wfile.write(body)

    def _headers(self, content_type: str, length: int) -> None:
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        for k, v in SECURITY_HEADERS.items():
            self.send_header(k, v)
        self.end_headers()


def _content_type(path: Path) -> str:
    """Logs and histories as plain text (nosniff keeps a browser from running what they hold)."""
    if path.suffix in TEXT_SUFFIXES:
        return "application/json; charset=utf-8" if path.suffix == ".json" else "text/plain; charset=utf-8"
    guess = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return guess + ("; charset=utf-8" if guess.startswith("text/") else "")


def is_loopback(host: str) -> bool:
    """Whether every address `host` resolves to is a loopback one ("" and 0.0.0.0 are every interface)."""
    try:
        infos = socket.getaddrinfo(host or None, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0].split("%")[0]).is_loopback for i in infos)


def make_server(root: Path, host: str = "127.0.0.1", port: int = 8080, *, allow_remote: bool = False,
                workers: int = WORKERS, io_timeout: float = IO_TIMEOUT, deadline: float = DEADLINE) -> ResultsServer:
    """A server for `root` (not yet serving); port 0 picks a free port (see `server_address`).

    A host that is not loopback is refused (UsageError) unless `allow_remote`; a bad host or a
    port that cannot be bound is a UsageError with one line.
    """
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: must be 0 to 65535")
    if not allow_remote and not is_loopback(host):
        raise UsageError(f"refusing to serve on {host or 'every interface'!r}: results would be readable from the "
                         "network; bind 127.0.0.1, or pass --allow-remote to mean it")
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        raise UsageError(f"--host {host}: cannot resolve it ({e})") from e
    family, _, _, _, address = infos[0]
    try:
        return ResultsServer(root.resolve(), address[:2], family, workers, io_timeout, deadline)
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e


def serve(root: Path, host: str = "127.0.0.1", port: int = 8080, allow_remote: bool = False) -> None:
    """Serve until Ctrl-C; a missing folder, a busy port or a refused host is a one-line usage error."""
    if not root.is_dir():
        raise UsageError(f"{root}: no such results folder")
    server = make_server(root, host, port, allow_remote=allow_remote)
    bound_host, bound_port = server.server_address[:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    try:  # Ctrl-C is how this stops: once the address is out, it is a normal end
        if not is_loopback(host):
            print(f"WARNING: serving {root} to the network on {bound_host}:{bound_port} without authentication: "
                  "anyone who can reach this port can read every history, log and configuration in it",
                  file=sys.stderr, flush=True)
        print(f"serving {root} at http://{shown}:{bound_port}/ (Ctrl-C stops)", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
