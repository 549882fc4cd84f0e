"""What a client hands back for each operation it performs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.dbs.base import KVConnection
from workloads.generator import Op


@dataclass(frozen=True)
class Completion:
    """How an operation ended: ok, fail (certainly did not happen) or info (may have happened)."""

    type: str
    value: Any = None
    error: str | None = None


Invoke = Callable[[KVConnection, Op], Completion]
