"""`harness test-all`: a matrix of systems x workloads x faults x seeds, run as one job with one verdict.

Each cell is an ordinary `harness run` in its own process (a crash or a hang in one cannot take
the others down, and its command line is exactly the replay command), with its own test name,
seed and, when cells run side by side, its own subnet. Every cell is checked before any starts,
so a typo in the matrix is one line and exit 254, not a failure an hour into the night.

The job's exit code follows Jepsen's precedence: a harness failure (255) over unknown (2) over
invalid (1) over valid (0). Cells that failed for the harness's own reasons (exit 255, or an
unknown whose cause is the harness) can be retried (`--retry-harness-errors N`); a retry is said
and recorded, and never applied to a verdict about the system.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.nemesis.registry import KINDS
from harness.store import read_results

EXIT_VALID, EXIT_INVALID, EXIT_UNKNOWN, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 254, 255
PRECEDENCE = (EXIT_FAILED, EXIT_UNKNOWN, EXIT_INVALID, EXIT_VALID)
RUN_OPTIONS = ("nodes", "time-limit", "nemesis-interval", "concurrency", "rate", "op-timeout")
AXES = ("db", "workload", "nemesis")


@dataclass(frozen=True)
class Cell:
    """One test of the matrix: which parts, with which options and seed."""

    db: str
    workload: str
    nemesis: str
    seed: int
    db_opts: tuple[str, ...] = ()
    workload_opts: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in f"{self.db}-{self.workload}-{self.nemesis}")
        return f"{safe.strip('-')[:80]}-s{self.seed}"

    def argv(self, run_options: Mapping[str, Any], results: Path, subnet: str | None) -> list[str]:
        argv = ["harness", "run", "--db", self.db, "--workload", self.workload, "--nemesis", self.nemesis,
                "--seed", str(self.seed), "--test-name", self.name, "--results", str(results)]
        argv += [a for o in self.db_opts for a in ("--db-opt", o)]
        argv += [a for o in self.workload_opts for a in ("--workload-opt", o)]
        argv += [a for k, v in run_options.items() if v is not None for a in (f"--{k}", str(v))]
        return argv + (["--subnet", subnet] if subnet else [])


def split_nemeses(text: str) -> list[str]:
    """The fault sets of a comma list, one per test: `partition,kill` is two tests; `partition+kill`
    is one test with both (a `+` that does not start a fault name belongs to a target list)."""
    out = []
    for entry in (e.strip() for e in text.split(",") if e.strip()):
        specs: list[str] = []
        for token in entry.split("+"):
            if specs and token.split(":", 1)[0] not in KINDS and token not in ("all", "none"):
                specs[-1] += "+" + token
            else:
                specs.append(token)
        out.append(",".join(specs))
    return out


def _as_list(value: Any, key: str, where: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise UsageError(f"{where}: {key} must be a string or a list of strings")
    return values


def cells_of(blocks: Iterable[Mapping[str, Any]], seeds: list[int], where: str) -> list[Cell]:
    """The cartesian product of each block's axes (db, workload, nemesis), times the seeds."""
    cells = []
    for block in blocks:
        unknown = sorted(set(block) - {*AXES, "db-opt", "workload-opt"})
        if unknown:
            raise UsageError(f"{where}: unknown matrix key {unknown[0]!r}; known: {', '.join(AXES)}, db-opt, "
                             "workload-opt")
        dbs = _as_list(block.get("db", "raft"), "db", where)
        workloads = _as_list(block.get("workload", "register"), "workload", where)
        nemeses = _as_list(block.get("nemesis", "partition"), "nemesis", where)
        db_opts = tuple(_as_list(block["db-opt"], "db-opt", where)) if "db-opt" in block else ()
        workload_opts = tuple(_as_list(block["workload-opt"], "workload-opt", where)) if "workload-opt" in block else ()
        for db, workload, nemesis, seed in itertools.product(dbs, workloads, nemeses, seeds):
            cells.append(Cell(db, workload, nemesis, seed, db_opts, workload_opts))
    return cells


