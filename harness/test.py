"""A test is data: the parts (system, workload, faults, platform) and the options that shape a run.

Like Jepsen's test map, a `Test` names no concrete system: `make_test` resolves names given on
the command line (or by a pytest test, or a matrix) into parts, parses each part's own options,
and checks that the parts fit together (the workload's operations exist in the system's client;
every fault's abilities exist in the system; the cluster is big enough) before anything is
created, so a refused test leaves no results folder and no container behind.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.options import OptionError
from harness import plugins
from harness.dbs import BUILTIN as BUILTIN_DBS
from harness.dbs.abilities import missing
from harness.dbs.base import DB
from harness.errors import UsageError
from harness.nemesis.registry import KINDS, check_abilities, check_nodes, parse_nemesis, rhythm, split
from harness.nemesis.schedule_file import TimedFault, specs
from harness.platform import DockerPlatform, Platform
from workloads import BUILTIN as BUILTIN_WORKLOADS
from workloads.base import Workload

DB_KIND = plugins.Kind("--db", DB, BUILTIN_DBS, "harness.dbs")
WORKLOAD_KIND = plugins.Kind("--workload", Workload, BUILTIN_WORKLOADS, "harness.workloads")
DEFAULT_DB = "raft"
DEFAULT_WORKLOAD = "register"
MAX_CONCURRENCY = 1000  # client threads; more would exhaust the harness, not the system
MAX_SECONDS = 7 * 24 * 3600
DEFAULT_INTERVAL = 10.0
DEFAULT_OP_TIMEOUT = 5.0


@dataclass
class RunOptions:
    """What shapes a run of any system: size, duration, load, rhythm of faults, seed, where results go."""

    nodes: int = 5
    time_limit: float = 60.0
    nemesis_interval: float | None = None  # None: the fault package's own, else DEFAULT_INTERVAL
    concurrency: int = 10
    rate: float = 100.0
    op_timeout: float | None = None  # None: the fault package's own, else DEFAULT_OP_TIMEOUT
    recovery_time: float = 30.0
    ready_timeout: float = 60.0
    seed: int = field(default_factory=lambda: secrets.randbelow(2**31))
    results_root: Path = Path("results")
    jobs: int | None = None  # processes for the linearizability checker's keys; None: one per core
    tail: float | None = None  # with a schedule: end the workload this long after its last heal; None: time_limit

    def settle(self, preferred: dict[str, float]) -> None:
        """Fill the rhythm left unset: what the fault packages prefer (`preferred`), else the defaults."""
        if self.nemesis_interval is None:
            self.nemesis_interval = preferred.get("interval", DEFAULT_INTERVAL)
        if self.op_timeout is None:
            self.op_timeout = preferred.get("op_timeout", DEFAULT_OP_TIMEOUT)

    def check(self) -> None:
        """Finite, positive and sane, or a UsageError naming the option."""
        for name, value, high in (("--time-limit", self.time_limit, MAX_SECONDS),
                                  ("--nemesis-interval", self.nemesis_interval, MAX_SECONDS),
                                  ("--rate", self.rate, 1e6), ("--op-timeout", self.op_timeout, 3600),
                                  ("--recovery-time", self.recovery_time, 3600),
                                  ("--ready-timeout", self.ready_timeout, 3600)):
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 < value <= high):
                raise UsageError(f"{name} must be a finite number above 0 and at most {high:g}, got {value}")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise UsageError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}, got {self.concurrency}")
        if not 1 <= self.nodes <= 255:
            raise UsageError(f"--nodes must be between 1 and 255, got {self.nodes}")
        if self.tail is not None and not (math.isfinite(self.tail) and 0 < self.tail <= MAX_SECONDS):
            raise UsageError(f"--tail must be a finite number above 0 and at most {MAX_SECONDS:g}, got {self.tail}")
        if self.jobs is not None and not 1 <= self.jobs <= MAX_CONCURRENCY:
            raise UsageError(f"--jobs must be between 1 and {MAX_CONCURRENCY}, got {self.jobs}")
        if not 0 <= self.seed < 2**63:
            raise UsageError(f"--seed must be between 0 and 2^63, got {self.seed}")


@dataclass
class Test:
    """One test, ready to run: every part resolved and checked against the others."""

    name: str
    db: DB
    workload: Workload
    nemesis: list[str]
    platform: Platform
    options: RunOptions
    db_spec: str = DEFAULT_DB
    workload_spec: str = DEFAULT_WORKLOAD
    db_opts: tuple[str, ...] = ()
    workload_opts: tuple[str, ...] = ()
    argv: list[str] | None = None  # the command line that made it, recorded for replay
    schedule: list[TimedFault] | None = None  # timed faults played instead of the rhythm (--schedule)
    replay_of: str | None = None  # the results folder this test replays (`harness replay`)
    bug_preset: list[str] | None = None  # the arguments a named bug's setup filled in (harness.presets)

    def command_line(self) -> list[str]:
        """A `harness run` command line for this test (seed included), for tests not made by the CLI."""
        o = self.options
        argv = ["harness", "run", "--db", self.db_spec, "--workload", self.workload_spec,
                "--nemesis", ",".join(self.nemesis) or "none"]
        argv += [a for pair in self.db_opts for a in ("--db-opt", pair)]
        argv += [a for pair in self.workload_opts for a in ("--workload-opt", pair)]
        for flag, value in (("--nodes", o.nodes), ("--time-limit", o.time_limit),
                            ("--nemesis-interval", o.nemesis_interval), ("--concurrency", o.concurrency),
                            ("--rate", o.rate), ("--op-timeout", o.op_timeout), ("--seed", o.seed)):
            argv += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
        if o.jobs is not None:
            argv += ["--jobs", str(o.jobs)]
        if o.tail is not None:
            argv += ["--tail", f"{o.tail:g}"]
        return argv

    def describe(self) -> dict[str, Any]:
        """The test as results.json records it (configuration; where it ran is recorded by the run)."""
        o = self.options
        return {
            "test_name": self.name, "db": self.db_spec, "db_options": self.db.settings(),
            "workload": self.workload_spec, "workload_options": self.workload.settings(), "nemesis": self.nemesis,
            "nodes": o.nodes, "time_limit": o.time_limit, "nemesis_interval": o.nemesis_interval,
            "concurrency": o.concurrency, "rate": o.rate, "op_timeout": o.op_timeout,
            "recovery_time": o.recovery_time, "ready_timeout": o.ready_timeout, "seed": o.seed, "jobs": o.jobs,
            "results_root": str(o.results_root), "argv": self.argv,
            "schedule_file": None if self.schedule is None else [f.to_json() for f in self.schedule],
            "replay_of": self.replay_of, "tail": o.tail, "bug_preset": self.bug_preset,
        }


def make_test(
    db: str = DEFAULT_DB,
    db_opts: Sequence[str] = (),
    workload: str = DEFAULT_WORKLOAD,
    workload_opts: Sequence[str] = (),
    nemesis: str | Sequence[str] = "partition",
    platform: Platform | None = None,
    options: RunOptions | None = None,
    name: str | None = None,
    argv: list[str] | None = None,
    schedule: list[TimedFault] | None = None,
) -> Test:
    """Resolve and check a test's parts (UsageError, naming the flag, for anything that cannot work).

    `db` and `workload` are names, `FILE.py:Class` or `module:Class` (see `harness.plugins`);
    `db_opts`/`workload_opts` are "KEY=VALUE" strings; `nemesis` a comma list or names. A
    `schedule` (timed faults, `harness.nemesis.schedule_file`) replaces `nemesis` and its rhythm.
    """
    options = options or RunOptions()
    if schedule is not None:
        nemesis = specs(schedule) or "none"
    names = parse_nemesis(nemesis) if isinstance(nemesis, str) else parse_nemesis(",".join(nemesis))
    options.settle(rhythm(names))
    options.check()
    db_class = plugins.load(DB_KIND, db)
    workload_class = plugins.load(WORKLOAD_KIND, workload)
    try:
        the_db = db_class.from_pairs(db_opts)
        the_workload = workload_class.from_pairs(workload_opts)
    except OptionError as e:
        raise UsageError(str(e)) from None
    if options.nodes < db_class.min_nodes:
        raise UsageError(f"--nodes {options.nodes}: db {db_class.name} needs at least {db_class.min_nodes} nodes")
    client = getattr(db_class, "connection", None)
    lacking = [op for op in the_workload.needs() if not callable(getattr(client, op, None))]
    if lacking:
        raise UsageError(f"workload {workload_class.name} needs the client operation(s) {', '.join(lacking)}, "
                         f"which db {db_class.name}'s client ({getattr(client, '__name__', client)}) does not have")
    if isinstance(nemesis, str) and nemesis.strip() == "all":
        # "all" is every basic fault this system can take: a Go binary gets no clock fault, a system
        # without process control no kills (results.json lists what ran). Named faults are refused.
        names = [n for n in names if not missing(the_db, KINDS[split(n)[0]].requires)]
    check_abilities(names, the_db)
    platform = platform or DockerPlatform()
    if isinstance(platform, DockerPlatform):  # its nodes are n1..nN: named targets can be checked now
        check_nodes(names, [f"n{i}" for i in range(1, options.nodes + 1)])
    test_name = name or f"{db_class.name}-{workload_class.name}"
    test = Test(test_name, the_db, the_workload, names, platform, options, db, workload, tuple(db_opts),
                tuple(workload_opts), argv, schedule)
    if test.argv is None:
        test.argv = test.command_line()
    return test
