"""One test run, start to finish, for any system and workload.

    check the platform → results folder → image → nodes → system up → workload ∥ nemesis
    → final heal → recovery → final operations → node logs → teardown → check → results + report

Nothing here names a system, a workload or a fault: they come in a `harness.test.Test`.
Teardown is in `finally` and shielded from a second Ctrl-C, SIGTERM or SIGHUP while it works
(SIGTERM is what CI cancellation and `docker stop` send; SIGHUP, a closed terminal): whatever
happens, faults are healed, paused processes resumed, and everything the run created removed.
The history is on disk from the first event, so even a run that dies half-way leaves something
`harness check` can read.
"""

from __future__ import annotations

import logging
import random
import secrets
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checkers.history import HistoryWriter, read_history
from contract.client import Op
from harness.client_gate import ClientGate
from harness.dbs.abilities import Primaries, Process
from harness.dbs.base import DB
from harness.edn_export import jsonl_to_edn
from harness.errors import HarnessError, UsageError
from harness.interpreter import Interpreter
from harness.nemesis.base import HealError
from harness.nemesis.registry import build_nemesis, check_tools, prepare
from harness.nemesis.schedule import Schedule, as_ran
from harness.nemesis.timed import TimedSchedule
from harness.nemesis.watch import ProcessWatch
from harness.node_logs import scan
from harness.progress import Progress
from harness.remote.base import RemoteError
from harness.report.data import summarise_faults
from harness.report.html import write_report
from harness.signals import handling, interrupt
from harness.store import RunDir, versions
from harness.test import Test
from workloads.generator import Generator

log = logging.getLogger(__name__)



@dataclass
class RunOutcome:
    run_dir: Path
    results: dict[str, Any]

    @property
    def valid(self) -> bool | str:
        return self.results["valid"]


