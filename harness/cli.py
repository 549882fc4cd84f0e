"""`harness run | check | clean | image build | report | serve | prune`.

Exit codes follow Jepsen: 0 valid, 1 invalid, 2 unknown, 254 bad arguments or input,
255 the harness itself failed. Errors are one line on stderr; tracebacks go to a log file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import secrets
import signal
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, NoReturn

from harness.errors import HarnessError, UsageError
from harness.presets import Setup, agreed, bugs_named, by_key, fill
from harness.signals import interrupt

EXIT_VALID, EXIT_INVALID, EXIT_UNKNOWN, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 254, 255
SEVERITY = {EXIT_VALID: 0, EXIT_UNKNOWN: 1, EXIT_INVALID: 2}  # false > unknown > true
# `check` over several files: a file that could not be checked outweighs any verdict.
CHECK_SEVERITY = {**SEVERITY, EXIT_USAGE: 3}


RUN_NEMESIS_DEFAULT = "partition"
RUN_TIME_DEFAULT = 60.0
HUNT_RUN_TIME = 20.0
# A fault package's injection takes 10-25 s on a loaded host (kill-during-election with 3-9 s
# election timeouts); a hunt focused on one gets runs long enough to play a few of them.
HUNT_PACKAGE_RUN_TIME = 60.0
HUNT_TAIL = 10.0

def exit_code(valid: Any) -> int:
    return {True: EXIT_VALID, False: EXIT_INVALID}.get(valid, EXIT_UNKNOWN)


def verdict_word(valid: Any) -> str:
    return {True: "VALID", False: "INVALID"}.get(valid, "UNKNOWN")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


RAFT_ALIASES = (("bug", "bug"), ("read_mode", "read-mode"), ("election_timeout_ms", "election-timeout-ms"))


def _db_opts(args: argparse.Namespace) -> list[str]:
    """--db-opt pairs, plus the older Raft flags (--bug, --read-mode, ...) as aliases for them."""
    pairs = list(args.db_opt)
    aliases = [f"{key}={value}" for attr, key in RAFT_ALIASES for value in
               (getattr(args, attr) if isinstance(getattr(args, attr), list) else [getattr(args, attr)])
               if value is not None]
    if args.no_pre_vote:
        aliases.append("pre-vote=false")
    if aliases and args.db != "raft":
        raise UsageError("--bug, --read-mode, --no-pre-vote and --election-timeout-ms are options of --db raft; "
                         f"for --db {args.db} use --db-opt KEY=VALUE (see harness list --db {args.db})")
    return pairs + aliases


def _platform(args: argparse.Namespace) -> Any:
    """Docker (the default) or SSH hosts, refusing choices that contradict each other."""
    from harness.platform import DEFAULT_SUBNET, DockerPlatform, SSHPlatform

    if args.image and args.dockerfile:
        raise UsageError("--image and --dockerfile both name the nodes' image: give one")
    ssh_only = [f for f, v in (("--ssh-user", args.ssh_user), ("--ssh-key", args.ssh_key),
                               ("--ssh-known-hosts", args.ssh_known_hosts), ("--ssh-insecure", args.ssh_insecure))
                if v]
    if args.nodes_file is None:
        if ssh_only:
            raise UsageError(f"{ssh_only[0]} needs --nodes-file (SSH is only for real hosts)")
        return DockerPlatform(args.subnet or DEFAULT_SUBNET, args.image, Path(args.dockerfile) if args.dockerfile
                              else None, args.base_image)
    docker_only = [f for f, v in (("--subnet", args.subnet), ("--image", args.image),
                                  ("--dockerfile", args.dockerfile), ("--base-image", args.base_image)) if v]
    if docker_only:
        raise UsageError(f"{docker_only[0]} is for Docker clusters; --nodes-file runs on existing hosts")
    if args.ssh_insecure and args.ssh_known_hosts:
        raise UsageError("--ssh-insecure skips the host key check that --ssh-known-hosts is for: give one")
    return SSHPlatform(Path(args.nodes_file), args.ssh_user or "root", args.ssh_key, args.ssh_insecure,
                       Path(args.ssh_known_hosts) if args.ssh_known_hosts else None)


def _json_value(text: str) -> Any:
    """A JSON value for --init, read with the history's rules (no NaN, no Infinity)."""
    from checkers.history import HistoryError
    from checkers.reading import parse_json

    try:
        return parse_json(text, "JSON")
    except HistoryError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _test_of(args: argparse.Namespace, schedule: list | None = None, argv: list[str] | None = None) -> Any:
    """The test that run-style arguments describe (`schedule`: timed faults instead of the rhythm)."""
    from harness.platform import SSHPlatform, read_nodes_file
    from harness.test import RunOptions, make_test

    platform = _platform(args)
    nodes = args.nodes
    if nodes is None:
        nodes = len(read_nodes_file(platform.nodes_file)) if isinstance(platform, SSHPlatform) else 5
    options = RunOptions(
        nodes=nodes, time_limit=args.time_limit, nemesis_interval=args.nemesis_interval,
        concurrency=args.concurrency, rate=args.rate, op_timeout=args.op_timeout, results_root=Path(args.results),
        jobs=args.jobs, tail=args.tail,
    )
    if args.seed is not None:
        options.seed = args.seed
    test = make_test(db=args.db, db_opts=_db_opts(args), workload=args.workload, workload_opts=args.workload_opt,
                     nemesis=args.nemesis, platform=platform, options=options, name=args.test_name,
                     argv=argv or getattr(args, "argv", None), schedule=schedule)
    test.bug_preset = getattr(args, "bug_preset", None)
    return test


def _all_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Every argument of `parser` and of its subcommands (argparse keeps them in private fields)."""
    out = []
    for action in parser._actions:
        out.append(action)
        if isinstance(action, argparse._SubParsersAction):
            out += [a for sub in action.choices.values() for a in _all_actions(sub)]
    return out


def _given(argv: list[str]) -> set[str]:
    """The options (dests) `argv` (a subcommand and its arguments) gives itself: parsed again with
    every default suppressed, so that an option given at its default value (`--workload register`)
    counts as given, which comparing values with the defaults could not tell."""
    parser = build_parser()
    for action in _all_actions(parser):
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv)))


def _setup(args: argparse.Namespace, given: set[str]) -> Setup:
    """The options a run's arguments give (what was not given is None or empty)."""
    return Setup(by_key(_db_opts(args)), args.workload if "workload" in given else None, by_key(args.workload_opt),
                 args.nemesis if "nemesis" in given else None)


