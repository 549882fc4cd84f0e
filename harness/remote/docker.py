"""`Remote` over the Docker engine: exec (through a standing shell per node where it can), detached
exec and archive copy into containers."""

from __future__ import annotations

import io
import shlex
import tarfile
import threading
import time
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from harness.remote.base import ExecResult, RemoteError
from harness.remote.standing_shell import ShellLost, StandingShell


class DockerRemote:
    def __init__(self, containers: dict[str, Container]) -> None:
        self.containers = containers
        self._shells: dict[str, StandingShell] = {}
        self._shell_locks: dict[str, threading.Lock] = {n: threading.Lock() for n in containers}

    def _container(self, node: str) -> Container:
        try:
            return self.containers[node]
        except KeyError:
            raise RemoteError(f"no container for node {node}") from None

    def exec(self, node: str, argv: list[str], timeout: float = 30.0) -> ExecResult:
        """Through the node's standing shell when it is free (milliseconds under load, where a fresh
        exec takes seconds); a fresh exec when it is busy with another thread's command or broke."""
        lock = self._shell_locks.get(node)
        if lock is None or not lock.acquire(blocking=False):
            return self._fresh_exec(node, argv, timeout)
        try:
            shell = self._shells.get(node)
            if shell is None:
                try:
                    shell = self._shells[node] = StandingShell(self._container(node).client.api,
                                                               self._container(node).id)
                except docker.errors.APIError:
                    return self._fresh_exec(node, argv, timeout)
            try:
                return shell.run(argv, timeout)
            except ShellLost as e:
                # The command may have run: not retried (an iptables -A twice is two rules), as a
                # fresh exec that fails halfway is not. The next command opens a new shell.
                self._shells.pop(node).close()
                raise RemoteError(f"{node}: exec {argv[0]} failed: {e}") from e
        finally:
            lock.release()

    def close(self) -> None:
        """Close the standing shells' streams (removing the containers ends the shells themselves)."""
        for shell in self._shells.values():
            shell.close()
        self._shells.clear()

    def _fresh_exec(self, node: str, argv: list[str], timeout: float) -> ExecResult:
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
        # A subshell that backgrounds the command and exits at once: the command is orphaned to the
        # container's init (which reaps it), not left a child of the standing shell.
        r = self.exec(node, ["sh", "-c", f"(sh -c {shlex.quote(shell)} </dev/null >/dev/null 2>&1 &)"])
        if not r.ok:
            raise RemoteError(f"{node}: spawn failed: {r.stderr.strip()}")

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
