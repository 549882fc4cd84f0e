"""Finding a user's parts: an installed plug-in (a real dist-info with entry points on sys.path), a
file given as FILE.py:Class (the example), and what `harness list` and `make_test` make of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import plugins
from harness.catalog import catalog, render
from harness.errors import UsageError
from harness.test import DB_KIND, WORKLOAD_KIND, make_test

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "failover_kv.py"

PLUGIN = '''
from harness.dbs.base import DB
from workloads.register import Register


class Conn:
    def read(self, key): ...
    def write(self, key, value): ...
    def cas(self, key, expected, new): ...
    def close(self): ...


class InstalledDB(DB):
    name = "installed-db"
    description = "a DB from an installed distribution"
    connection = Conn

    def setup(self, node): ...
    def start(self, node): ...
    def teardown(self, node): ...
    def wait_ready(self, timeout): ...
    def log_files(self, node): return []
    def connect(self, node, timeout): return Conn()


class Half(DB):
    name = "half"
    connection = Conn


class MyRegister(Register):
    name = "my-register"
'''

ENTRY_POINTS = """\
[harness.dbs]
installed = my_harness_plugin:InstalledDB
half = my_harness_plugin:Half
gone = my_harness_plugin:NoSuchClass

[harness.workloads]
my-register = my_harness_plugin:MyRegister
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution installed the way pip leaves one: a module and its dist-info on sys.path."""
    (tmp_path / "my_harness_plugin.py").write_text(PLUGIN)
    info = tmp_path / "my_harness_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-harness-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("my_harness_plugin", None)


def test_an_installed_plugin_is_found_by_its_entry_point_name(installed: Path) -> None:
    cls = plugins.load(DB_KIND, "installed")
    assert cls.__name__ == "InstalledDB" and cls.__module__ == "my_harness_plugin"
    assert plugins.load(WORKLOAD_KIND, "my-register").name == "my-register"
    test = make_test(db="installed", workload="my-register", nemesis="partition")
    assert test.db.name == "installed-db" and test.name == "installed-db-my-register"


def test_broken_plugins_are_refused_by_name_and_listed_with_their_reason(installed: Path) -> None:
    with pytest.raises(UsageError, match=r"--db half: Half does not implement connect, log_files"):
        plugins.load(DB_KIND, "half")
    with pytest.raises(UsageError, match=r"--db gone: its plug-in failed to load: AttributeError"):
        plugins.load(DB_KIND, "gone")
    with pytest.raises(UsageError, match=r"--db nosuch: unknown; known: etcd, gone, half, installed, raft"):
        plugins.load(DB_KIND, "nosuch")
    listed = {d["name"]: d for d in catalog()["dbs"]}
    assert listed["installed"]["description"] == "a DB from an installed distribution"
    assert "raft" in listed and "failed to load" in listed["gone"]["error"]
    assert "does not implement" in listed["half"]["error"]
    text = render(catalog())
    assert "installed: a DB from an installed distribution" in text and "gone: cannot load:" in text


def test_harness_list_shows_an_installed_plugin(installed: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-m", "harness.cli", "list", "--db", "installed"], capture_output=True,
                       text=True, timeout=60, env=env, cwd=installed)
    assert r.returncode == 0, r.stderr
    assert "installed: a DB from an installed distribution" in r.stdout


def test_the_example_file_loads_as_a_db_with_its_options_and_abilities(tmp_path: Path) -> None:
    spec = f"{EXAMPLE}:FailoverKV"
    test = make_test(db=spec, db_opts=["dead-after-ms=2500"], nemesis="partition,kill,pause")
    assert test.db.name == "failover-kv" and test.db.opts == {"dead-after-ms": 2500}
    assert test.describe()["db"] == spec
    described = catalog(db=spec)
    assert described["abilities"] == ["Process", "Primaries"]
    assert {"read", "write", "cas"} <= set(described["client_operations"])
    with pytest.raises(UsageError, match=r"nemesis clock needs the clock hook .* nothing in it reads the wall clock"):
        make_test(db=spec, nemesis="clock")
    with pytest.raises(UsageError, match=r"dead-after-ms=5: must be between 100 and 60000"):
        make_test(db=spec, db_opts=["dead-after-ms=5"])
    with pytest.raises(UsageError, match=r"failover_kv.py: it defines no Nope"):
        make_test(db=f"{EXAMPLE}:Nope")


def test_the_example_server_half_is_a_script_that_needs_no_harness(tmp_path: Path) -> None:
    """On a node only the standard library exists: the file must run there without our packages."""
    r = subprocess.run([sys.executable, "-I", str(EXAMPLE), "--help"], capture_output=True, text=True, timeout=30,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "one node of the failover key-value store" in r.stdout
