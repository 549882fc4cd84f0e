"""One test run, start to finish.

    image → network + containers → nodes up → workload ∥ nemesis → final heal → recovery
    → final reads → node logs → teardown → check → results.json + report.html

Teardown is in `finally` and ignores a second Ctrl-C while it works: whatever happens, faults
are healed, and every container and the network are removed. The history is on disk from the
first event, so even a run that dies half-way leaves something `harness check` can read.
"""

from __future__ import annotations

import logging
import random
import secrets
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from checkers.api import check_history
from checkers.history import HistoryWriter, read_history
from harness import image as images
from harness.containers import DockerCluster, connect
from harness.dbs.raft import RaftDB, RaftOptions
from harness.edn_export import jsonl_to_edn
from harness.errors import HarnessError
from harness.interpreter import Interpreter
from harness.nemesis.base import HealError
from harness.nemesis.registry import build_nemesis
from harness.nemesis.schedule import Schedule
from harness.progress import Progress
from harness.remote.base import RemoteError
from harness.report.data import summarise_faults
from harness.report.html import write_report
from harness.store import RunDir, versions
from workloads import register
from workloads.generator import Generator

log = logging.getLogger(__name__)


@dataclass
class RunConfig:
    test_name: str = "raft-register"
    nodes: int = 5
    subnet: str = "10.231.0.0/24"
    time_limit: float = 60.0
    nemesis: list[str] = field(default_factory=lambda: ["partition"])
    nemesis_interval: float = 10.0
    concurrency: int = 10
    rate: float = 100.0
    op_timeout: float = 5.0
    recovery_time: float = 30.0
    ready_timeout: float = 60.0
    seed: int = field(default_factory=lambda: secrets.randbelow(2**31))
    raft: RaftOptions = field(default_factory=RaftOptions)
    base_image: str | None = None
    results_root: Path = Path("results")


@dataclass
class RunOutcome:
    run_dir: Path
    results: dict[str, Any]

    @property
    def valid(self) -> bool | str:
        return self.results["valid"]


@contextmanager
def _shielded_from_ctrl_c() -> Iterator[None]:
    """Let teardown finish even if the user presses Ctrl-C again (only in the main thread)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _attach_log(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for noisy in ("urllib3", "docker"):
        logging.getLogger(noisy).setLevel(logging.INFO)
    return handler


def run(config: RunConfig, say: Any = print, progress: Progress | None = None) -> RunOutcome:
    """Run one test; returns the results (the caller maps the verdict to an exit code).

    `progress`, if given, displays the workload phase (time left, ops done, faults in place).
    """
    run_dir = RunDir.create(config.results_root, config.test_name)
    handler = _attach_log(run_dir.log)
    try:
        return _run(config, run_dir, say, progress)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def _run(config: RunConfig, run_dir: RunDir, say: Any, progress: Progress | None) -> RunOutcome:
    if "clock" in config.nemesis:  # only clock faults need libfaketime in the nodes; recorded as in force
        config = replace(config, raft=replace(config.raft, clock_hook=True))
    run_id = f"{run_dir.path.name}-{secrets.token_hex(3)}".lower()
    log.info("run %s config %s", run_id, asdict(config))
    client = connect()
    engine = client.version().get("Version")
    started = time.monotonic()
    tag = images.node_image(client, config.base_image)
    timings: dict[str, float] = {"image_s": round(time.monotonic() - started, 2)}
    say(f"node image {tag} ready in {timings['image_s']:.1f} s")

    cluster = DockerCluster(client, run_id, tag, config.subnet, config.nodes)
    history = HistoryWriter(run_dir.history)
    schedule: Schedule | None = None
    interp: Interpreter | None = None
    db: RaftDB | None = None
    problems: list[str] = []
    interrupted = False
    keys = list(register.KEYS)
    try:
        started = time.monotonic()
        remote = cluster.create()
        db = RaftDB(remote, cluster.addresses, config.raft)
        for node in cluster.nodes:
            db.setup(node)
        leader = db.wait_ready(config.ready_timeout)
        timings["cluster_ready_s"] = round(time.monotonic() - started, 2)
        say(f"{config.nodes} nodes up, leader {leader}, in {timings['cluster_ready_s']:.1f} s; "
            f"running for {config.time_limit:g} s")

        rng = random.Random(f"{config.seed}:nemesis")
        nemeses = build_nemesis(config.nemesis, remote, db, cluster.addresses, rng)
        generator = Generator(register.register_ops(), config.seed, config.concurrency, config.rate)
        interp = Interpreter(history, generator, register.invoke,
                             lambda node: db.connect(node, config.op_timeout), cluster.nodes)
        workload_started = time.monotonic()
        interp.start(config.time_limit)
        if nemeses:
            schedule = Schedule(nemeses, history, config.nemesis_interval, rng)
            schedule.start()
        with progress.workload(history, config.time_limit) if progress else nullcontext():
            interp.join(config.time_limit + config.op_timeout + 10)
        timings["workload_s"] = round(time.monotonic() - workload_started, 2)
    except KeyboardInterrupt:
        interrupted = True
        say("interrupted: healing and tearing down")
    finally:
        with _shielded_from_ctrl_c():
            if interp is not None:
                interp.stop()
                interp.join(config.op_timeout + 5)
            if schedule is not None:
                schedule.stop()
                problems += schedule.errors
                try:
                    schedule.final_heal()
                except HealError as e:
                    problems.append(str(e))
            if db is not None and interp is not None and not interrupted and not problems:
                try:
                    leader = db.wait_ready(config.recovery_time)
                    interp.final_reads(keys, leader)
                except HarnessError as e:
                    problems.append(f"recovery: {e}")
            if db is not None:
                _collect_logs(db, cluster, run_dir, problems)
            problems += cluster.remove()
            history.close()

    jsonl_to_edn(run_dir.history, run_dir.history_edn)
    results = _check(run_dir, config, run_id, timings, interp, problems, interrupted, engine)
    write_report(run_dir.path)
    return RunOutcome(run_dir.path, results)


def _collect_logs(db: RaftDB, cluster: DockerCluster, run_dir: RunDir, problems: list[str]) -> None:
    for node in cluster.nodes:
        for path in db.log_files(node):
            try:
                db.remote.get(node, path, run_dir.node_dir(node))
            except RemoteError as e:
                problems.append(f"logs: {e}")


def _check(
    run_dir: RunDir,
    config: RunConfig,
    run_id: str,
    timings: dict[str, float],
    interp: Interpreter | None,
    problems: list[str],
    interrupted: bool,
    engine: str | None,
) -> dict[str, Any]:
    events = read_history(run_dir.history)
    started = time.monotonic()
    verdict = check_history(events, model="cas-register")
    timings["check_s"] = round(time.monotonic() - started, 2)
    stats = interp.stats if interp is not None else None
    if stats is not None and timings.get("workload_s"):
        timings["ops_per_s"] = round(stats.total / timings["workload_s"], 1)
    valid = verdict["valid"]
    if problems and valid is True:
        valid = "unknown"
    results = {
        "valid": valid,
        "run_id": run_id,
        "test_name": config.test_name,
        "seed": config.seed,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "versions": versions(engine),
        "faults": summarise_faults(events),
        "interrupted": interrupted,
        "problems": problems,
        "timings": timings,
        "counts": _counts(events),
        "checkers": {"linearizable": verdict},
    }
    run_dir.write_results(results)
    return results


def _counts(events: list) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for e in events:
        if e.is_client and e.type != "invoke":
            counts.setdefault(e.f, {"ok": 0, "fail": 0, "info": 0})[e.type] += 1
    return counts
