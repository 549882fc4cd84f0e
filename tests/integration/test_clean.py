"""`harness clean` removes only what is dead and ours, unless told otherwise (a shared engine)."""

from __future__ import annotations

import contextlib
import secrets
import subprocess

import docker
import pytest

from harness.containers import HOST_LABEL, PID_LABEL, RUN_LABEL, USER_LABEL, clean, owner_labels

pytestmark = [pytest.mark.docker]


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid  # reaped: no process has this id now (reuse within the test is vanishingly rare)


def test_default_clean_spares_live_runs_and_other_users(docker_client: docker.DockerClient, free_subnet) -> None:
    me = owner_labels()
    tag = secrets.token_hex(3)
    kinds = {
        "mine-dead": {**me, PID_LABEL: str(dead_pid())},
        "mine-live": me,  # this test's own pid: alive
        "other-user-dead": {**me, USER_LABEL: f"someone-else-{tag}", PID_LABEL: str(dead_pid())},
        "other-host": {**me, HOST_LABEL: f"elsewhere-{tag}", PID_LABEL: str(dead_pid())},
    }
    made = {}
    try:
        for kind, labels in kinds.items():
            subnet = free_subnet("10.248")
            run_id = f"test-clean-{kind}-{tag}"
            made[kind] = docker_client.networks.create(
                f"harness-{run_id}", internal=True, labels={RUN_LABEL: run_id, **labels},
                ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)]))
        *_, runs = clean(docker_client)
        assert f"test-clean-mine-dead-{tag}" in runs
        assert not [r for r in runs if tag in r and "mine-dead" not in r], runs
        left = {n.name for n in docker_client.networks.list(filters={"label": RUN_LABEL})}
        assert f"harness-test-clean-mine-dead-{tag}" not in left
        assert {f"harness-test-clean-{k}-{tag}" for k in ("mine-live", "other-user-dead", "other-host")} <= left
        _, _, runs = clean(docker_client, run_id=f"test-clean-other-user-dead-{tag}")
        assert runs == [f"test-clean-other-user-dead-{tag}"]
    finally:
        for network in made.values():
            with contextlib.suppress(docker.errors.NotFound):
                network.remove()
