"""`harness serve`: browse a results folder, night after night.

An index of every run with filters (test, system, workload, nemesis, verdict, date), a trend page
per test, the diff of two runs, and the runs' own files (reports are self-contained, so serving
them as they are is enough). Pages are generated per request, so a run that just finished shows
up without a restart; `--static OUT` writes the same pages as files for CI artifacts.

catalog: what each run folder says, read defensively; pages and charts: the HTML; server: the
hardened HTTP side; static: the pages written to a folder.
"""

from harness.serve.server import make_server, serve

__all__ = ["make_server", "serve"]
