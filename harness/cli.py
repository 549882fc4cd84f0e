"""`harness run | check | clean | image build | report | serve`.

Exit codes follow Jepsen: 0 valid, 1 invalid, 2 unknown, 254 bad arguments or input,
255 the harness itself failed. Errors are one line on stderr; tracebacks go to a log file.
"""

from __future__ import annotations

import argparse
import json
import logging
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
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _range(text: str) -> tuple[float, float]:
    """LOW:HIGH as two numbers (their order is checked with the other node options)."""
    low, sep, high = text.partition(":")
    try:
        return float(low), float(high if sep else low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LOW:HIGH") from None


def _cmd_run(args: argparse.Namespace) -> int:
    from harness.ci import write_junit, write_summary
    from harness.containers import node_addresses
    from harness.dbs.raft import RaftOptions
    from harness.nemesis.registry import parse_nemesis
    from harness.progress import Progress
    from harness.run import RunConfig, run

    if args.nodes < 3:
        raise UsageError("--nodes must be at least 3 (a Raft cluster of fewer cannot lose a node)")
    node_addresses(args.subnet, args.nodes)  # validates --subnet before anything is built
    config = RunConfig(
        test_name=args.test_name,
        nodes=args.nodes,
        subnet=args.subnet,
        time_limit=args.time_limit,
        nemesis=parse_nemesis(args.nemesis),
        nemesis_interval=args.nemesis_interval,
        concurrency=args.concurrency,
        rate=args.rate,
        op_timeout=args.op_timeout,
        raft=RaftOptions(
            bugs=tuple(args.bug),
            read_mode=args.read_mode,
            pre_vote=not args.no_pre_vote,
            election_timeout_ms=args.election_timeout_ms,
        ),
        base_image=args.base_image,
        results_root=Path(args.results),
    )
    if args.seed is not None:
        config.seed = args.seed
    outcome = run(config, progress=Progress(sys.stderr))
    r = outcome.results
    if args.junit:
        write_junit(r, Path(args.junit))
    if args.summary:
        write_summary(r, outcome.run_dir, Path(args.summary))
    total = sum(sum(c.values()) for c in r["counts"].values())
    ok = sum(c["ok"] for c in r["counts"].values())
    print(f"{verdict_word(r['valid'])}: {total} operations ({ok} ok), seed {r['seed']}; "
          f"results in {outcome.run_dir}")
    for problem in r["problems"]:
        print(f"problem: {problem}", file=sys.stderr)
    if r["interrupted"]:
        return EXIT_FAILED
    return exit_code(r["valid"])


def _history_path(path: Path) -> Path:
    if path.is_dir():
        path = path / "history.jsonl"
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    return path


def _cmd_check(args: argparse.Namespace) -> int:
    from checkers.api import check_file, summary
    from checkers.progress import terminal_progress

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
            progress=terminal_progress(sys.stderr),
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

    containers, networks = clean(connect(), args.run_id)
    print(f"removed {containers} containers and {networks} networks labelled harness.run")
    return 0


def _cmd_image(args: argparse.Namespace) -> int:
    from harness.containers import connect
    from harness.image import node_image

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(node_image(connect(), args.base))
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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="harness", description="Jepsen-style fault injection for distributed systems")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run a test against a fresh cluster in Docker")
    r.add_argument("--nemesis", default="partition",
                   help="faults to inject, a comma list of partition, packet, kill, pause, clock; "
                   "or all, or none (default partition)")
    r.add_argument("--nodes", type=_positive(int), default=5, help="cluster size (default 5)")
    r.add_argument("--time-limit", type=_positive(float), default=60.0, help="seconds of workload (default 60)")
    r.add_argument("--nemesis-interval", type=_positive(float), default=10.0,
                   help="seconds between a fault and its heal, and between a heal and the next fault "
                   "(default 10)")
    r.add_argument("--concurrency", type=_positive(int), default=10, help="client processes (default 10)")
    r.add_argument("--rate", type=_positive(float), default=100.0, help="target operations per second")
    r.add_argument("--op-timeout", type=_positive(float), default=5.0, help="client timeout per operation, s")
    r.add_argument("--seed", type=int, help="seed for every random choice (default: random, recorded)")
    r.add_argument("--subnet", default="10.231.0.0/24", help="the cluster network's subnet")
    r.add_argument("--bug", action="append", default=[], metavar="NAME",
                   help="start the Raft nodes with a seeded bug (repeatable; see nodes/BUGS.md)")
    r.add_argument("--read-mode", default="readindex", metavar="MODE",
                   help="how the Raft nodes make reads linearizable: readindex (default), log, or lease "
                   "(wall-clock leader leases: fast, and correct only while clocks behave)")
    r.add_argument("--no-pre-vote", action="store_true", help="Raft nodes campaign without a pre-vote round")
    r.add_argument("--election-timeout-ms", type=_range, metavar="LOW:HIGH",
                   help="Raft election timeout range in ms (default the node's, 300:600)")
    r.add_argument("--base-image", help="a local Debian image to build on instead of debootstrap")
    r.add_argument("--test-name", default="raft-register", help="name of the results subfolder")
    r.add_argument("--results", default="results", help="results root folder (default ./results)")
    r.add_argument("--junit", metavar="FILE", help="also write the verdicts as JUnit XML, one test case per checker")
    r.add_argument("--summary", metavar="FILE", help="also write a short markdown summary (for CI step summaries)")
    r.set_defaults(func=_cmd_run)

    c = sub.add_parser("check", help="check saved histories without Docker")
    c.add_argument("paths", nargs="+", help="results folders or history files")
    c.add_argument("--format", default="jsonl", choices=["jsonl", "edn", "jepsen-log", "porcupine-kv"],
                   help="history file format (default jsonl)")
    c.add_argument("--model", help="model to check against (default: the format's, cas-register for jsonl)")
    c.add_argument("--init", type=json.loads, help="initial model state as JSON (default: the model's)")
    c.add_argument("--semantics", choices=["harness", "knossos", "porcupine"],
                   help="how fail/info ops and nil reads are read (default: the format's)")
    # The check's default budget (see checkers/api.py): it ends, with 'unknown' and how far it got.
    c.add_argument("--time-limit", type=_positive(float), default=300.0,
                   help="give up with 'unknown' after this many s (default 300)")
    c.add_argument("--memory-limit", type=_positive(int), default=1024,
                   help="memo cap per key, MiB (default 1024); hitting it gives 'unknown'")
    c.add_argument("--all-keys", action="store_true", help="check every key, not only the first bad one")
    c.add_argument("--no-shrink", action="store_true", help="skip shrinking the counterexample")
    c.add_argument("--json", action="store_true", help="one JSON object per path")
    c.set_defaults(func=_cmd_check)

    cl = sub.add_parser("clean", help="remove containers and networks left by crashed runs")
    cl.add_argument("--run-id", help="only this run's objects")
    cl.set_defaults(func=_cmd_clean)

    i = sub.add_parser("image", help="node images")
    isub = i.add_subparsers(dest="image_command", required=True, parser_class=_Parser)
    b = isub.add_parser("build", help="build (or find cached) the node image and print its tag")
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
