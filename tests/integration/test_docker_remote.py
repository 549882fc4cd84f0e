"""DockerRemote runs commands through a standing shell per node, and answers as a fresh exec would."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator

import pytest

from harness.containers import DockerCluster
from harness.remote.base import RemoteError
from harness.remote.docker import DockerRemote

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def remote(docker_client, node_image, free_subnet) -> Iterator[DockerRemote]:
    cluster = DockerCluster(docker_client, f"test-remote-{secrets.token_hex(4)}", node_image,
                            free_subnet("10.233"), 1)
    try:
        yield cluster.create()
    finally:
        assert cluster.remove() == []


def test_answers_as_a_fresh_exec_does(remote: DockerRemote) -> None:
    argv = ["sh", "-c", "printf 'out\\nno newline'; echo err >&2; exit 3"]
    through_shell = remote.exec("n1", argv)
    fresh = remote._fresh_exec("n1", argv, 30)
    assert through_shell == fresh
    assert (through_shell.exit_code, through_shell.stdout, through_shell.stderr) == (3, "out\nno newline", "err\n")
    assert "n1" in remote._shells  # it did go through the shell
    # Quoting survives: arguments with spaces, quotes and $ reach the command unexpanded.
    odd = ["printf", "%s|", "a b", "it's", "$HOME", "\"q\""]
    assert remote.exec("n1", odd).stdout == "a b|it's|$HOME|\"q\"|"


def test_is_faster_than_a_fresh_exec(remote: DockerRemote) -> None:
    """Not a timed assert: prints the figures (the benchmark is the point of the standing shell)."""
    def best(run) -> float:
        times = []
        for _ in range(5):
            t = time.monotonic()
            assert run().ok
            times.append(time.monotonic() - t)
        return min(times)

    shell = best(lambda: remote.exec("n1", ["true"]))
    fresh = best(lambda: remote._fresh_exec("n1", ["true"], 30))
    print(f"exec of `true`, best of 5: standing shell {shell * 1000:.1f} ms, fresh exec {fresh * 1000:.1f} ms")


def test_concurrent_commands_all_answer(remote: DockerRemote) -> None:
    """A second thread finds the shell busy and takes a fresh exec; nobody gets another's output."""
    answers: dict[int, str] = {}

    def one(i: int) -> None:
        answers[i] = remote.exec("n1", ["sh", "-c", f"sleep 0.2; echo {i}"]).stdout.strip()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == {i: str(i) for i in range(6)}


def test_a_hung_command_is_killed_and_the_shell_survives(remote: DockerRemote) -> None:
    r = remote.exec("n1", ["sleep", "30"], timeout=1)
    assert r.exit_code == 137  # SIGKILL from coreutils timeout, as with a fresh exec
    assert remote.exec("n1", ["echo", "after"]).stdout == "after\n"


def test_a_lost_shell_is_an_error_once_then_replaced(remote: DockerRemote) -> None:
    remote.exec("n1", ["true"])
    # Kill the standing shell itself (the `sh` reading commands on stdin) from a fresh exec.
    shells = remote._fresh_exec("n1", ["sh", "-c", "ps -o pid=,args= -C sh | awk '$2==\"sh\" && NF==2 {print $1}'"],
                                30).stdout.split()
    assert shells
    remote._fresh_exec("n1", ["kill", "-9", *shells], 30)
    with pytest.raises(RemoteError):
        remote.exec("n1", ["echo", "lost"])
    assert remote.exec("n1", ["echo", "again"]).stdout == "again\n"


def test_spawned_commands_outlive_the_call_and_belong_to_init(remote: DockerRemote) -> None:
    remote.spawn("n1", "echo $$ > /tmp/spawned.pid; exec sleep 60")
    deadline = time.monotonic() + 10
    pid = ""
    while not pid and time.monotonic() < deadline:
        pid = remote.exec("n1", ["sh", "-c", "cat /tmp/spawned.pid 2>/dev/null"]).stdout.strip()
    assert pid
    ppid = remote.exec("n1", ["ps", "-o", "ppid=", "-p", pid]).stdout.strip()
    assert ppid == "1", "a spawned process must not be the standing shell's child (it would not be reaped)"
    remote.exec("n1", ["kill", "-9", pid])
