"""`harness run | check | clean | image build | report | serve`.

Exit codes follow Jepsen: 0 valid, 1 invalid, 2 unknown, 254 bad arguments or input,
255 the harness itself failed. Errors are one line on stderr; tracebacks go to a log file.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, NoReturn

from harness.errors import HarnessError, UsageError

EXIT_VALID, EXIT_INVALID, EXIT_UNKNOWN, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 254, 255
SEVERITY = {EXIT_VALID: 0, EXIT_UNKNOWN: 1, EXIT_INVALID: 2}  # false > unknown > true


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
                               ("--ssh-insecure", args.ssh_insecure)) if v]
    if args.nodes_file is None:
        if ssh_only:
            raise UsageError(f"{ssh_only[0]} needs --nodes-file (SSH is only for real hosts)")
        return DockerPlatform(args.subnet or DEFAULT_SUBNET, args.image, Path(args.dockerfile) if args.dockerfile
                              else None, args.base_image)
    docker_only = [f for f, v in (("--subnet", args.subnet), ("--image", args.image),
                                  ("--dockerfile", args.dockerfile), ("--base-image", args.base_image)) if v]
    if docker_only:
        raise UsageError(f"{docker_only[0]} is for Docker clusters; --nodes-file runs on existing hosts")
    return SSHPlatform(Path(args.nodes_file), args.ssh_user or "root", args.ssh_key, args.ssh_insecure)


def _cmd_run(args: argparse.Namespace) -> int:
    from harness.ci import write_junit, write_summary
    from harness.platform import SSHPlatform, read_nodes_file
    from harness.progress import Progress
    from harness.run import run
    from harness.test import RunOptions, make_test

    platform = _platform(args)
    nodes = args.nodes
    if nodes is None:
        nodes = len(read_nodes_file(platform.nodes_file)) if isinstance(platform, SSHPlatform) else 5
    options = RunOptions(
        nodes=nodes, time_limit=args.time_limit, nemesis_interval=args.nemesis_interval,
        concurrency=args.concurrency, rate=args.rate, op_timeout=args.op_timeout, results_root=Path(args.results),
    )
    if args.seed is not None:
        options.seed = args.seed
    test = make_test(db=args.db, db_opts=_db_opts(args), workload=args.workload, workload_opts=args.workload_opt,
                     nemesis=args.nemesis, platform=platform, options=options, name=args.test_name,
                     argv=["harness", *sys.argv[1:]])
    outcome = run(test, progress=Progress(sys.stderr))
    r = outcome.results
    if args.junit:
        write_junit(r, Path(args.junit))
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


def _cmd_check(args: argparse.Namespace) -> int:
    from checkers.api import check_file, summary

    worst = EXIT_VALID
    for raw in args.paths:
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
        )
        if args.json:
            print(json.dumps({"path": str(path), **result}, default=str))
        else:
            print(f"{verdict_word(result['valid'])}: {path} ({result.get('seconds', 0):.2f} s)")
            for line in summary(result):
                print(f"  {line}")
        worst = max(worst, exit_code(result["valid"]), key=SEVERITY.__getitem__)
    return worst


def _cmd_clean(args: argparse.Namespace) -> int:
    from harness.containers import clean, connect

    if args.run_id and args.all:
        raise UsageError("--run-id and --all contradict each other: give one")
    containers, networks, runs = clean(connect(), args.run_id, Path(args.results), args.all)
    scope = f"run {args.run_id}" if args.run_id else ("every harness run" if args.all else
                                                      "dead runs of yours or of this results folder")
    print(f"removed {containers} containers and {networks} networks ({scope}): {', '.join(runs) or 'none'}")
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


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.report.html import write_report

    run_dir = Path(args.path)
    if not (run_dir / "results.json").exists():
        raise UsageError(f"{run_dir}: not a results folder (no results.json)")
    print(write_report(run_dir))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from harness.serve import serve

    serve(Path(args.results), args.host, args.port)
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="harness", description="Jepsen-style fault injection for distributed systems")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run a test against a fresh cluster", description=RUN_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
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
    parts.add_argument("--nemesis", default="partition",
                       help="faults to inject, a comma list of NAME or NAME:TARGET: partition[:SHAPE], packet, kill, "
                       "pause, clock (targets one, minority, majority, all, leader, followers, random or nodes "
                       "n1+n3; shapes halves, one, leader, majorities-ring, bridge) or a fault package such as "
                       "lag-then-kill; or all, or none (default partition; `harness list --nemesis`)")
    shape = r.add_argument_group("how the run goes")
    shape.add_argument("--nodes", type=_positive(int), help="cluster size (default 5, or the hosts in --nodes-file)")
    shape.add_argument("--time-limit", type=_positive(float), default=60.0, help="seconds of workload (default 60)")
    shape.add_argument("--nemesis-interval", type=_positive(float),
                       help="seconds between a fault and its heal, and between a heal and the next fault "
                       "(default: the fault package's own, see `harness list --nemesis`; else 10)")
    shape.add_argument("--concurrency", type=_positive(int), default=10, help="client processes (default 10)")
    shape.add_argument("--rate", type=_positive(float), default=100.0, help="target operations per second")
    shape.add_argument("--op-timeout", type=_positive(float),
                       help="client timeout per operation, s (default: the fault package's own; else 5)")
    shape.add_argument("--seed", type=int, help="seed for every random choice (default: random, recorded)")
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
    r.set_defaults(func=_cmd_run)

    ls = sub.add_parser("list", help="the systems, workloads and faults there are, and their options")
    ls.add_argument("--db", metavar="NAME", help="only this system, with its options")
    ls.add_argument("--workload", metavar="NAME", help="only this workload, with its options")
    ls.add_argument("--nemesis", action="store_true", help="only the faults")
    ls.add_argument("--json", action="store_true", help="as JSON")
    ls.set_defaults(func=_cmd_list)

    c = sub.add_parser("check", help="check saved histories without Docker")
    c.add_argument("paths", nargs="+", help="results folders or history files")
    c.add_argument("--format", default="jsonl", choices=["jsonl", "edn", "jepsen-log", "porcupine-kv"],
                   help="history file format (default jsonl)")
    c.add_argument("--model", help="model to check against (default: the format's, cas-register for jsonl)")
    c.add_argument("--init", type=json.loads, help="initial model state as JSON (default: the model's)")
    c.add_argument("--semantics", choices=["harness", "knossos", "porcupine"],
                   help="how fail/info ops and nil reads are read (default: the format's)")
    c.add_argument("--time-limit", type=_positive(float), help="give up with 'unknown' after this many s")
    c.add_argument("--memory-limit", type=_positive(int), default=1024,
                   help="memo cap per key, MiB (default 1024); hitting it gives 'unknown'")
    c.add_argument("--all-keys", action="store_true", help="check every key, not only the first bad one")
    c.add_argument("--no-shrink", action="store_true", help="skip shrinking the counterexample")
    c.add_argument("--json", action="store_true", help="one JSON object per path")
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

    rep = sub.add_parser("report", help="re-render a run's report.html")
    rep.add_argument("path", help="a results folder")
    rep.set_defaults(func=_cmd_report)

    srv = sub.add_parser("serve", help="serve an index of all runs and their reports over HTTP")
    srv.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    srv.add_argument("--results", default="results", help="results root folder (default ./results)")
    srv.set_defaults(func=_cmd_serve)
    return p


def _log_traceback() -> Path:
    path = Path(tempfile.gettempdir()) / "harness-error.log"
    path.write_text(traceback.format_exc())
    return path


def main(argv: list[str] | None = None) -> int:
    from checkers.history import HistoryError

    args = build_parser().parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
