"""Shipped into the node image: keeps Python usable under libfaketime (clock faults).

With `FAKETIME_DONT_FAKE_MONOTONIC=1` (needed, or timed waits on locks and queues hang),
libfaketime 0.9.10 makes Python 3.11's `time.sleep()` fail with EINVAL (libfaketime issues
#390 and #426). This replaces `time.sleep` with a `select()`-based wait on the real monotonic
clock, and only in processes started with libfaketime preloaded; everything else is untouched.
"""

import os

if "faketime" in os.environ.get("LD_PRELOAD", ""):
    import select
    import time

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            select.select([], [], [], remaining)

    time.sleep = _sleep