def _apply_bug_preset(args: argparse.Namespace, given: set[str], faults: bool = True) -> Setup:
    """Fill in what the named seeded bugs' rows of the DB's bug table give and the user did not
    (`harness.presets`), say so in one line, and append it to `args.argv`, the recorded command,
    so that a replay reruns the complete command. `faults`: False when the run's faults are given
    otherwise (a schedule file). Returns the filled `Setup`."""
    from harness import plugins
    from harness.test import DB_KIND

    user = _setup(args, given)
    bugs = bugs_named(_db_opts(args))
    table = {b["name"]: b["args"] for b in getattr(plugins.load(DB_KIND, args.db), "bugs", None) or ()}
    rows = []
    for bug in bugs:
        if bug in table:
            row = ["run", *table[bug]]
            rows.append(_setup(build_parser().parse_args(row), _given(row)))
    if not rows:
        return Setup()
    preset, differ = agreed(rows)
    filled = fill(user, preset)
    if not faults:
        filled = dataclasses.replace(filled, nemesis=None)
    named = " ".join(f"--bug {b}" for b in bugs)
    unknown = [b for b in bugs if b not in table]
    notes = (f"; their setups differ in {', '.join(differ)}, so only what they agree on is used" if differ else "") \
        + (f"; no exposing setup is known for {', '.join(unknown)}" if unknown else "")
    if filled.args():
        whose = "its" if len(rows) == 1 else "their common"
        print(f"{named}: using {whose} exposing setup: {' '.join(filled.args())} (give the option to override)"
              f"{notes}", flush=True)
    elif notes:
        print(f"{named}: nothing filled in{notes}", flush=True)
    args.db_opt = [*args.db_opt, *(f"{k}={v}" for k, v in filled.db_opts.items())]
    args.workload = filled.workload or args.workload
    args.workload_opt = [*args.workload_opt, *(f"{k}={v}" for k, v in filled.workload_opts.items())]
    args.nemesis = filled.nemesis or args.nemesis
    args.argv = [*args.argv, *filled.args()]
    args.bug_preset = filled.args()
    return filled


def _cmd_run(args: argparse.Namespace) -> int:
    from harness.nemesis.schedule_file import read_schedule

    given = _given(args.argv[1:])
    if args.schedule and "nemesis" in given:
        raise UsageError("--schedule names the faults a run plays; leave out --nemesis")
    if args.tail is not None and not args.schedule:
        raise UsageError("--tail ends a run after its --schedule's last heal: give --schedule")
    _apply_bug_preset(args, given, faults=not args.schedule)
    schedule = read_schedule(Path(args.schedule)) if args.schedule else None
    return _run_and_say(args, _test_of(args, schedule))


def _run_and_say(args: argparse.Namespace, test: Any) -> int:
    """Run `test`, print its verdict and problems, write the CI outputs asked for; the exit code."""
    from harness.ci import write_junit, write_summary
    from harness.progress import Progress
    from harness.run import run

    outcome = run(test, progress=Progress(sys.stderr))
    r = outcome.results
    if r.get("refused"):
        print(f"harness: {r['failure']} (results in {outcome.run_dir})", file=sys.stderr)
        return EXIT_USAGE
    if args.junit:
        write_junit(r, Path(args.junit), outcome.run_dir)
    if args.summary:
        write_summary(r, outcome.run_dir, Path(args.summary))
    total = sum(sum(c.values()) for c in r["counts"].values())
    ok = sum(c["ok"] for c in r["counts"].values())
    print(f"{verdict_word(r['valid'])}: {total} operations ({ok} ok), seed {r['seed']}, run {r['run_id']}; "
          f"results in {outcome.run_dir}")
    for problem in r["problems"]:
        print(f"problem: {problem}", file=sys.stderr)
    if r["interrupted"] or r.get("failure"):
        if r.get("failure"):
            print(f"harness: the run failed: {r['failure']}", file=sys.stderr)
        return EXIT_FAILED
    return exit_code(r["valid"])


def _replay_test(run_dir: Path, pin_nodes: bool = False, subnet: str | None = None,
                 results_root: str | None = None) -> tuple[argparse.Namespace, Any, dict[str, Any]]:
    """What `harness replay RUN_DIR` runs: its run arguments, the test, and the recorded results.
    Shared with `harness hunt --confirm`, so that the hunt's replays are exactly replays."""
    from harness.replay import read_results, replayed_schedule, run_arguments

    results = read_results(run_dir)
    recorded = run_arguments(results)
    run_args = build_parser().parse_args(["run", *recorded])
    run_args.seed = results["seed"]
    for name, value in (("subnet", subnet), ("results", results_root)):
        if value is not None:
            setattr(run_args, name, value)
    test = _test_of(run_args, replayed_schedule(results, run_dir, pin_nodes), argv=["harness", "run", *recorded])
    test.replay_of = str(run_dir)
    return run_args, test, results


def _cmd_replay(args: argparse.Namespace) -> int:
    """Replay a run, up to `--tries` times until one is INVALID: faults aimed at a race (an election,
    say) reproduce a bug only part of the time, and a user reproducing it reruns until it shows."""
    run_dir = Path(args.results_dir)
    worst = EXIT_VALID
    for attempt in range(1, args.tries + 1):
        run_args, test, results = _replay_test(run_dir, args.pin_nodes, args.subnet, args.results)
        print(f"replaying {run_dir} (was {verdict_word(results.get('valid'))}): seed {results['seed']}, "
              f"{len(test.schedule)} fault(s)" + (", nodes pinned" if args.pin_nodes else "")
              + (f"; try {attempt} of {args.tries}" if args.tries > 1 else ""), flush=True)
        code = _run_and_say(run_args, test)
        if code not in SEVERITY:  # interrupted, failed, refused: no more tries
            return code
        worst = max(worst, code, key=SEVERITY.__getitem__)
        if code == EXIT_INVALID:
            break
    if args.tries > 1:
        print(f"replay: INVALID on try {attempt} of {args.tries}" if worst == EXIT_INVALID
              else f"replay: not INVALID in {args.tries} tries")
    return worst