def _attach_log(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for noisy in ("urllib3", "docker", "paramiko"):
        logging.getLogger(noisy).setLevel(logging.INFO)
    return handler


def run(test: Test, say: Callable[[str], None] = print, progress: Progress | None = None) -> RunOutcome:
    """Run one test; returns the results (the caller maps the verdict to an exit code).

    The platform's settings are checked before anything is created: a refused run leaves no
    results folder. `progress`, if given, displays the workload phase.
    """
    test.platform.check(test.options.nodes)
    run_dir = RunDir.create(test.options.results_root, test.name)
    handler = _attach_log(run_dir.log)
    try:
        with handling(interrupt):
            return _run(test, run_dir, say, progress)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def _run(test: Test, run_dir: RunDir, say: Callable[[str], None], progress: Progress | None) -> RunOutcome:
    o, db, workload = test.options, test.db, test.workload
    run_id = f"{run_dir.path.name}-{secrets.token_hex(3)}".lower()
    log.info("run %s config %s", run_id, test.describe())
    history = HistoryWriter(run_dir.history)
    timings: dict[str, float] = {}
    schedule: Schedule | None = None
    watch = ProcessWatch(db) if isinstance(db, Process) else None
    interp: Interpreter | None = None
    bound = False
    problems: list[str] = []
    interrupted: str | None = None
    failure: str | None = None
    refused = False
    try:
        started = time.monotonic()
        prepare(test.nemesis, db)  # before the nodes start: e.g. the clock fault's hook
        test.platform.prepare(db, say)
        timings["image_s"] = round(time.monotonic() - started, 2)
        started = time.monotonic()
        nodes = test.platform.create(run_id, o.nodes)
        check_tools(test.nemesis, nodes.remote, nodes.names)
        db.bind(nodes)
        bound = True
        for node in nodes.names:
            db.setup(node)
        leader = db.wait_ready(o.ready_timeout)
        timings["cluster_ready_s"] = round(time.monotonic() - started, 2)
        say(f"{o.nodes} nodes of {db.name} up" + (f", leader {leader}" if leader else "")
            + f", in {timings['cluster_ready_s']:.1f} s; running {workload.name} for {o.time_limit:g} s")

        rng = random.Random(f"{o.seed}:nemesis")
        gate = ClientGate()  # fault packages may hold the clients to reads, or to nothing, for a while
        nemeses = build_nemesis(test.nemesis, nodes.remote, db, nodes.addresses, rng, watch, gate)
        generator = Generator(workload.next_op, o.seed, o.concurrency, o.rate, reads=workload.read_op)
        interp = Interpreter(history, generator, workload.invoke, lambda node: db.connect(node, o.op_timeout),
                             nodes.names, gate)
        initial = workload.initial_ops()
        if initial:
            done = interp.run_ops(initial, leader or nodes.names[0])
            if any(c.type != "ok" for c in done):
                raise HarnessError(f"the {workload.name} workload's initial operations did not all succeed: "
                                   + ", ".join(f"{c.type} {c.error or ''}".strip() for c in done))
        workload_started = time.monotonic()
        interp.start(o.time_limit)
        timings["nemesis_start_s"] = round(history.now() / 1e9, 3)  # where a schedule file's `at` counts from
        leaders = db.primaries if isinstance(db, Primaries) else None
        if test.schedule:
            schedule = TimedSchedule(dict(zip(test.nemesis, nemeses, strict=True)), test.schedule, history, leaders)
        elif nemeses:
            schedule = Schedule(nemeses, history, o.nemesis_interval, rng, leaders)
        if schedule is not None:
            schedule.start()
        with progress.workload(history, o.time_limit) if progress else nullcontext():
            if isinstance(schedule, TimedSchedule) and o.tail is not None:
                end_after_schedule(interp, schedule, o.time_limit, o.tail)
            interp.join(o.time_limit + o.op_timeout + 10)
        timings["workload_s"] = round(time.monotonic() - workload_started, 2)
    except KeyboardInterrupt as e:
        interrupted = str(e) or "SIGINT"
        say(f"interrupted ({interrupted}): healing and tearing down")
    except (HarnessError, RemoteError) as e:
        failure, refused = str(e), isinstance(e, UsageError)
        say(f"the run failed ({failure}): healing and tearing down")
        log.exception("run failed")
    finally:
        with handling(signal.SIG_IGN):
            problems += _teardown(test, db if bound else None, interp, schedule, watch, history, run_dir,
                                  recover=interrupted is None and failure is None)

    # An interrupted run still writes its results: a second signal (CI cancels with SIGTERM, then
    # again) must not cut that short, now that teardown often ends within a second.
    with handling(signal.SIG_IGN) if interrupted else nullcontext():
        findings = scan({n: run_dir.node_dir(n) for n in db.nodes.names}) if bound else []
        problems += _deaths(watch, findings)
        jsonl_to_edn(run_dir.history, run_dir.history_edn)
        results = _check(test, run_dir, run_id, timings, interp, problems, interrupted, failure, refused, findings)
        write_report(run_dir.path)
    return RunOutcome(run_dir.path, results)


def end_after_schedule(interp: Interpreter, schedule: TimedSchedule, time_limit: float, tail: float) -> None:
    """Stop the clients `tail` seconds after the schedule's last heal has finished, or leave them to
    end at `time_limit`, whichever comes first. It waits for the heal itself, not its planned time:
    a fault package's injection can take 10-25 s, and a run cut before its heal would miss its effects."""
    if schedule.played.wait(time_limit):
        interp.join(tail)  # the workers end by themselves at the time limit, if that comes first
        interp.stop()


def _deaths(watch: ProcessWatch | None, findings: list[dict[str, Any]]) -> list[str]:
    """A problem for each node process that died though no nemesis killed it, quoting its log."""
    problems = []
    for death in watch.deaths if watch is not None else []:
        last = [f for f in findings if f["node"] == death["node"]][-1:]
        problems.append(f"{death['node']}: the node process died on its own (not killed by the nemesis; "
                        f"{death['how']}, {death['at_s']:g} s into the run)"
                        + (f"; its log, {last[0]['file']}:{last[0]['line']}: {last[0]['text']}" if last else ""))
    return problems


def _teardown(test: Test, db: DB | None, interp: Interpreter | None, schedule: Schedule | None,
              watch: ProcessWatch | None, history: HistoryWriter, run_dir: RunDir, recover: bool) -> list[str]:
    """Stop the clients, heal every fault, run the final operations if all is well, keep the logs,
    and give the nodes back. Returns problems instead of raising, so every step is attempted; an
    error it does not expect still propagates, but only after the nodes are removed."""
    o = test.options
    problems: list[str] = []
    try:
        if interp is not None:
            interp.stop()
            interp.join(o.op_timeout + 5)
        if schedule is not None:
            schedule.stop()
        if watch is not None and db is not None:
            try:
                watch.survey(db.nodes.names)  # before the final heal restarts what the nemesis killed
            except (HarnessError, RemoteError) as e:
                log.warning("cannot survey the node processes: %s", e)
        if schedule is not None:
            problems += schedule.errors
            try:
                schedule.final_heal()
            except HealError as e:
                problems.append(str(e))
        if db is not None and interp is not None and recover and not problems:
            problems += _final_ops(test, db, interp)
        if db is not None:
            for node in db.nodes.names:
                for path in db.log_files(node):
                    try:
                        db.remote.get(node, path, run_dir.node_dir(node))
                    except RemoteError as e:
                        problems.append(f"logs: {e}")
                try:
                    db.teardown(node)
                except (HarnessError, RemoteError) as e:
                    log.warning("teardown of %s failed: %s", node, e)
    finally:  # whatever a step raised (a plug-in's code may raise anything), the nodes are given back
        problems += test.platform.remove()
        history.close()
    return problems


def _final_ops(test: Test, db: DB, interp: Interpreter) -> list[str]:
    """Run the workload's final operations (a set's final read, say) on the recovered cluster; the
    problems, if any. When the cluster does not recover (no leader agreed on: two leaders of one
    term, say), the final operations still go to every node, in parallel: what an answering node
    claims to hold is evidence the checker can judge, and a system stuck in a broken state is the
    one most likely to have lost what it acknowledged. The failed recovery stays a problem, so a
    history with nothing wrong in it is unknown, not valid."""
    final = test.workload.final_ops()
    if not final:
        return []
    try:
        node = db.wait_ready(test.options.recovery_time)
    except (HarnessError, RemoteError) as e:
        with ThreadPoolExecutor(len(db.nodes.names), thread_name_prefix="final") as pool:
            answered = sum(pool.map(lambda n: _run_final(interp, final, n), db.nodes.names))
        return [f"recovery: {e}; the final operations went to every node instead "
                f"({answered} of {len(db.nodes.names)} answered them all)"]
    try:
        interp.run_ops(final, node or db.nodes.names[0])
    except Exception as e:  # a plug-in's client may raise anything; the teardown must go on
        log.exception("final operations")
        return [f"recovery: {e}"]
    return []


def _run_final(interp: Interpreter, final: list[Op], node: str) -> bool:
    """The final operations on one node of an unrecovered cluster: True if all completed ok."""
    try:
        return all(c.type == "ok" for c in interp.run_ops(final, node))
    except Exception:  # as above: whatever a plug-in's client raises, the other nodes are still asked
        log.exception("final operations on %s", node)
        return False


def _check(test: Test, run_dir: RunDir, run_id: str, timings: dict[str, float], interp: Interpreter | None,
           problems: list[str], interrupted: str | None, failure: str | None, refused: bool,
           findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Judge the history and write results.json. A run that failed before its workload began has no
    history worth judging: its verdict is unknown, and `failure` says why (exit 255, not a verdict;
    254 if `refused`: the user's setup cannot work, e.g. a node lacks a tool a fault needs)."""
    events = read_history(run_dir.history)
    started = time.monotonic()
    judged = any(e.is_client for e in events)
    verdict = test.workload.checker().check(events, {"jobs": test.options.jobs}) if judged else {"valid": "unknown"}
    timings["check_s"] = round(time.monotonic() - started, 2)
    stats = interp.stats if interp is not None else None
    if stats is not None and timings.get("workload_s"):
        timings["ops_per_s"] = round(stats.total / timings["workload_s"], 1)
    valid = verdict["valid"]
    if (problems or interrupted or failure) and valid is True:
        valid = "unknown"
    checkers = {k: v for k, v in verdict.items() if k != "valid"}
    unknown = _unknown_cause(valid, checkers, problems, interrupted, failure)
    platform = test.platform.describe()
    results = {
        "valid": valid,
        "run_id": run_id,
        "test_name": test.name,
        "seed": test.options.seed,
        "config": test.describe(),
        "platform": platform,
        "versions": versions(platform.get("engine")),
        "faults": summarise_faults(events),
        "schedule": as_ran(events),
        "interrupted": interrupted is not None,
        "interrupted_by": interrupted,
        "failure": failure,
        "unknown_cause": unknown,
        "refused": refused,
        "problems": problems,
        "node_logs": findings,
        "timings": timings,
        "counts": _counts(events),
        "checkers": checkers,
    }
    run_dir.write_results(results)
    return results


def _unknown_cause(valid: Any, checkers: dict[str, Any], problems: list[str], interrupted: str | None,
                   failure: str | None) -> dict[str, str] | None:
    """Why a verdict is unknown, so CI can tell a flaky harness from a checker out of budget:
    "interrupted" (a signal), "harness" (a failure, or a problem such as a heal that could not be
    verified) or "checker" (a checker gave up, e.g. its time budget ran out)."""
    if valid != "unknown":
        return None
    if interrupted:
        return {"kind": "interrupted", "detail": f"the run was interrupted by {interrupted}"}
    if failure or problems:
        return {"kind": "harness", "detail": "; ".join(([failure] if failure else []) + problems)}
    reasons = [f"{name}: {r.get('reason') or 'unknown'}" for name, r in checkers.items()
               if isinstance(r, dict) and r.get("valid") == "unknown"]
    return {"kind": "checker", "detail": "; ".join(reasons) or "no client operation completed"}


def _counts(events: list) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for e in events:
        if e.is_client and e.type != "invoke":
            counts.setdefault(e.f, {"ok": 0, "fail": 0, "info": 0})[e.type] += 1
    return counts
