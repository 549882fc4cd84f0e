"""Systems under test, one module each. `BUILTIN` maps the names `harness run --db` accepts to
their classes (imported lazily); plug-ins add theirs through the `harness.dbs` entry point group."""

BUILTIN = {
    "raft": "harness.dbs.raft:RaftDB",
    "etcd": "harness.dbs.etcd:EtcdDB",
}
