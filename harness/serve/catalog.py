"""What `harness serve` knows about each run: one summary per results folder, read defensively.

A results folder is written by many versions of the harness, edited by hand, copied between
machines and sometimes cut short, so every field is optional and checked for its type: a folder
whose results.json cannot be read becomes a "broken" summary with the reason, and never stops
the others from being listed. Nothing here follows a link out of the results root.
"""

from __future__ import annotations

import json
import math
import os
import stat
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from harness.store import HISTORY, REPORT, RESULTS, runs, started

MAX_RESULTS_BYTES = 64 * 2**20  # a results.json past this is not one the harness wrote
MAX_HISTORY_BYTES = 256 * 2**20  # latency is computed from histories up to this size only
VERDICTS = ("valid", "invalid", "unknown", "broken")


@dataclass
class RunSummary:
    """One run as the index, trend and diff pages show it; `broken` says why results.json was unusable."""

    rel: str  # "test/stamp", relative to the results root, always with "/"
    path: Path
    test: str
    when: datetime
    verdict: str
    broken: str | None = None
    db: str | None = None
    workload: str | None = None
    nemesis: tuple[str, ...] | None = None
    seed: str | None = None
    run_id: str | None = None
    ops: int | None = None
    ops_per_s: float | None = None
    faults: dict[str, int] = field(default_factory=dict)
    has_report: bool = False
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def stamp(self) -> str:
        return self.path.name


def inside(root: Path, path: Path) -> Path | None:
    """`path` with every link resolved, if that is still inside `root` (itself resolved); else None."""
    real = Path(os.path.realpath(path))
    return real if real == root or root in real.parents else None


def read_regular(root: Path, path: Path, limit: int) -> bytes:
    """The bytes of a regular file inside `root`, at most `limit` of them; OSError otherwise.

    The check is made on the resolved path, and the file is opened without following a link
    and without blocking (a FIFO planted as results.json must not hang the server).
    """
    real = inside(root, path)
    if real is None:
        raise OSError(f"{path.name} points outside the results folder")
    fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path.name} is not a regular file")
        if st.st_size > limit:
            raise OSError(f"{path.name} is larger than {limit // 2**20} MiB")
        return f.read(limit + 1)[:limit]


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"]:
        return value["name"]
    return None


