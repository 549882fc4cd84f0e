"""Results folders for the serve and prune tests, written by hand (no Docker, no checker run), and a
live server on a free loopback port."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.serve import make_server
from harness.serve.server import ResultsServer


def fake_run(root: Path, test: str, started: datetime, valid: Any = True, *, history: list[int] | None = None,
             report: bool = True, **fields: Any) -> Path:
    """A run folder as `RunDir` names it (root/test/YYYYmmddTHHMMSS), with results.json holding
    `valid` and `fields`; `history` gives latencies (ms) of ok reads written to history.jsonl."""
    run = root / test / started.strftime("%Y%m%dT%H%M%S")
    run.mkdir(parents=True)
    results = {"valid": valid, "test_name": test, "seed": 1, "config": {"nemesis": ["partition"]},
               "faults": {"partition": {"injected": 2, "healed": 2, "failed": 0, "seconds": 20.0, "nodes": ["n1"]}},
               "counts": {"read": {"ok": 10, "fail": 1, "info": 0}}, "timings": {"ops_per_s": 50.0}, **fields}
    (run / "results.json").write_text(json.dumps(results))
    if report:
        (run / "report.html").write_text(f"<!DOCTYPE html><html><body><p>report of {run.name}</p></body></html>")
    if history is not None:
        lines, t = [], 0
        for i, ms in enumerate(history):
            lines.append({"index": 2 * i, "time": t, "process": 0, "type": "invoke", "f": "read", "key": "k",
                          "value": None})
            lines.append({"index": 2 * i + 1, "time": t + ms * 1_000_000, "process": 0, "type": "ok", "f": "read",
                          "key": "k", "value": 1})
            t += ms * 1_000_000 + 1
        (run / "history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    return run


@contextlib.contextmanager
def serving(root: Path, **options: Any) -> Iterator[ResultsServer]:
    server = make_server(root, "127.0.0.1", 0, **options)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def get(server: ResultsServer, path: str, method: str = "GET") -> tuple[int, str]:
    """Status and body for a raw request path (sent as given: no client-side normalising)."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()
