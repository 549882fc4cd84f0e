"""`harness prune`: remove old runs from a results folder, and never the evidence of a bug.

A results folder grows by megabytes per minute of testing, so nightly CI needs retention. What
may go is decided per test: `keep` spares the newest N runs of each test, `older_than` spares
runs younger than that; a run is removed only if no rule spares it. Only valid runs are removed
by default: an invalid run is the record of a bug (removed only with `include_invalid`), an
unknown one may hide one (`include_unknown`), and a folder whose results.json cannot be read is
never removed (nobody can tell what it holds). Runs still going (no results.json yet) are not
runs to the catalog, so they are never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UsageError
from harness.serve.catalog import RunSummary, catalog, inside

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """'30d', '12h', '90m', '2w' or '45s' as seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if not m:
        raise UsageError(f"--older-than {text!r}: give a number and a unit, s m h d or w (e.g. 30d)")
    return float(m.group(1)) * UNITS[m.group(2)]


@dataclass
class Plan:
    remove: list[RunSummary] = field(default_factory=list)
    spared: dict[str, list[RunSummary]] = field(default_factory=dict)  # why -> runs kept only for that reason


def plan(runs: list[RunSummary], now: float, keep: int | None, older_than: float | None,
         include_invalid: bool = False, include_unknown: bool = False) -> Plan:
    """Which runs to remove, and which the verdict rules spare (the retention rules keep the rest)."""
    if keep is None and older_than is None:
        raise UsageError("prune needs --keep N or --older-than AGE (or both)")
    if keep is not None and keep < 0:
        raise UsageError(f"--keep {keep}: must be 0 or more")
    removable = {"valid"} | ({"invalid"} if include_invalid else set()) | ({"unknown"} if include_unknown else set())
    out = Plan()
    seen: dict[str, int] = {}
    for run in sorted(runs, key=lambda r: (r.when, r.stamp), reverse=True):
        rank = seen[run.test] = seen.get(run.test, 0) + 1
        if keep is not None and rank <= keep:
            continue
        if older_than is not None and now - run.when.timestamp() < older_than:
            continue
        if run.verdict in removable:
            out.remove.append(run)
        else:
            out.spared.setdefault(run.verdict, []).append(run)
    return out


def folder_bytes(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path, followlinks=False):
        for name in files:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def prune(root: Path, now: float, keep: int | None, older_than: float | None, *, include_invalid: bool = False,
          include_unknown: bool = False, dry_run: bool = False, say: Callable[[str], None] = print) -> Plan:
    """Remove (or with `dry_run` only name) the runs `plan` picks, saying each; then drop `latest`
    links left pointing at nothing and test folders left empty."""
    root = root.resolve()
    if not root.is_dir():
        raise UsageError(f"{root}: no such results folder")
    decided = plan(catalog(root), now, keep, older_than, include_invalid, include_unknown)
    verb = "would remove" if dry_run else "removed"
    freed = 0
    for run in decided.remove:
        if inside(root, run.path) != run.path:  # reached through a link: not ours to delete
            continue
        size = folder_bytes(run.path)
        if not dry_run:
            shutil.rmtree(run.path)
        freed += size
        say(f"{verb} {run.rel} ({run.verdict}, started {run.when:%Y-%m-%d %H:%M}, {size / 2**20:.1f} MiB)")
    if not dry_run:
        _tidy(root, {run.path.parent for run in decided.remove})
    for verdict, spared in sorted(decided.spared.items()):
        hint = {"invalid": " (--include-invalid removes them)", "unknown": " (--include-unknown removes them)",
                "broken": " (results.json unreadable: check and remove by hand)"}.get(verdict, "")
        say(f"kept {len(spared)} old {verdict} run{'s' if len(spared) != 1 else ''}{hint}")
    say(f"{verb} {len(decided.remove)} run{'s' if len(decided.remove) != 1 else ''}, {freed / 2**20:.1f} MiB"
        + (" (dry run: nothing was removed)" if dry_run else ""))
    return decided


def _tidy(root: Path, test_folders: set[Path]) -> None:
    """Remove `latest` links whose run is gone, then the test folders this prune left empty."""
    for link in [root / "latest", *(folder / "latest" for folder in test_folders)]:
        if link.is_symlink() and not link.exists():
            link.unlink()
    for folder in test_folders:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
