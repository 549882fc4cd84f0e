"""Fixtures for the real-container tests: a started cluster, free subnets, leftovers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import clusters
import pytest


@pytest.fixture
def leftovers(docker_client) -> Callable[[str], list[str]]:
    """Names of containers and networks still labelled with a run."""
    return lambda run_id: clusters.leftovers(docker_client, run_id)


@pytest.fixture
def raft_cluster(docker_client, node_image, free_subnet) -> Iterator[clusters.Cluster]:
    """Three running Raft nodes with a leader, removed afterwards."""
    with clusters.started_cluster(docker_client, node_image, free_subnet("10.232"), 3) as c:
        yield c


@pytest.fixture(scope="session")
def free_subnet(docker_client) -> Callable[[str], str]:
    """A /24 under `prefix` (e.g. "10.241") that no Docker network or host route uses right now."""
    from harness.containers import free_subnet as pick

    return lambda prefix: pick(docker_client, prefix)
