"""Workloads: what clients do to a system and how the history is judged, one module each.

`BUILTIN` maps the names `harness run --workload` accepts to the bundles (imported lazily);
plug-ins add theirs through the `harness.workloads` entry point group.
"""

BUILTIN = {
    "register": "workloads.register:Register",
    "list-append": "workloads.list_append:ListAppend",
    "rw-register": "workloads.rw_register:RwRegister",
    "set": "workloads.set:Set",
    "counter": "workloads.counter:Counter",
    "bank": "workloads.bank:Bank",
}
