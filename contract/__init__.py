"""What the parts of a test agree on, importing nothing of each other.

`client`: the operation, its completion and the two kinds of error, shared by workloads (which
ask for operations) and systems under test (whose clients perform them). `options`: how a part
(a DB, a workload) declares the settings a user may give it on the command line.
"""
