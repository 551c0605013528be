"""Starts tests/realtime_testkit/backend.py (or socketio_backend.py) as a real subprocess on loopback.

A subprocess (not an in-process app) so the tests exercise the exact file that
is copied into the Debian containers; set REALTIME_TESTKIT_BACKEND_PYTHON=/usr/bin/python3
to run it under Debian's python3-aiohttp.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parents[2]
BACKEND = TESTS_DIR / "realtime_testkit" / "backend.py"
SOCKETIO_BACKEND = TESTS_DIR / "realtime_testkit" / "socketio_backend.py"
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

HOST = "127.0.0.1"  # loopback only, never any other address


def free_port(exclude=()):
    """A loopback port nothing listens on now, chosen by the kernel: never one of the scenarios' fixed
    ports, and another checkout's tests get others."""
    while True:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in exclude:
            return port


class Backend:
    def __init__(self, port, name, log_path, script=BACKEND, extra_args=()):
        self.port, self.name, self.log_path = port, name, log_path
        self.base = "http://%s:%d" % (HOST, port)
        self.ws_base = "ws://%s:%d" % (HOST, port)
        self.python = os.environ.get("REALTIME_TESTKIT_BACKEND_PYTHON", sys.executable)
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [self.python, str(script), "--host", HOST, "--port", str(port), "--name", name, *extra_args],
            stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready(10.0)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("backend exited rc=%s:\n%s" % (self.proc.returncode, self.log()))
            try:
                socket.create_connection((HOST, self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("backend not listening after %ss:\n%s" % (timeout, self.log()))

    def log(self):
        self._log.flush()
        return Path(self.log_path).read_text(errors="replace")

    def stop(self, timeout=5.0):
        """SIGTERM, then SIGKILL if it does not leave in time; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


@pytest.fixture(name="free_port")
def free_port_fixture():
    """The port finder itself, for tests that need a port nobody listens on."""
    return free_port


@pytest.fixture
def testkit_env():
    """Environment for subprocesses that import realtime_testkit."""
    return dict(os.environ, PYTHONPATH=str(TESTS_DIR))


@pytest.fixture(scope="session")
def backend(tmp_path_factory):
    port = free_port()
    b = Backend(port, "unit", tmp_path_factory.mktemp("backend") / "backend.log")
    yield b
    b.stop()


@pytest.fixture
def start_backend(tmp_path, backend):
    """Factory for extra, short-lived backends (e.g. the SIGTERM test)."""
    started = []

    def start(name="extra", extra_args=()):
        b = Backend(free_port(exclude={backend.port}), name, tmp_path / ("%s.log" % name), extra_args=extra_args)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


@pytest.fixture
def socketio_backend(tmp_path):
    """socketio_backend.py on a free port. A short pingInterval (2 s): a client
    that leaves while polling waits for its last poll."""
    b = Backend(free_port(), "sio-unit", tmp_path / "socketio.log", script=SOCKETIO_BACKEND,
                extra_args=("--ping-interval", "2"))
    yield b
    b.stop()
