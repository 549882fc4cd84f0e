"""`Remote` over the Docker engine: exec, detached exec and archive copy into containers."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from harness.remote.base import ExecResult, RemoteError


class DockerRemote:
    def __init__(self, containers: dict[str, Container]) -> None:
        self.containers = containers

    def _container(self, node: str) -> Container:
        try:
            return self.containers[node]
        except KeyError:
            raise RemoteError(f"no container for node {node}") from None

    def exec(self, node: str, argv: list[str], timeout: float = 30.0) -> ExecResult:
        # coreutils `timeout` inside the container bounds the command even if it hangs there.
        wrapped = ["timeout", "-s", "KILL", f"{timeout:g}", *argv]
        container = self._container(node)
        api = container.client.api
        try:
            exec_id = api.exec_create(container.id, wrapped)["Id"]
            out, err = api.exec_start(exec_id, demux=True)
            code = self._exit_code(api, exec_id)
        except docker.errors.APIError as e:
            raise RemoteError(f"{node}: exec {argv[0]} failed: {e.explanation}") from e
        if code is None:
            raise RemoteError(f"{node}: exec {argv[0]} finished its output but reported no exit code")
        return ExecResult(code, (out or b"").decode(errors="replace"), (err or b"").decode(errors="replace"))

    @staticmethod
    def _exit_code(api: docker.APIClient, exec_id: str, wait: float = 10.0) -> int | None:
        """The exec's exit code, once the engine has recorded it.

        The output stream can end before the engine marks the exec finished; on a loaded engine
        an immediate inspect then says "running, no exit code", which callers would misread as
        failure (a live node process taken for dead, and restarted a second time).
        """
        deadline = time.monotonic() + wait
        while True:
            info = api.exec_inspect(exec_id)
            if not info.get("Running"):
                return info.get("ExitCode")
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)

    def spawn(self, node: str, shell: str) -> None:
        try:
            self._container(node).exec_run(["sh", "-c", shell], detach=True)
        except docker.errors.APIError as e:
            raise RemoteError(f"{node}: spawn failed: {e.explanation}") from e

    def put(self, node: str, local: Path, remote_dir: str) -> None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(local, arcname=local.name)
        try:
            self._container(node).put_archive(remote_dir, buf.getvalue())
        except docker.errors.APIError as e:
            raise RemoteError(f"{node}: copy to {remote_dir} failed: {e.explanation}") from e

    def get(self, node: str, remote: str, local_dir: Path) -> None:
        try:
            stream, _ = self._container(node).get_archive(remote)
        except docker.errors.NotFound:
            raise RemoteError(f"{node}: {remote} does not exist") from None
        except docker.errors.APIError as e:
            raise RemoteError(f"{node}: copy of {remote} failed: {e.explanation}") from e
        local_dir.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            tar.extractall(local_dir, filter="data")
