"""The results folder of one run: `results/<test name>/<timestamp>/`, and `latest` links to it.

Layout: history.jsonl (streamed during the run), history.edn (the same in Jepsen's format, for
cross-checking with Knossos or Elle), results.json (config, seed, versions, faults, counts,
verdicts), harness.log (everything the harness did, with tracebacks), nodes/<node>/ (logs
copied out of each node), report.html. `results/latest` and `results/<test name>/latest`
point at the newest run.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.errors import UsageError

HISTORY = "history.jsonl"
HISTORY_EDN = "history.edn"
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
    def history_edn(self) -> Path:
        return self.path / HISTORY_EDN

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


def versions(docker_engine: str | None = None) -> dict[str, str | None]:
    """What produced a run, recorded so a result can be reproduced or explained later.

    The Docker engine's version is passed in by the run (it holds the client); asking for it
    here would mean a second connection, or none at all when re-rendering without Docker. The
    package version rarely changes, so the source's git commit is recorded too when there is one.
    """
    try:
        harness = metadata.version("harness")
    except metadata.PackageNotFoundError:  # running from a tree that was never installed
        harness = None
    try:
        git = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
        commit = git.stdout.strip() if git.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        commit = None
    return {
        "harness": harness,
        "harness_commit": commit,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "docker_engine": docker_engine,
    }


def runs(root: Path) -> Iterator[Path]:
    """Every run folder under a results root (those holding results.json), newest first.

    `latest` links, and any other folder reached through a link, are skipped: each run is listed
    once, and a link planted in the results folder cannot pull another tree into the listing.
    """
    found = [p.parent for p in root.glob(f"*/*/{RESULTS}")
             if not p.parent.is_symlink() and not p.parent.parent.is_symlink()]
    yield from sorted(found, key=lambda p: (started(p), p.name, p.parent.name), reverse=True)


def started(run_dir: Path) -> float:
    """When a run started (epoch seconds): the timestamp `RunDir.create` put in the folder's name
    (local time, like the name), else the folder's modification time for folders made by hand."""
    stamp = run_dir.name.split("-")[0]
    try:
        return time.mktime(time.strptime(stamp, "%Y%m%dT%H%M%S"))
    except (ValueError, OverflowError):
        try:
            return run_dir.stat().st_mtime
        except OSError:
            return 0.0
