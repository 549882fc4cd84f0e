"""The two ways a run can go wrong that are not a verdict about the system under test.

Both carry a message meant for a person: one line, naming what is wrong. The CLI prints it and
exits 254 (the user asked for something impossible) or 255 (the harness or its environment
failed); the traceback goes to harness.log, never to the terminal.
"""


class HarnessError(Exception):
    """The harness or its environment failed (exit 255): Docker down, image build failed, ..."""


class UsageError(HarnessError):
    """The user's arguments cannot be satisfied (exit 254): unknown nemesis, bad value, ..."""