def _budget(text: str) -> float:
    """--budget: seconds, or a number with s, m or h ("15m")."""
    scale = {"s": 1, "m": 60, "h": 3600}.get(text[-1:].lower())
    try:
        value = float(text[:-1] if scale else text) * (scale or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 900, 15m or 1h") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive duration, got {text}")
    return value


def _where_given(args: argparse.Namespace) -> list[str]:
    """The options a run's command gives about where it runs and keeps its results (platform, image,
    results folder, test name), which `Test.command_line()` cannot know."""
    out: list[str] = []
    for flag in ("--subnet", "--image", "--dockerfile", "--base-image", "--nodes-file", "--ssh-user", "--ssh-key",
                 "--ssh-known-hosts", "--results", "--test-name"):
        value = getattr(args, flag[2:].replace("-", "_"), None)
        out += [flag, str(value)] if value is not None else []
    return out + (["--ssh-insecure"] if args.ssh_insecure else [])


def _cmd_hunt(args: argparse.Namespace) -> int:
    from harness.hunt import Hunt, fault_pool, replay
    from harness.nemesis.registry import KINDS, check_abilities, parse_nemesis, split
    from harness.nemesis.schedule_file import write_schedule
    from harness.run import run

    given = _given(args.argv[1:])
    unused = [flag for flag, used in (("--time-limit", "time_limit" in given), ("--junit", args.junit),
                                      ("--summary", args.summary)) if used]
    if unused:
        raise UsageError(f"hunt does not take {unused[0]} (each example run lasts at most --run-time; "
                         "its verdict is in its results folder)")
    # A bug's faults are the hunt's focus, not its limit: half the faults are drawn from them.
    preset = _apply_bug_preset(args, given)
    focus = parse_nemesis(preset.nemesis) if preset.nemesis else []
    if focus and "run_time" not in given and any(KINDS[split(f)[0]].package for f in focus):
        args.run_time = HUNT_PACKAGE_RUN_TIME
    if args.seed is None:  # every run of the search uses one seed, so that a schedule found replays
        args.seed = secrets.randbelow(2**31)
    probe = _test_of(args, schedule=[])  # checks every argument before anything starts
    pool = fault_pool(probe.db) if args.nemesis == "any" or preset.nemesis else parse_nemesis(args.nemesis)
    check_abilities(pool + focus, probe.db)

    def quietly(test: Any) -> tuple[Any, Path, bool]:
        outcome = run(test, say=lambda line: None)
        return outcome.valid, outcome.run_dir, bool(outcome.results.get("interrupted"))

    def one_run(faults: list, run_time: float) -> tuple[Any, Path, bool]:
        args.time_limit = run_time
        test = _test_of(args, list(faults))
        # A `harness run` line, so that `harness replay` (and --confirm) reruns it where it ran.
        test.argv = [*test.command_line(), *_where_given(args)]
        return quietly(test)

    print(f"hunt: up to {args.budget:g} s, runs of at most {args.run_time:g} s (each ends {args.tail:g} s after "
          f"its last fault is healed), seed {args.seed}, "
          + (f"focus {', '.join(focus)} (half the faults), the others from " if focus else "faults from ")
          + ", ".join(pool)
          + (f"; then {args.confirm} replays of the smallest failure (outside the budget)" if args.confirm else ""),
          flush=True)
    found = Hunt(one_run, args.run_time, args.budget, say=lambda line: print(line, flush=True)).search(
        pool, args.seed, args.max_faults, focus)
    why = {"searched": "the search ended", "shrunk": "shrunk until a pass from the smallest found nothing smaller",
           "flaky": "hypothesis found its own record inconsistent (kept the smallest schedule that failed)",
           "budget": "the budget ran out", "interrupted": "interrupted"}[found.stopped]
    verdicts = [t.valid for t in found.tried]
    print(f"hunt: {why}; {len(verdicts)} runs: {verdicts.count(False)} INVALID, {verdicts.count(True)} VALID, "
          f"{len(verdicts) - verdicts.count(False) - verdicts.count(True)} UNKNOWN")
    if found.smallest is None:
        print("hunt: no schedule made a run INVALID")
        return EXIT_FAILED if found.stopped == "interrupted" else EXIT_VALID
    smallest = found.smallest
    path = smallest.run_dir / "schedule.json"
    subnet = f" --subnet {args.subnet}" if args.subnet else ""
    tries = ""
    write_schedule(path, smallest.faults, found_by="harness hunt", seed=args.seed)  # kept if a replay crashes
    if args.confirm and found.stopped != "interrupted":
        def replay_once() -> tuple[Any, Path, bool]:
            return quietly(_replay_test(smallest.run_dir, subnet=args.subnet, results_root=args.results)[1])

        print(f"hunt: replaying the smallest failing run ({smallest.run_dir}) {args.confirm} times, "
              "as harness replay does", flush=True)
        replays = replay(replay_once, args.confirm, say=lambda line: print(line, flush=True))
        if replays.runs:
            write_schedule(path, smallest.faults, found_by="harness hunt", seed=args.seed, replays=replays.to_json())
        unknown = sum(v not in (True, False) for v, _ in replays.runs)
        print(f"hunt: the smallest schedule failed again in {replays.failed} of {len(replays.runs)} replays"
              + (f" ({unknown} UNKNOWN)" if unknown else "")
              + (f", interrupted after {len(replays.runs)} of {args.confirm}" if replays.interrupted else "")
              + "".join(f"\n  {d}" for _, d in replays.runs))
        if 0 < replays.failed < len(replays.runs):  # enough tries to see it again 19 times in 20
            tries = f" --tries {math.ceil(math.log(0.05) / math.log(1 - replays.failed / len(replays.runs)))}"
    print(f"hunt: smallest failing schedule ({len(smallest.faults)} fault(s)) saved as {path}\n"
          f"  replay it:  harness replay {smallest.run_dir}{subnet}{tries}\n"
          f"  or run it:  harness run ... --seed {args.seed} --schedule {path}")
    return EXIT_INVALID


