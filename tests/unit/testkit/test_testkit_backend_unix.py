"""backend.py --unix: the test backend on a Unix socket (for upstream servers written unix:/path)."""

import asyncio
import json
import os
import pathlib
import signal
import socket
import stat
import subprocess
import sys
import time

import httpx
import pytest
from websockets.asyncio.client import unix_connect

BACKEND = pathlib.Path(__file__).resolve().parents[2] / "realtime_testkit" / "backend.py"


@pytest.fixture(name="unix_backend")
def unix_backend_fixture(tmp_path):
    path = str(tmp_path / "backend.sock")
    # A stale socket file, as a killed run leaves it: it must be replaced.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()
    log = open(tmp_path / "backend.log", "wb")
    proc = subprocess.Popen([os.environ.get("REALTIME_TESTKIT_BACKEND_PYTHON", sys.executable), str(BACKEND),
                             "--unix", path, "--name", "sock"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(path)
            break
        except OSError:
            time.sleep(0.05)
        finally:
            probe.close()
    yield path
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(8) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()


def test_unix_socket_is_open_to_every_local_user(unix_backend):
    mode = os.stat(unix_backend).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o666


def test_unix_socket_serves_the_mirror_with_the_backend_name(unix_backend):
    with httpx.Client(transport=httpx.HTTPTransport(uds=unix_backend), trust_env=False, timeout=5) as client:
        answer = client.get("http://backend/api/info")
    assert answer.status_code == 200
    assert answer.json()["backend"] == "sock" and answer.json()["path"] == "/api/info"


def test_unix_socket_streams_sse(unix_backend):
    events = []
    with httpx.Client(transport=httpx.HTTPTransport(uds=unix_backend), trust_env=False, timeout=5) as client:
        with client.stream("GET", "http://backend/sse/x?count=3&interval=0.05") as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            for line in answer.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[len("data: "):]))
    assert [event["seq"] for event in events] == [1, 2, 3]
    assert {event["backend"] for event in events} == {"sock"}


def test_unix_socket_echoes_websocket(unix_backend):
    async def echo():
        async with unix_connect(unix_backend, "ws://backend/ws/", open_timeout=5, proxy=None) as ws:
            await ws.send("over a unix socket")
            return await asyncio.wait_for(ws.recv(), 5)

    assert asyncio.run(echo()) == "over a unix socket"
