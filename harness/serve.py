"""`harness serve`: browse a results folder: an index of every run, and the runs' own files.

Reports are self-contained files, so a plain static file server is enough for them; the only
generated page is the index, rebuilt on every request so a run that just finished shows up
without a restart. The standard library's server is plenty for one person's browser, and binds
to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import time
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from harness.errors import UsageError
from harness.store import REPORT, read_results, runs

esc = html.escape
STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 10px;text-align:left}.valid{color:#2e7d32}.invalid{color:#c62828}
.unknown{color:#5f6368}td.v{font-weight:bold}"""


def _row(root: Path, run_dir: Path) -> str:
    try:
        r: dict[str, Any] = read_results(run_dir)
    except (OSError, ValueError):
        r = {}
    word = {True: "valid", False: "invalid"}.get(r.get("valid"), "unknown")
    rel = run_dir.relative_to(root).as_posix()
    nemesis = (r.get("config") or {}).get("nemesis")
    ops = sum(sum(c.values()) for c in (r.get("counts") or {}).values() if isinstance(c, dict))
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime((run_dir / "results.json").stat().st_mtime))
    report = (f'<a href="{esc(quote(rel))}/{REPORT}">report</a>' if (run_dir / REPORT).exists() else "no report")
    return (f'<tr><td class="v {word}">{word}</td><td>{esc(str(r.get("test_name", run_dir.parent.name)))}</td>'
            f"<td>{esc(json.dumps(nemesis) if nemesis is not None else '?')}</td><td>{esc(when)}</td>"
            f'<td>{ops}</td><td>{esc(str(r.get("seed", "")))}</td><td>{report} · '
            f'<a href="{esc(quote(rel))}/">files</a></td></tr>')


def index_html(root: Path) -> str:
    """The index page: one row per run, newest first."""
    rows = "".join(_row(root, d) for d in runs(root))
    body = (f"<table><tr><th>verdict</th><th>test</th><th>nemesis</th><th>date</th><th>ops</th><th>seed</th>"
            f"<th></th></tr>{rows}</table>") if rows else "<p>No runs yet.</p>"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>harness runs</title>'
            f"<style>{STYLE}</style></head><body><h1>Runs in {esc(str(root))}</h1>{body}</body></html>")


class _Handler(SimpleHTTPRequestHandler):
    """Static files under the results root, plus the generated index at `/`."""

    root: Path

    def do_GET(self) -> None:
        if self.path in ("/", "/index.html"):
            body = index_html(self.root).encode("utf-8")
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a browser fetching a report is not news on the terminal."""


def make_server(root: Path, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A server for `root` (not yet serving); port 0 picks a free port (see `server_address`)."""
    root = root.resolve()
    handler = type("Handler", (_Handler,), {"root": root})
    return ThreadingHTTPServer((host, port), partial(handler, directory=os.fspath(root)))


def serve(root: Path, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve until Ctrl-C; a missing folder or a busy port is a one-line usage error."""
    if not root.is_dir():
        raise UsageError(f"{root}: no such results folder")
    try:
        server = make_server(root, host, port)
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror}") from e
    bound_host, bound_port = server.server_address[:2]
    print(f"serving {root} at http://{bound_host}:{bound_port}/ (Ctrl-C stops)", flush=True)
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
