"""Run one step on every node at once.

A fault or heal touches every node with a few remote commands each, and a command costs tens
of milliseconds (more on a loaded machine); done one node after another, a 5-node heal took
several seconds, long enough to blur when a fault really started and ended.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def on_nodes(nodes: Sequence[str], step: Callable[[str], T]) -> dict[str, T]:
    """`step(node)` for every node concurrently, results by node; after all have finished, the
    first failure (in node order) is raised, so no node is left half-done behind an early error."""
    if len(nodes) <= 1:
        return {node: step(node) for node in nodes}
    with ThreadPoolExecutor(max_workers=len(nodes), thread_name_prefix="nemesis-node") as pool:
        futures = {node: pool.submit(step, node) for node in nodes}
    return {node: future.result() for node, future in futures.items()}
