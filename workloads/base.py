"""A workload: what clients do to the system and how their history is judged, as one bundle.

Like Maelstrom's workload table, each workload bundles an operation source (what to ask for),
the client side of each operation (which connection calls perform it, and how their outcomes
read), the operations to run once the cluster has healed (final reads), and the checkers that
judge the history. The harness knows none of them by name: `harness run --workload NAME`
looks the bundle up, checks that the chosen system's client has every operation the workload
`requires`, and runs it. Adding a workload is one module.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

from checkers.checker import Checker
from checkers.formats import load_history
from checkers.history import Event, HistoryError
from contract.client import Completion, Op
from contract.options import Option, parse_pairs


class Workload(ABC):
    """One workload, with its options parsed (see `contract.options`).

    Class attributes a subclass sets: `name`, `description`, `options` (what `--workload-opt`
    accepts) and `requires`: the names of the connection methods `invoke` calls, so a system
    whose client lacks one is refused before anything starts.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    options: ClassVar[Sequence[Option]] = ()
    requires: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_pairs(cls, pairs: Sequence[str] = ()) -> Self:
        """Built from "KEY=VALUE" strings, defaults for the rest (OptionError names a bad pair)."""
        return cls(parse_pairs(pairs, cls.options, "--workload-opt", f"workload {cls.name}"))

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.opts = dict(options)

    def settings(self) -> dict[str, Any]:
        """What results.json records about this workload: its options as JSON-able values."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.opts.items()}

    @abstractmethod
    def next_op(self, rng: random.Random) -> Op:
        """The next operation for a client, drawn from `rng` (one seeded source per worker)."""

    def read_op(self, rng: random.Random) -> Op | None:
        """An operation that only reads, for phases in which a fault package lets clients only watch
        (`harness.client_gate`); None (the default) if the workload has none: its clients then wait."""
        return None

    def needs(self) -> tuple[str, ...]:
        """The connection methods this workload, with its options, calls (default: `requires`)."""
        return self.requires

    @abstractmethod
    def invoke(self, conn: Any, op: Op) -> Completion:
        """Perform `op` through `conn`; Definite errors become fail, Indeterminate ones info."""

    def initial_ops(self) -> list[Op]:
        """Operations run once before the clients start, recorded in the history (e.g. opening
        balances); a run whose initial operations do not all succeed is a harness failure."""
        return []

    def final_ops(self) -> list[Op]:
        """Operations run once after the cluster has healed: what the system ends up holding."""
        return []

    def read_history(self, path: Path, format: str | None = None) -> list[Event]:
        """A saved history of this workload (`harness check --workload`): our JSONL or Jepsen's EDN,
        detected when `format` is None. A workload whose published histories are looser than a
        harness run's (Elle's) reads them its own way."""
        history = load_history(path, format)
        if history.cut_short:
            raise HistoryError(f"{path}: cut short ({history.cut_short}); a cut transaction history is not checked")
        return history.events

    @abstractmethod
    def checker(self) -> Checker:
        """The checker that judges this workload's history (compose several with `checkers.checker.Compose`)."""
