"""`Remote` over SSH (paramiko), for clusters of real hosts.

One persistent connection per host, opened on first use. Commands run through the remote
shell wrapped in coreutils `timeout`, exactly as over Docker, so a hung command is killed on
the host rather than leaving the harness waiting; files move with SFTP.
"""

from __future__ import annotations

import stat
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import paramiko

from harness.remote.base import ExecResult, RemoteError, shell


@dataclass(frozen=True)
class Host:
    address: str
    port: int = 22
    user: str = "root"
    key_file: str | None = None
    strict_host_keys: bool = True  # the host must already be in known_hosts; False accepts any key (insecure)
    known_hosts: str | None = None  # the known_hosts file to check against (default: the user's ~/.ssh/known_hosts)


class SSHRemote:
    def __init__(self, hosts: dict[str, Host], connect_timeout: float = 10.0) -> None:
        self.hosts = hosts
        self.connect_timeout = connect_timeout
        self._clients: dict[str, paramiko.SSHClient] = {}
        self._lock = threading.Lock()

    def _client(self, node: str) -> paramiko.SSHClient:
        with self._lock:
            client = self._clients.get(node)
            transport = client.get_transport() if client else None
            if client is not None and transport is not None and transport.is_active():
                return client
            try:
                host = self.hosts[node]
            except KeyError:
                raise RemoteError(f"no host for node {node}") from None
            client = paramiko.SSHClient()
            client.load_system_host_keys(host.known_hosts)
            if not host.strict_host_keys:
                client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            try:
                client.connect(
                    host.address, port=host.port, username=host.user, key_filename=host.key_file,
                    timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                    auth_timeout=self.connect_timeout, allow_agent=host.key_file is None,
                    look_for_keys=host.key_file is None,
                )
            except (paramiko.SSHException, OSError) as e:
                raise RemoteError(f"{node}: ssh to {host.user}@{host.address}:{host.port} failed: {e}") from e
            self._clients[node] = client
            return client

    def exec(self, node: str, argv: list[str], timeout: float = 30.0) -> ExecResult:
        # `; exit $?` keeps a shell above `timeout`, which SIGKILLs its own process group on expiry:
        # the shell then reports 137, where sshd would report a signal paramiko shows as -1.
        command = shell(["timeout", "-s", "KILL", f"{timeout:g}", *argv]) + "; exit $?"
        try:
            _, stdout, stderr = self._client(node).exec_command(command, timeout=timeout + 10)
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")
            code = stdout.channel.recv_exit_status()
        except (paramiko.SSHException, OSError) as e:
            raise RemoteError(f"{node}: exec {argv[0]} failed: {e}") from e
        return ExecResult(code, out, err)

    def spawn(self, node: str, shell_command: str) -> None:
        # setsid + nohup detach it from the SSH session, which closes as soon as this returns.
        wrapped = shell(["setsid", "nohup", "sh", "-c", shell_command])
        try:
            channel = self._client(node).get_transport().open_session()
            channel.exec_command(f"{wrapped} > /dev/null 2>&1 < /dev/null &")
            channel.recv_exit_status()
            channel.close()
        except (paramiko.SSHException, OSError) as e:
            raise RemoteError(f"{node}: spawn failed: {e}") from e

    def put(self, node: str, local: Path, remote_dir: str) -> None:
        try:
            with self._client(node).open_sftp() as sftp:
                target = PurePosixPath(remote_dir) / local.name
                if local.is_dir():
                    for path in sorted(local.rglob("*")):
                        dest = str(target / path.relative_to(local).as_posix())
                        if path.is_dir():
                            _mkdir(sftp, dest)
                        else:
                            _mkdir(sftp, str(PurePosixPath(dest).parent))
                            sftp.put(str(path), dest)
                else:
                    sftp.put(str(local), str(target))
        except (paramiko.SSHException, OSError) as e:
            raise RemoteError(f"{node}: copy to {remote_dir} failed: {e}") from e

    def get(self, node: str, remote: str, local_dir: Path) -> None:
        local_dir.mkdir(parents=True, exist_ok=True)
        try:
            with self._client(node).open_sftp() as sftp:
                _fetch(sftp, PurePosixPath(remote), local_dir)
        except FileNotFoundError:
            raise RemoteError(f"{node}: {remote} does not exist") from None
        except (paramiko.SSHException, OSError) as e:
            raise RemoteError(f"{node}: copy of {remote} failed: {e}") from e

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _mkdir(sftp: paramiko.SFTPClient, path: str) -> None:
    try:
        sftp.stat(path)
    except FileNotFoundError:
        _mkdir(sftp, str(PurePosixPath(path).parent))
        sftp.mkdir(path)


def _fetch(sftp: paramiko.SFTPClient, remote: PurePosixPath, local_dir: Path) -> None:
    if stat.S_ISDIR(sftp.stat(str(remote)).st_mode or 0):
        for entry in sftp.listdir(str(remote)):
            _fetch(sftp, remote / entry, local_dir / remote.name)
    else:
        local_dir.mkdir(parents=True, exist_ok=True)
        sftp.get(str(remote), str(local_dir / remote.name))
