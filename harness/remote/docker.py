"""`Remote` over the Docker engine: exec, detached exec and archive copy into containers."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

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
        try:
            code, (out, err) = self._container(node).exec_run(wrapped, demux=True)
        except docker.errors.APIError as e:
            raise RemoteError(f"{node}: exec {argv[0]} failed: {e.explanation}") from e
        return ExecResult(code, (out or b"").decode(errors="replace"), (err or b"").decode(errors="replace"))

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