def _cmd_test_all(args: argparse.Namespace) -> int:
    import ipaddress
    import itertools
    import secrets
    import threading

    from harness import matrix
    from harness.test import RunOptions, make_test

    run_options = {k: getattr(args, k.replace("-", "_")) for k in matrix.RUN_OPTIONS}
    if args.config:
        blocks, top = matrix.read_config(Path(args.config))
        for k in matrix.RUN_OPTIONS:
            if run_options[k] is None and k in top:
                run_options[k] = top[k]
        seeds, count = top.get("seeds"), top.get("test-count", args.test_count)
        where = args.config
    else:
        block = {"db": args.db.split(","), "workload": args.workload.split(","),
                 "nemesis": matrix.split_nemeses(args.nemesis), "db-opt": args.db_opt,
                 "workload-opt": args.workload_opt}
        blocks = [{k: v for k, v in block.items() if v}]
        seeds, count, where = None, args.test_count, "test-all"
    if seeds is None:
        base = args.seed if args.seed is not None else secrets.randbelow(2**31)
        seeds = [base + i for i in range(count)]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise UsageError(f"{where}: seeds must be a non-empty list of integers")
    cells = matrix.cells_of(blocks, seeds, where)
    for cell in cells:  # every cell is checked before any runs
        make_test(db=cell.db, db_opts=cell.db_opts, workload=cell.workload, workload_opts=cell.workload_opts,
                  nemesis=cell.nemesis, options=RunOptions(seed=cell.seed))
    base_net = ipaddress.ip_network(args.subnet or "10.231.0.0/24")
    slots, local = itertools.count(), threading.local()

    def subnet(_: int) -> str | None:
        if args.parallel == 1:
            return args.subnet
        if not hasattr(local, "slot"):
            local.slot = next(slots)
        return str(ipaddress.ip_network((int(base_net.network_address) + (local.slot << 8), 24)))

    results = Path(args.results)
    print(f"test-all: {len(cells)} tests ({args.parallel} at a time); results in {results}", flush=True)
    outcomes = matrix.run_cells(cells, run_options, results, args.parallel, args.retry_harness_errors, subnet,
                                say=lambda line: print(line, flush=True))
    code = matrix.combined_exit(o.exit_code for o in outcomes)
    matrix.write_outputs(outcomes, code, Path(args.junit) if args.junit else None,
                         Path(args.summary) if args.summary else None,
                         Path(args.summary_json) if args.summary_json else results / "summary.json")
    counts = matrix.summary_json(outcomes, code)["counts"]
    word = {EXIT_VALID: "VALID", EXIT_INVALID: "INVALID", EXIT_UNKNOWN: "UNKNOWN"}.get(code, "HARNESS FAILURE")
    print(f"{word}: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    return code


def _cmd_list(args: argparse.Namespace) -> int:
    from harness.catalog import catalog, render

    data = catalog(db=args.db, workload=args.workload, nemesis=args.nemesis)
    print(json.dumps(data, indent=2) if args.json else render(data))
    return 0


def _history_path(path: Path) -> Path:
    if path.is_dir():
        path = path / "history.jsonl"
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    return path


def _check_model(args: argparse.Namespace) -> None:
    """--model and --init are checked once, before any file: a typo is one error, not one per file."""
    from checkers.formats import DEFAULT_MODEL
    from checkers.models import MODELS, get_model

    if args.model is not None and args.model not in MODELS:
        raise UsageError(f"--model: unknown model {args.model!r}; expected one of {', '.join(sorted(MODELS))}")
    if args.init is not None:
        try:
            get_model(args.model or DEFAULT_MODEL["jsonl"], args.init).init()
        except (TypeError, ValueError) as e:
            raise UsageError(f"--init: {e}") from None


def _check_workload(path: Path, args: argparse.Namespace) -> int:
    """Check a saved history with a workload's own checkers (list-append's Elle-style checker, set, ...)."""
    from checkers.txn import summary as txn_summary
    from harness import plugins
    from harness.test import WORKLOAD_KIND

    workload = plugins.load(WORKLOAD_KIND, args.workload).from_pairs(args.workload_opt)
    events = workload.read_history(path, args.format)
    if not any(e.is_client for e in events):
        raise UsageError(f"{path}: no client operation in it: nothing to check")
    context = {"time_limit": args.time_limit, "jobs": args.jobs}
    verdict = workload.checker().check(events, context)
    results = {name: r for name, r in verdict.items() if name != "valid"}
    if args.json:
        print(json.dumps({"path": str(path), "workload": workload.name, "valid": verdict["valid"], "checkers": results},
                         default=str, allow_nan=False))
        return exit_code(verdict["valid"])
    print(f"{verdict_word(verdict['valid'])}: {path} (workload {workload.name})")
    for name, r in results.items():
        lines = txn_summary(r) if isinstance(r, dict) and "anomaly_counts" in r else [
            f"valid: {r.get('valid')}" + (f"; {r['message']}" if r.get("message") else "")
            + (f"; {r['reason']}" if r.get("reason") else "")]
        print(f"  {name}:")
        for line in lines:
            print(f"    {line}")
    return exit_code(verdict["valid"])


def _check_one(raw: str, args: argparse.Namespace) -> int:
    """Check one path and print its verdict; a bad file is one line on stderr and 254."""
    from checkers.api import check_file, summary
    from checkers.history import HistoryError
    from checkers.progress import terminal_progress
    from contract.options import OptionError

    if args.workload:
        try:
            return _check_workload(_history_path(Path(raw)), args)
        except (UsageError, HistoryError, OptionError, ValueError) as e:
            print(f"harness: {e}", file=sys.stderr)
            return EXIT_USAGE
    try:
        path = _history_path(Path(raw))
        result = check_file(
            path,
            format=args.format,
            model=args.model,
            init=args.init,
            semantics=args.semantics,
            time_limit=args.time_limit,
            all_keys=args.all_keys,
            memory_limit=args.memory_limit * 2**20,
            shrink=not args.no_shrink,
            read_memory=args.read_memory * 2**20,
            progress=terminal_progress(sys.stderr),
            jobs=args.jobs,
        )
    except (UsageError, HistoryError) as e:
        print(f"harness: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps({"path": str(path), **result}, default=str, allow_nan=False))
    else:
        how = "detected" if result.get("format_detected") else "given"
        print(f"{verdict_word(result['valid'])}: {path} ({result['format']}, {how}; {result.get('seconds', 0):.2f} s)")
        for line in summary(result):
            print(f"  {line}")
    return exit_code(result["valid"])


def _cmd_check(args: argparse.Namespace) -> int:
    if args.workload:
        linearizability_only = [f for f, v in (("--model", args.model), ("--init", args.init),
                                               ("--semantics", args.semantics), ("--all-keys", args.all_keys))
                                if v is not None and v is not False]
        if linearizability_only:
            raise UsageError(f"{linearizability_only[0]} is for the linearizability check; with --workload the "
                             "workload's own checkers judge the history (set them with --workload-opt)")
    _check_model(args)
    codes = [_check_one(raw, args) for raw in args.paths]
    return max(codes, key=CHECK_SEVERITY.__getitem__)


def _cmd_clean(args: argparse.Namespace) -> int:
    from harness.containers import clean, connect

    if args.run_id and args.all:
        raise UsageError("--run-id and --all contradict each other: give one")
    containers, networks, runs = clean(connect(), args.run_id, Path(args.results), args.all)
    scope = f"run {args.run_id}" if args.run_id else ("every harness run" if args.all else
                                                      "dead runs of yours or of this results folder")
    print(f"removed {containers} containers and {networks} networks ({scope}): {', '.join(runs) or 'none'}")
    return 0


def _cmd_image_key(args: argparse.Namespace) -> int:
    from harness.image import cache_key

    print(cache_key())
    return 0


def _cmd_image_save(args: argparse.Namespace) -> int:
    from harness import plugins
    from harness.containers import connect
    from harness.image import Images, save_images
    from harness.test import DB_KIND

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    client = connect()
    images = Images(client, args.base)
    tags = list(dict.fromkeys([images.base(), plugins.load(DB_KIND, args.db).from_pairs().image(images)]))
    for path in save_images(client, tags, Path(args.folder)):
        print(path)
    return 0


def _cmd_image_load(args: argparse.Namespace) -> int:
    from harness.containers import connect
    from harness.image import load_images

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    for tag in load_images(connect(), folder):
        print(tag)
    return 0


def _cmd_image(args: argparse.Namespace) -> int:
    from harness import plugins
    from harness.containers import connect
    from harness.image import Images
    from harness.test import DB_KIND

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    db_class = plugins.load(DB_KIND, args.db)
    print(db_class.from_pairs().image(Images(connect(), args.base)))
    return 0


# results.json fields report.html reads, and the JSON type each must have when present.
_RESULTS_SHAPE = {"checkers": dict, "config": dict, "versions": dict, "timings": dict, "problems": list}
_CHECKER_SHAPE = {"failures": list, "counterexample": dict, "unknown_keys": list, "finished_keys": list}


def _check_results(path: Path) -> None:
    """Refuse a results.json that report.html cannot be drawn from, naming the file and line."""
    try:
        results = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{path} line {e.lineno}: not valid JSON ({e.msg})") from None
    except (ValueError, RecursionError) as e:
        raise UsageError(f"{path}: not a results file harness can read ({type(e).__name__})") from None
    if not isinstance(results, dict):
        raise UsageError(f"{path}: expected a JSON object, got {type(results).__name__}")
    _check_shape(path, "", results, _RESULTS_SHAPE)
    _check_verdict(path, "valid", results.get("valid"))
    for name, checker in (results.get("checkers") or {}).items():
        if isinstance(checker, dict):
            _check_shape(path, f"checkers.{name}.", checker, _CHECKER_SHAPE)
            _check_verdict(path, f"checkers.{name}.valid", checker.get("valid"))
            failures = checker.get("failures") or ([checker["counterexample"]] if checker.get("counterexample") else [])
            for f in failures:
                if not isinstance(f, dict) or not isinstance(f.get("core") or [], list) or any(
                    not isinstance(op, dict) for op in f.get("core") or ()
                ):
                    raise UsageError(f"{path}: checkers.{name}: a failure must be an object, its core a list")


def _check_verdict(path: Path, field: str, valid: Any) -> None:
    if not (valid is None or valid is True or valid is False or valid == "unknown"):
        raise UsageError(f"{path}: {field} must be true, false or \"unknown\", got {json.dumps(valid)[:40]}")


def _check_shape(path: Path, prefix: str, d: dict[str, Any], shape: dict[str, type]) -> None:
    for field, kind in shape.items():
        if d.get(field) is not None and not isinstance(d[field], kind):
            what = "an object" if kind is dict else "a list"
            raise UsageError(f"{path}: {prefix}{field} must be {what}, got {type(d[field]).__name__}")


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.report.html import write_report

    run_dir = Path(args.path)
    if not (run_dir / "results.json").exists():
        raise UsageError(f"{run_dir}: not a results folder (no results.json)")
    _check_results(run_dir / "results.json")
    print(write_report(run_dir))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    if args.static:
        from harness.serve.static import write_static

        pages = write_static(Path(args.results), Path(args.static))
        print(f"wrote {pages} pages to {args.static} (open {Path(args.static) / 'index.html'})")
        return 0
    from harness.serve import serve

    serve(Path(args.results), args.host, args.port, allow_remote=args.allow_remote)
    return 0


def _cmd_prune(args: argparse.Namespace) -> int:
    import time

    from harness.prune import parse_age, prune

    older_than = parse_age(args.older_than) if args.older_than is not None else None
    prune(Path(args.results), time.time(), args.keep, older_than, include_invalid=args.include_invalid,
          include_unknown=args.include_unknown, dry_run=args.dry_run)
    return 0


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535)")
    return port


def _count(text: str) -> int:
    """A whole number, 0 or more."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return n


RUN_HELP = """Start a cluster, run a workload while faults are injected, heal, check the history.

A test is assembled from parts: --db (the system under test), --workload (what clients do and
the checkers that judge it) and --nemesis (the faults). `harness list` shows what there is and
each part's options. Examples:

  harness run --nemesis partition
  harness run --db etcd --nemesis partition,kill
  harness run --db raft --db-opt bug=stale-read --nemesis partition:leader
  harness run --nemesis kill:majority,pause:followers,partition:n1+n2
  harness run --bug no-election-restriction --nemesis lag-then-kill   (a fault package)
  harness run --db ./mydb.py:MyDB --nemesis partition,pause
"""


def _check_epilog() -> str:
    from checkers.reading import MAX_DEPTH, MAX_INT_DIGITS, MAX_LINE_BYTES

    return f"""\
limits on input (each is exit 254 with the file and line):
  a line longer than {MAX_LINE_BYTES // 2**20} MiB; values nested deeper than {MAX_DEPTH} levels; bytes that are
  not UTF-8; NaN, Infinity or a number too large for a double; an integer of more than
  {MAX_INT_DIGITS} digits; parsed events needing more than --read-memory.
a history file cut short (last line unfinished) is checked up to the cut: INVALID if that
part is, otherwise UNKNOWN. A file with no client operation is an error, never VALID.
exit codes: 0 valid, 1 invalid, 2 unknown, 254 bad input; with several paths every file is
checked and the worst code wins (254 > 1 > 2 > 0).
how values compare (1 vs 1.0, true vs 1, objects vs arrays): docs/history-format.md."""


def _run_arguments(r: argparse.ArgumentParser, nemesis_default: str) -> None:
    """The arguments that say what a run is (shared by run and hunt)."""
    parts = r.add_argument_group("what to test (see `harness list`)")
    parts.add_argument("--db", default="raft",
                       help="system under test: a name (raft, etcd, or an installed plug-in's), FILE.py:Class or "
                       "module:Class (default raft)")
    parts.add_argument("--db-opt", action="append", default=[], metavar="KEY=VALUE",
                       help="an option of the system (repeatable); `harness list --db NAME` lists them")
    parts.add_argument("--workload", default="register",
                       help="what clients do and how the history is judged: a name, FILE.py:Class or module:Class "
                       "(default register)")
    parts.add_argument("--workload-opt", action="append", default=[], metavar="KEY=VALUE",
                       help="an option of the workload (repeatable)")
    parts.add_argument("--nemesis", default=nemesis_default,
                       help="faults to inject, a comma list of NAME or NAME:TARGET: partition[:SHAPE], packet, kill, "
                       "pause, clock (targets one, minority, majority, all, leader, followers, random or nodes "
                       "n1+n3; shapes halves, one, leader, majorities-ring, bridge) or a fault package such as "
                       f"lag-then-kill; or all, or none (default {nemesis_default}; `harness list --nemesis`)")
    shape = r.add_argument_group("how the run goes")
    shape.add_argument("--nodes", type=_positive(int), help="cluster size (default 5, or the hosts in --nodes-file)")
    shape.add_argument("--time-limit", type=_positive(float), default=RUN_TIME_DEFAULT,
                       help=f"seconds of workload (default {RUN_TIME_DEFAULT:g})")
    shape.add_argument("--nemesis-interval", type=_positive(float),
                       help="seconds between a fault and its heal, and between a heal and the next fault "
                       "(default: the fault package's own, see `harness list --nemesis`; else 10)")
    shape.add_argument("--concurrency", type=_positive(int), default=10, help="client processes (default 10)")
    shape.add_argument("--rate", type=_positive(float), default=100.0, help="target operations per second")
    shape.add_argument("--op-timeout", type=_positive(float),
                       help="client timeout per operation, s (default: the fault package's own; else 5)")
    shape.add_argument("--seed", type=int, help="seed for every random choice (default: random, recorded)")
    shape.add_argument("--jobs", type=_positive(int), metavar="N",
                       help="processes the linearizability checker may use for independent keys "
                       "(default: one per core)")
    where = r.add_argument_group("where the nodes run (default: fresh Docker containers)")
    where.add_argument("--subnet", help="the cluster network's subnet (default 10.231.0.0/24)")
    where.add_argument("--image", help="a local Docker image for the nodes, instead of the system's own")
    where.add_argument("--dockerfile", metavar="PATH",
                       help="build the nodes' image from this Dockerfile (its folder is the context; a FROM that "
                       "cannot be had offline becomes the harness base image)")
    where.add_argument("--base-image", help="a local Debian image to build the harness base on instead of debootstrap")
    where.add_argument("--nodes-file", metavar="FILE",
                       help="run on these existing hosts over SSH instead: one [name=]address[:port] per line")
    where.add_argument("--ssh-user", help="SSH user for --nodes-file (default root)")
    where.add_argument("--ssh-key", metavar="FILE", help="SSH private key for --nodes-file")
    where.add_argument("--ssh-known-hosts", metavar="FILE",
                       help="verify host keys against this file (default ~/.ssh/known_hosts)")
    where.add_argument("--ssh-insecure", action="store_true",
                       help="accept any host key (default: verify against known_hosts)")
    out = r.add_argument_group("results")
    out.add_argument("--test-name", help="name of the results subfolder (default DB-WORKLOAD)")
    out.add_argument("--results", default="results", help="results root folder (default ./results)")
    out.add_argument("--junit", metavar="FILE", help="also write the verdicts as JUnit XML, one test case per checker")
    out.add_argument("--summary", metavar="FILE", help="also write a short markdown summary (for CI step summaries)")
    raft = r.add_argument_group("aliases for --db raft options")
    raft.add_argument("--bug", action="append", metavar="NAME", help="= --db-opt bug=NAME (nodes/BUGS.md)")
    raft.add_argument("--read-mode", metavar="MODE", help="= --db-opt read-mode=MODE")
    raft.add_argument("--no-pre-vote", action="store_true", help="= --db-opt pre-vote=false")
    raft.add_argument("--election-timeout-ms", metavar="LOW:HIGH", help="= --db-opt election-timeout-ms=LOW:HIGH")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="harness", description="Jepsen-style fault injection for distributed systems")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run a test against a fresh cluster", description=RUN_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _run_arguments(r, RUN_NEMESIS_DEFAULT)
    r.add_argument("--schedule", metavar="FILE",
                   help="play these timed faults instead of --nemesis and its rhythm (docs/schedule-file.md)")
    r.add_argument("--tail", type=_positive(float), metavar="SECONDS",
                   help="with --schedule: end the workload this long after the schedule's last heal has finished "
                   "(at most --time-limit; default: run the whole --time-limit)")
    r.set_defaults(func=_cmd_run)

    rp = sub.add_parser("replay", help="run a recorded run again: same command, seed and faults as they ran")
    rp.add_argument("results_dir", metavar="RESULTS_DIR", help="the folder of the run to replay (has results.json)")
    rp.add_argument("--pin-nodes", action="store_true",
                    help="hit the nodes each fault hit before (default: resolve targets such as leader again "
                    "when each fault is injected)")
    rp.add_argument("--subnet", help="the cluster network's subnet (default: the recorded run's)")
    rp.add_argument("--results", help="results root folder (default: the recorded run's)")
    rp.add_argument("--tries", type=_positive(int), default=1, metavar="N",
                    help="replay up to N times, stopping at the first INVALID run: faults aimed at a race "
                    "reproduce a bug only part of the time (exit code: the worst verdict; default 1)")
    rp.set_defaults(func=_cmd_replay)

    h = sub.add_parser("hunt", help="search fault schedules (hypothesis) for an INVALID run, shrink it, save it",
                       description="Search fault schedules for one that makes a run INVALID: each example is a "
                       "short real run; a failing schedule is shrunk and saved as schedule.json beside its run.")
    _run_arguments(h, "any")
    h.add_argument("--budget", type=_budget, default=900.0, help="time for the whole hunt: 900, 15m, 1h (default 15m)")
    h.add_argument("--run-time", type=_positive(float), default=HUNT_RUN_TIME,
                   help=f"most seconds of workload in each example run; faults start within it (default "
                   f"{HUNT_RUN_TIME:g}, or {HUNT_PACKAGE_RUN_TIME:g} when a --bug's setup focuses on a fault package)")
    h.add_argument("--tail", type=_positive(float), default=HUNT_TAIL, metavar="SECONDS",
                   help=f"each example run ends this long after its last fault is healed, so that shorter "
                   f"schedules make shorter runs (at most --run-time; default {HUNT_TAIL:g})")
    h.add_argument("--max-faults", type=_positive(int), default=4, help="most faults in one schedule (default 4)")
    h.add_argument("--confirm", type=_count, default=3, metavar="N",
                   help="then replay the smallest failing run N times, as harness replay does, and say how often "
                   "it fails again (outside the budget; 0: no replays; default 3)")
    h.set_defaults(func=_cmd_hunt)

    ta = sub.add_parser("test-all", help="run a matrix of systems x workloads x faults x seeds as one job",
                        description="Each comma list is an axis of the matrix: --nemesis partition,kill is two "
                        "tests (join faults of one test with +: partition+kill). Or give a TOML file with "
                        "--config. Exit code: 255 if any run failed for the harness's own reasons, else 2 if any "
                        "is unknown, else 1 if any is invalid, else 0.")
    ta.add_argument("--config", metavar="FILE.toml", help="the matrix as TOML (run options at the top, "
                    "[[matrix]] tables of db, workload, nemesis, db-opt, workload-opt)")
    ta.add_argument("--db", default="raft", help="systems, a comma list (default raft)")
    ta.add_argument("--db-opt", action="append", default=[], metavar="KEY=VALUE", help="for every system")
    ta.add_argument("--workload", default="register", help="workloads, a comma list (default register)")
    ta.add_argument("--workload-opt", action="append", default=[], metavar="KEY=VALUE", help="for every workload")
    ta.add_argument("--nemesis", default="partition", help="fault sets, a comma list (default partition)")
    ta.add_argument("--test-count", type=_positive(int), default=1, help="seeds per combination (default 1)")
    ta.add_argument("--seed", type=int, help="first seed (the others follow it); default random")
    for k in ("nodes", "concurrency"):
        ta.add_argument(f"--{k}", type=_positive(int), help="as for harness run")
    for k in ("time-limit", "nemesis-interval", "rate", "op-timeout"):
        ta.add_argument(f"--{k}", type=_positive(float), help="as for harness run")
    ta.add_argument("--parallel", type=_positive(int), default=1,
                    help="runs at once, each on its own /24 after --subnet (default 1)")
    ta.add_argument("--subnet", help="subnet of the first run (default 10.231.0.0/24)")
    ta.add_argument("--retry-harness-errors", type=int, default=0, metavar="N",
                    help="rerun a test up to N times when it failed for the harness's reasons (never for a verdict)")
    ta.add_argument("--results", default="results", help="results root folder (default ./results)")
    ta.add_argument("--junit", metavar="FILE", help="one JUnit XML file: a test case per run x checker")
    ta.add_argument("--summary", metavar="FILE", help="a markdown summary, a row per run")
    ta.add_argument("--summary-json", metavar="FILE", help="machine-readable summary (default RESULTS/summary.json)")
    ta.set_defaults(func=_cmd_test_all)

    ls = sub.add_parser("list", help="the systems, workloads and faults there are, and their options")
    ls.add_argument("--db", metavar="NAME", help="only this system, with its options")
    ls.add_argument("--workload", metavar="NAME", help="only this workload, with its options")
    ls.add_argument("--nemesis", action="store_true", help="only the faults")
    ls.add_argument("--json", action="store_true", help="as JSON")
    ls.set_defaults(func=_cmd_list)

    c = sub.add_parser(
        "check",
        help="check saved histories without Docker",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_check_epilog(),
    )
    c.add_argument("paths", nargs="+", help="results folders or history files")
    c.add_argument("--format", choices=["jsonl", "edn", "jepsen-log", "porcupine-kv"],
                   help="history file format (default: detected from the file, and printed)")
    c.add_argument("--model", help="model to check against (default: the format's, cas-register for jsonl)")
    c.add_argument("--init", type=_json_value, help="initial model state as JSON (default: the model's)")
    c.add_argument("--semantics", choices=["harness", "knossos", "porcupine"],
                   help="how fail/info ops and nil reads are read (default: the format's)")
    # The check's default budget (see checkers/api.py): it ends, with 'unknown' and how far it got.
    c.add_argument("--time-limit", type=_positive(float), default=300.0,
                   help="give up with 'unknown' after this many s (default 300)")
    c.add_argument("--memory-limit", type=_positive(int), default=1024,
                   help="memo cap per key, MiB (default 1024); hitting it gives 'unknown'")
    c.add_argument("--read-memory", type=_positive(int), default=2048, metavar="MIB",
                   help="estimated memory the parsed events of one file may take, MiB (default 2048); "
                   "a larger file is refused (exit 254)")
    c.add_argument("--jobs", type=_positive(int), metavar="N",
                   help="processes searching independent keys at once (default: one per core); each holds "
                   "--memory-limit; the verdict is the same for any N")
    c.add_argument("--all-keys", action="store_true", help="check every key, not only the first bad one")
    c.add_argument("--no-shrink", action="store_true", help="skip shrinking the counterexample")
    c.add_argument("--json", action="store_true", help="one JSON object per path")
    c.add_argument("--workload", metavar="NAME",
                   help="check with this workload's checkers instead of linearizability (list-append, rw-register, "
                   "set, counter, bank, or a plug-in); reads our JSONL or Jepsen/Elle EDN")
    c.add_argument("--workload-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the workload, e.g. consistency-model=serializable")
    c.set_defaults(func=_cmd_check)

    cl = sub.add_parser("clean", help="remove containers and networks left by crashed runs",
                        description="By default, only runs that are dead (their harness process is gone) and "
                        "yours (made by this user, or from --results): other users' runs on a shared engine "
                        "are left alone.")
    cl.add_argument("--run-id", help="only this run's objects (the run id is on the verdict line)")
    cl.add_argument("--all", action="store_true", help="every harness-labelled object on the engine, live or not")
    cl.add_argument("--results", default="results", help="the results root whose runs count as yours")
    cl.set_defaults(func=_cmd_clean)

    i = sub.add_parser("image", help="node images")
    isub = i.add_subparsers(dest="image_command", required=True, parser_class=_Parser)
    b = isub.add_parser("build", help="build (or find cached) a system's node image and print its tag")
    b.add_argument("--db", default="raft", help="the system whose image to build (default raft)")
    b.add_argument("--base", help="a Debian image to build on instead of debootstrap")
    b.set_defaults(func=_cmd_image)
    k = isub.add_parser("key", help="print a cache key for the images (changes when their inputs change)")
    k.set_defaults(func=_cmd_image_key)
    s = isub.add_parser("save", help="build or find the base and a system's image, and save both to FOLDER")
    s.add_argument("folder", help="where the image tars go (e.g. a CI cache folder)")
    s.add_argument("--db", default="raft", help="the system whose image to save with the base (default raft)")
    s.add_argument("--base", help="a Debian image to build on instead of debootstrap")
    s.set_defaults(func=_cmd_image_save)
    ld = isub.add_parser("load", help="load images saved by 'harness image save' (skips the ~1-2 min debootstrap)")
    ld.add_argument("folder", help="the folder 'harness image save' wrote")
    ld.set_defaults(func=_cmd_image_load)

    rep = sub.add_parser("report", help="re-render a run's report.html")
    rep.add_argument("path", help="a results folder")
    rep.set_defaults(func=_cmd_report)

    srv = sub.add_parser("serve", help="browse runs over HTTP: index with filters, trends per test, diffs of runs")
    srv.add_argument("--port", type=_port, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    srv.add_argument("--allow-remote", action="store_true",
                     help="allow a --host other than loopback: anyone who can reach it reads every result, "
                     "with no authentication")
    srv.add_argument("--results", default="results", help="results root folder (default ./results)")
    srv.add_argument("--static", metavar="OUT",
                     help="write the pages (index, trends, diffs of consecutive runs, reports) into folder OUT "
                     "instead of serving, for CI artifacts or Pages")
    srv.set_defaults(func=_cmd_serve)

    pr = sub.add_parser("prune", help="remove old valid runs from a results folder (never invalid ones unless told)")
    pr.add_argument("--keep", type=_count, metavar="N", help="spare the newest N runs of each test")
    pr.add_argument("--older-than", metavar="AGE",
                    help="spare runs younger than AGE: a number and s, m, h, d or w (e.g. 30d); with --keep, "
                    "a run goes only if neither spares it")
    pr.add_argument("--include-invalid", action="store_true", help="remove old invalid runs too")
    pr.add_argument("--include-unknown", action="store_true", help="remove old unknown runs too")
    pr.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    pr.add_argument("--results", default="results", help="results root folder (default ./results)")
    pr.set_defaults(func=_cmd_prune)
    return p


def _log_traceback() -> str:
    """Save the current traceback to a new private file and name it (errors inside a run are in its harness.log).

    mkstemp makes the file with a random name, mode 0600 and O_EXCL, so a file or link planted in
    a shared temp folder can neither be overwritten nor read. If even that fails, say so.
    """
    try:
        fd, path = tempfile.mkstemp(prefix="harness-error-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:
            f.write(traceback.format_exc())
    except OSError as e:
        return f"nowhere: could not save it ({e.strerror})"
    return path


def main(argv: list[str] | None = None) -> int:
    from checkers.history import HistoryError

    args = build_parser().parse_args(argv)
    args.argv = ["harness", *(sys.argv[1:] if argv is None else argv)]  # recorded by a run, for replay
    try:
        return args.func(args)
    except (UsageError, HistoryError) as e:
        print(f"harness: {e}", file=sys.stderr)
        return EXIT_USAGE
    except HarnessError as e:
        print(f"harness: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as e:
        print(f"harness: internal error: {type(e).__name__}: {e} (traceback in {_log_traceback()})",
              file=sys.stderr)
        return EXIT_FAILED


def entry() -> NoReturn:
    """The `harness` command. SIGTERM and SIGHUP end it as Ctrl-C does (exit 255, "interrupted"),
    never by the signal's default: a run puts this handler back once it has torn down and reported;
    after main() returns the process ignores them while the interpreter shuts down (joining
    threads, closing clients), where a second SIGTERM killed it after an interrupted run."""
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, interrupt)
    code = main()
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    entry()
