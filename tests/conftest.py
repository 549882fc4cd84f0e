"""Shared fixtures: one Docker client and one node image for the whole session.

Docker tests do not skip when the engine is missing: a Docker test that silently skips is a
test that cannot fail. Set HARNESS_SKIP_DOCKER=1 to leave them out on purpose.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("HARNESS_SKIP_DOCKER") == "1":
        skip = pytest.mark.skip(reason="HARNESS_SKIP_DOCKER=1")
        for item in items:
            if "docker" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def docker_client():
    from harness.containers import connect

    return connect()


@pytest.fixture(scope="session")
def node_image(docker_client) -> str:
    """Built once per session (cold: about a minute of debootstrap; cached: well under a second)."""
    from harness.image import node_image

    return node_image(docker_client)
