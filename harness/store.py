"""The results folder of one run: `results/<test name>/<timestamp>/`, and `latest` links to it.

Layout: history.jsonl (streamed during the run), results.json (config, seed, counts, verdicts),
harness.log (everything the harness did, with tracebacks), nodes/<node>/ (logs copied out of
each node), report.html.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError

HISTORY = "history.jsonl"
RESULTS = "results.json"
HARNESS_LOG = "harness.log"
REPORT = "report.html"


def _relink(link: Path, target: Path) -> None:
    """Point `link` at `target` atomically (a new symlink renamed over the old one)."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(target, link.parent))
    tmp.replace(link)


@dataclass(frozen=True)
class RunDir:
    path: Path

    @classmethod
    def create(cls, root: Path, test_name: str) -> RunDir:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", test_name):
            raise UsageError(f"test name {test_name!r} may only hold letters, digits, '.', '_' and '-'")
        stamp = time.strftime("%Y%m%dT%H%M%S")
        path = root / test_name / stamp
        n = 1
        while path.exists():
            n += 1
            path = root / test_name / f"{stamp}-{n}"
        path.mkdir(parents=True)
        _relink(root / test_name / "latest", path)
        _relink(root / "latest", path)
        return cls(path)

    @property
    def history(self) -> Path:
        return self.path / HISTORY

    @property
    def log(self) -> Path:
        return self.path / HARNESS_LOG

    @property
    def report(self) -> Path:
        return self.path / REPORT

    def node_dir(self, node: str) -> Path:
        d = self.path / "nodes" / node
        d.mkdir(parents=True, exist_ok=True)
        return d

    def write_results(self, results: dict[str, Any]) -> Path:
        out = self.path / RESULTS
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=2, default=str) + "\n")
        tmp.replace(out)
        return out


def read_results(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / RESULTS).read_text())
