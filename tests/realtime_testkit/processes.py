"""Servers the tests start on the controller, each leading a process group of its own.

A test that starts a server (an app server, Prometheus, a wrapper such as
``timeout``) with ``start_new_session=True`` ends it, and whatever it
started, through its process group: SIGTERM first, SIGKILL for a group that
outlives GRACE seconds. Nothing is left running after a test session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

__all__ = ["stop_process_groups"]


def stop_process_groups(processes, grace: float = 10.0) -> None:
    """End the process groups that the Popen objects in PROCESSES lead: all asked at once, then waited for."""
    processes = list(processes)
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
