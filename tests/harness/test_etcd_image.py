"""The etcd image is built offline from Debian's package and found again by its hash."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(300)]


def test_etcd_image_runs_debians_etcd_and_is_cached(docker_client) -> None:
    from harness.image import IMAGE_LABEL, etcd_image

    tag = etcd_image(docker_client)
    assert etcd_image(docker_client) == tag  # the second call finds the first's image: no rebuild
    assert docker_client.images.get(tag).labels[IMAGE_LABEL] == "etcd"
    out = docker_client.containers.run(
        tag, ["etcd", "--version"], remove=True, network_mode="none", labels={"harness.run": "test-etcd-image"}
    ).decode()
    assert "etcd Version: 3." in out
