"""Check a transactional history file from the command line, until `harness check` wires it in.

    python -m checkers.txn [--workload list-append|rw-register] [--consistency-model M]
                           [--time-limit S] [--wfr-keys] [--sequential-keys] [--linearizable-keys]
                           [--json] FILE

FILE is our history.jsonl or a Jepsen/Elle history.edn (chosen by the .edn suffix, or --format).
Exit status: 0 valid, 1 invalid, 2 unknown, 254 for a file or option we cannot use (one line
naming the file and line, or the option).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn

from checkers.history import HistoryError
from checkers.txn.check import DEFAULT_MODEL, WORKLOADS, check, summary
from checkers.txn.files import FORMATS, read_txn_history
from checkers.txn.models import MODELS
from checkers.txn.transactions import TxnError

EXIT = {True: 0, False: 1, "unknown": 2}
BAD_INPUT = 254


class _Parser(argparse.ArgumentParser):
    """Bad options exit 254 like the harness's own CLI, not argparse's 2 (which means unknown here)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(BAD_INPUT, f"error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    p = _Parser(prog="python -m checkers.txn", description=__doc__.splitlines()[0])
    p.add_argument("file")
    p.add_argument("--workload", choices=WORKLOADS, default="list-append")
    p.add_argument("--consistency-model", choices=MODELS, default=DEFAULT_MODEL)
    p.add_argument("--format", choices=FORMATS)
    p.add_argument("--time-limit", type=float, help="seconds; past it the verdict is unknown unless already invalid")
    p.add_argument("--wfr-keys", action="store_true", help="rw-register: assume writes follow reads in a txn")
    p.add_argument("--sequential-keys", action="store_true", help="rw-register: assume each key is sequential")
    p.add_argument("--linearizable-keys", action="store_true", help="rw-register: assume each key is linearizable")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    a = p.parse_args(argv)
    try:
        events = read_txn_history(a.file, a.format)
        r = check(events, a.workload, a.consistency_model, time_limit=a.time_limit, wfr_keys=a.wfr_keys,
                  sequential_keys=a.sequential_keys, linearizable_keys=a.linearizable_keys)
    except (HistoryError, TxnError) as e:
        print(f"error: {e}" if str(e).startswith(a.file) else f"error: {a.file}: {e}", file=sys.stderr)
        return BAD_INPUT
    print(json.dumps(r, default=str, indent=1) if a.json else "\n".join(summary(r)))
    return EXIT[r["valid"]]


if __name__ == "__main__":
    sys.exit(main())