def number(value: Any) -> float | None:
    """A finite number from a JSON value, else None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        f = float(value)
    except OverflowError:  # a 5000-digit integer
        return None
    return f if math.isfinite(f) else None


def _nemesis(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list | tuple):
        return tuple(str(n) for n in value)
    if isinstance(value, str):
        return tuple(n.strip() for n in value.split(",") if n.strip() and n.strip() != "none")
    return None


def _ops(counts: Any) -> int | None:
    if not isinstance(counts, dict):
        return None
    total = 0
    for row in counts.values():
        if isinstance(row, dict):
            total += sum(int(n) for n in row.values() if number(n) is not None)
    return total


def summarise(root: Path, run_dir: Path) -> RunSummary:
    """The summary of one run folder; never raises for anything inside the folder."""
    rel = run_dir.relative_to(root).as_posix()
    try:
        when = datetime.fromtimestamp(started(run_dir))
    except (OverflowError, OSError, ValueError):  # a modification time no calendar holds
        when = datetime.fromtimestamp(0)
    base = RunSummary(rel=rel, path=run_dir, test=run_dir.parent.name, when=when, verdict="broken")
    try:
        r = json.loads(read_regular(root, run_dir / RESULTS, MAX_RESULTS_BYTES))
    except OSError as e:
        base.broken = f"results.json cannot be read: {e.strerror or e}"
        return base
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        base.broken = f"results.json is not valid JSON: {str(e)[:200]}"
        return base
    if not isinstance(r, dict):
        base.broken = f"results.json holds a JSON {type(r).__name__}, not an object"
        return base
    config = r.get("config") if isinstance(r.get("config"), dict) else {}
    timings = r.get("timings") if isinstance(r.get("timings"), dict) else {}
    faults = r.get("faults") if isinstance(r.get("faults"), dict) else {}
    seed = r.get("seed")
    report = run_dir / REPORT
    return RunSummary(
        rel=rel,
        path=run_dir,
        test=_text(r.get("test_name")) or run_dir.parent.name,
        when=when,
        verdict="valid" if r.get("valid") is True else "invalid" if r.get("valid") is False else "unknown",
        db=_text(config.get("db")),
        workload=_text(config.get("workload")),
        nemesis=_nemesis(config.get("nemesis")),
        seed=None if seed is None or isinstance(seed, dict | list) else str(seed),
        run_id=_text(r.get("run_id")),
        ops=_ops(r.get("counts")),
        ops_per_s=number(timings.get("ops_per_s")),
        faults={str(k): int(v["injected"]) for k, v in faults.items()
                if isinstance(v, dict) and number(v.get("injected")) is not None},
        has_report=report.is_file() and inside(root, report) is not None,
        results=r,
    )


def catalog(root: Path) -> list[RunSummary]:
    """Every run under `root`, newest first (paths, and `rel`, are relative to the resolved root)."""
    root = root.resolve()
    return [summarise(root, d) for d in runs(root)]


_latency_cache: dict[tuple[str, int, int], tuple[float | None, float | None]] = {}
_latency_lock = threading.Lock()


def latency_ms(root: Path, run: RunSummary) -> tuple[float | None, float | None]:
    """p50 and p99 latency of ok client operations, in ms: from results.json's "latency" when the
    run recorded it ({"p50_ms": ..., "p99_ms": ...}), else computed from history.jsonl.

    Computing means reading the whole history, so the figures are cached per file version
    (path, size, modification time) and histories over MAX_HISTORY_BYTES are not read at all.
    A history that cannot be read gives (None, None): a trend shows a gap, never a made-up value.
    """
    recorded = run.results.get("latency")
    if isinstance(recorded, dict):
        p50, p99 = number(recorded.get("p50_ms")), number(recorded.get("p99_ms"))
        if p50 is not None or p99 is not None:
            return p50, p99
    history = run.path / HISTORY
    real = inside(root.resolve(), history)
    try:
        st = os.stat(real) if real is not None else None
    except OSError:
        st = None
    if real is None or st is None or not stat.S_ISREG(st.st_mode) or st.st_size > MAX_HISTORY_BYTES:
        return None, None
    key = (str(real), st.st_size, st.st_mtime_ns)
    with _latency_lock:
        if key in _latency_cache:
            return _latency_cache[key]
    figures = _latency_from_history(real)
    with _latency_lock:
        _latency_cache[key] = figures
    return figures


def _latency_from_history(path: Path) -> tuple[float | None, float | None]:
    from checkers.history import HistoryError, iter_history
    from harness.report.data import spans

    try:
        done = sorted(s.end - s.start for s in spans(iter_history(path)) if s.end is not None and s.type == "ok")
    except (HistoryError, OSError, ValueError, RecursionError):
        return None, None
    if not done:
        return None, None

    def q(p: float) -> float:
        return round(done[min(len(done) - 1, int(p * len(done)))] / 1e6, 3)

    return q(0.5), q(0.99)


@dataclass
class Filters:
    """The index's filters, from the query string; an empty field filters nothing."""

    test: str = ""
    db: str = ""
    workload: str = ""
    nemesis: str = ""
    verdict: str = ""
    since: date | None = None
    until: date | None = None
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, query: str) -> Filters:
        params = {k: v[-1].strip() for k, v in parse_qs(query, errors="replace").items() if v}
        f = cls(**{k: params.get(k, "") for k in ("test", "db", "workload", "nemesis", "verdict")})
        if f.verdict and f.verdict not in VERDICTS:
            f.errors.append(f"verdict must be one of {', '.join(VERDICTS)}")
            f.verdict = ""
        for name in ("since", "until"):
            text = params.get(name, "")
            if text:
                try:
                    setattr(f, name, date.fromisoformat(text))
                except ValueError:
                    f.errors.append(f"{name} must be a date as YYYY-MM-DD")
        return f

    def value(self, name: str) -> str:
        v = getattr(self, name)
        return v.isoformat() if isinstance(v, date) else v or ""

    def matches(self, run: RunSummary) -> bool:
        if self.test and run.test != self.test:
            return False
        if self.db and run.db != self.db:
            return False
        if self.workload and run.workload != self.workload:
            return False
        # "none" is a run with no faults; a run that did not record its nemesis matches neither.
        if self.nemesis and (run.nemesis is None or (self.nemesis == "none" and run.nemesis)
                             or (self.nemesis != "none" and self.nemesis not in run.nemesis)):
            return False
        if self.verdict and run.verdict != self.verdict:
            return False
        day = run.when.date()
        return not ((self.since and day < self.since) or (self.until and day > self.until))
