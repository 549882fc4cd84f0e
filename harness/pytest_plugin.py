"""A pytest plugin: a fault-injection test written as an ordinary pytest test.

    def test_partition_safety(harness_run):
        result = harness_run(db="etcd", workload="register", nemesis="partition", time_limit=30)
        assert result.valid

`harness_run` builds the test exactly as `harness run` does (same parts, same validation), runs
it in fresh containers on a free subnet, and returns a `HarnessResult`. When the test fails, its
report gets a "harness" section with every run's verdict, what the checker found, the report's
path and the command that replays the run (pytest shortens a failed assertion's values, so the
section is where the whole story is); the same go into JUnit as test-case properties
(`harness_seed`, `harness_replay`, `harness_report`). `@pytest.mark.harness(nodes=5, db="etcd", ...)` sets
defaults for the `harness_run` calls of one test (or, as `pytestmark`, of a module).
Installed with the harness (the `pytest11` entry point), so a team's test suite gets it by
installing the package.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.store import REPORT

RUN_OPTION_NAMES = ("nodes", "time_limit", "nemesis_interval", "concurrency", "rate", "op_timeout",
                    "recovery_time", "ready_timeout", "seed")
BUILTIN_DEFAULTS: dict[str, Any] = {"db": "raft", "workload": "register", "nemesis": "partition", "db_opts": (),
                                    "workload_opts": (), "subnet": None, "subnet_prefix": "10.250", "results": None,
                                    "nodes": 3, "time_limit": 30.0}


@dataclass
class HarnessResult:
    """One run's outcome, readable in an assertion message."""

    results: dict[str, Any]
    run_dir: Path

    @property
    def valid(self) -> bool:
        """True only for a valid verdict: unknown proves nothing, so it fails an `assert result.valid`."""
        return self.results.get("valid") is True

    @property
    def verdict(self) -> str:
        return {True: "valid", False: "invalid"}.get(self.results.get("valid"), "unknown")

    @property
    def report(self) -> Path:
        return self.run_dir / REPORT

    @property
    def replay(self) -> str:
        argv = list((self.results.get("config") or {}).get("argv") or [])
        return shlex.join(argv)

    def why(self) -> str:
        """What the checkers found (or why the verdict is unknown), in one line."""
        found = []
        for name, r in (self.results.get("checkers") or {}).items():
            if isinstance(r, dict) and r.get("valid") is not True:
                cex = r.get("counterexample") if isinstance(r.get("counterexample"), dict) else {}
                found.append(f"{name}: {r.get('message') or cex.get('message') or r.get('reason') or r.get('valid')}")
        cause = self.results.get("unknown_cause") or {}
        if cause and not found:
            found.append(f"{cause.get('kind')}: {cause.get('detail')}")
        return "; ".join(found) or "nothing wrong found"

    def __repr__(self) -> str:
        return (f"<harness {self.verdict.upper()} ({self.results.get('test_name')}, seed {self.results.get('seed')}): "
                f"{self.why()}\n  report: {self.report}\n  replay: {self.replay}>")


RUNS = pytest.StashKey[list[HarnessResult]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test that ran the harness gets each run's story as a report section."""
    report = yield
    runs = item.stash.get(RUNS, [])
    if report.failed and runs and call.when == "call":
        report.sections.append(("harness", "\n".join(repr(r) for r in runs)))
    return report


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "harness(**defaults): defaults for harness_run in this test (db, workload, "
                            "nemesis, db_opts, nodes, time_limit, ...)")


@pytest.fixture
def harness_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                record_property: Callable[[str, object], None]) -> Callable[..., HarnessResult]:
    """Run a test against a fresh cluster; see the module docstring."""
    defaults: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("harness"))):
        defaults.update(marker.kwargs)

    def run_test(**given: Any) -> HarnessResult:
        """Keywords: db, workload, nemesis, db_opts, workload_opts (as on the command line), the run
        options nodes, time_limit, nemesis_interval, concurrency, rate, op_timeout, recovery_time,
        ready_timeout, seed, and subnet / subnet_prefix / results. Defaults: raft, register,
        partition, 3 nodes, 30 s, a free /24 under 10.250, a pytest temporary folder."""
        from harness.containers import connect, free_subnet
        from harness.platform import DockerPlatform
        from harness.run import run
        from harness.test import RunOptions, make_test

        settings = {**BUILTIN_DEFAULTS, **defaults, **given}
        unknown = sorted(set(settings) - set(BUILTIN_DEFAULTS) - set(RUN_OPTION_NAMES))
        if unknown:
            raise TypeError(f"harness_run got unknown options: {', '.join(unknown)}")
        run_options = RunOptions(results_root=settings["results"] or tmp_path_factory.mktemp("harness"))
        for name in RUN_OPTION_NAMES:
            if name in settings:
                setattr(run_options, name, settings[name])
        platform = DockerPlatform(settings["subnet"] or free_subnet(connect(), settings["subnet_prefix"]))
        test = make_test(db=settings["db"], db_opts=settings["db_opts"], workload=settings["workload"],
                         workload_opts=settings["workload_opts"], nemesis=settings["nemesis"], platform=platform,
                         options=run_options, name=_test_name(request.node.name))
        outcome = run(test, say=lambda *_: None)
        result = HarnessResult(outcome.results, outcome.run_dir)
        request.node.stash.setdefault(RUNS, []).append(result)
        record_property("harness_seed", test.options.seed)
        record_property("harness_replay", result.replay)
        record_property("harness_report", str(result.report))
        return result

    return run_test


def _test_name(node_name: str) -> str:
    """A results folder name from the pytest test's name (parameters included)."""
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in node_name).strip("-")[:100] or "pytest"