def read_config(path: Path) -> tuple[list[Mapping[str, Any]], dict[str, Any]]:
    """A TOML matrix: run options at the top (nodes, time-limit, ..., seeds, test-count) and one or
    more [[matrix]] blocks of axes. Errors name the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--config {path}: cannot read it ({e})") from e
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: not valid TOML ({e})") from e
    blocks = data.pop("matrix", [])
    if not isinstance(blocks, list) or not blocks or not all(isinstance(b, dict) for b in blocks):
        raise UsageError(f"{path}: needs at least one [[matrix]] table")
    allowed = {*RUN_OPTIONS, "seeds", "test-count"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise UsageError(f"{path}: unknown key {unknown[0]!r}; known: {', '.join(sorted(allowed))}, [[matrix]]")
    return blocks, data


@dataclass
class Outcome:
    """What one cell came to, after any retries."""

    cell: Cell
    exit_code: int
    run_dir: Path | None
    results: dict[str, Any] | None
    attempts: int = 1
    retried_for: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        return {EXIT_VALID: "valid", EXIT_INVALID: "invalid", EXIT_UNKNOWN: "unknown"}.get(self.exit_code,
                                                                                       "harness failure")

    def summary(self) -> dict[str, Any]:
        r = self.results or {}
        return {"test": self.cell.name, "db": self.cell.db, "workload": self.cell.workload,
                "nemesis": self.cell.nemesis, "seed": self.cell.seed, "exit_code": self.exit_code,
                "verdict": self.verdict, "run_dir": str(self.run_dir) if self.run_dir else None,
                "attempts": self.attempts, "retried_for": self.retried_for, "seconds": round(self.seconds, 1),
                "unknown_cause": r.get("unknown_cause"), "failure": r.get("failure"),
                "problems": r.get("problems"), "run_id": r.get("run_id")}


def harness_trouble(exit_code: int, results: dict[str, Any] | None) -> str | None:
    """Why a cell's outcome is the harness's fault rather than a verdict, or None."""
    if exit_code == EXIT_FAILED:
        return (results or {}).get("failure") or "the harness failed (exit 255)"
    cause = (results or {}).get("unknown_cause") or {}
    return cause.get("detail") if cause.get("kind") == "harness" else None


def combined_exit(codes: Iterable[int]) -> int:
    """Jepsen's precedence; any code that is not a verdict (a refused setup's 254 included) counts as
    the harness failing, since the job could not test what it was asked to."""
    codes = {c if c in PRECEDENCE else EXIT_FAILED for c in codes}
    return next((c for c in PRECEDENCE if c in codes), EXIT_VALID)


def run_cells(cells: list[Cell], run_options: Mapping[str, Any], results: Path, parallel: int = 1,
              retries: int = 0, subnets: Callable[[int], str | None] = lambda _: None,
              say: Callable[[str], None] = print) -> list[Outcome]:
    """Run every cell (up to `parallel` at once), retrying harness trouble up to `retries` times."""
    lock = threading.Lock()
    done = [0]

    def one(i: int) -> Outcome:
        cell = cells[i]
        outcome: Outcome | None = None
        started = time.monotonic()
        for attempt in range(1, retries + 2):
            argv = cell.argv(run_options, results, subnets(i))
            proc = subprocess.run([sys.executable, "-m", "harness.cli", *argv[1:]], capture_output=True, text=True)
            run_dir = (results / cell.name / "latest").resolve() if (results / cell.name / "latest").exists() else None
            try:
                r = read_results(run_dir) if run_dir is not None else None
            except (OSError, ValueError):
                r = None
            previous = outcome.retried_for if outcome else []
            outcome = Outcome(cell, proc.returncode, run_dir, r, attempt, previous)
            trouble = harness_trouble(proc.returncode, r) or (
                proc.stderr.strip().splitlines()[-1] if proc.returncode == EXIT_FAILED and proc.stderr.strip()
                else None)
            if trouble is None or attempt > retries:
                break
            outcome.retried_for.append(trouble)
            with lock:
                say(f"  retrying {cell.name} (attempt {attempt + 1} of {retries + 1}): harness trouble: {trouble}")
        assert outcome is not None
        outcome.seconds = time.monotonic() - started
        with lock:
            done[0] += 1
            say(f"[{done[0]}/{len(cells)}] {cell.name}: {outcome.verdict.upper()}"
                + (f" after {outcome.attempts} attempts" if outcome.attempts > 1 else "")
                + (f" ({outcome.run_dir})" if outcome.run_dir else ""))
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, range(len(cells))))


def summary_json(outcomes: list[Outcome], exit_code: int) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.verdict] = counts.get(o.verdict, 0) + 1
    return {"exit_code": exit_code, "tests": len(outcomes), "counts": counts,
            "runs": [o.summary() for o in outcomes]}


def summary_markdown(outcomes: list[Outcome], exit_code: int) -> str:
    """A row per run, for a CI step summary."""
    from harness.ci import _md

    icon = {"valid": "✅", "invalid": "❌", "unknown": "⚠️"}
    word = {EXIT_VALID: "VALID", EXIT_INVALID: "INVALID", EXIT_UNKNOWN: "UNKNOWN"}.get(exit_code, "HARNESS FAILURE")
    lines = [f"## {word}: {len(outcomes)} tests", "",
             "| test | verdict | seed | attempts | why | report |", "| --- | --- | --- | --- | --- | --- |"]
    for o in outcomes:
        r = o.results or {}
        why = ""
        if o.verdict == "invalid":
            why = next((str(c.get("message") or (c.get("counterexample") or {}).get("message") or "")
                        for c in (r.get("checkers") or {}).values()
                        if isinstance(c, dict) and c.get("valid") is False), "")
        elif o.verdict != "valid":
            cause = r.get("unknown_cause") or {}
            why = f"{cause.get('kind', 'harness')}: {cause.get('detail') or r.get('failure') or ''}"
        report = f"`{o.run_dir / 'report.html'}`" if o.run_dir else ""
        lines.append(f"| {_md(o.cell.name)} | {icon.get(o.verdict, '💥')} {o.verdict} | {o.cell.seed} | "
                     f"{o.attempts} | {_md(why[:200])} | {report} |")
    return "\n".join(lines) + "\n"


def write_outputs(outcomes: list[Outcome], exit_code: int, junit: Path | None, summary: Path | None,
                  summary_json_path: Path) -> None:
    from harness.ci import junit_xml

    summary_json_path.parent.mkdir(parents=True, exist_ok=True)
    summary_json_path.write_text(json.dumps(summary_json(outcomes, exit_code), indent=2, default=str) + "\n")
    if junit is not None:
        runs = [(o.results or _missing(o), o.run_dir) for o in outcomes]
        junit_xml(runs).write(junit, encoding="utf-8", xml_declaration=True)
    if summary is not None:
        summary.write_text(summary_markdown(outcomes, exit_code), encoding="utf-8")


def _missing(o: Outcome) -> dict[str, Any]:
    """A stand-in results.json for a run that never wrote one (it failed before its folder existed)."""
    return {"test_name": o.cell.name, "seed": o.cell.seed, "valid": "unknown", "checkers": {},
            "failure": f"the run left no results (exit {o.exit_code})",
            "config": {"argv": o.cell.argv({}, Path("results"), None), "nemesis": o.cell.nemesis}}
