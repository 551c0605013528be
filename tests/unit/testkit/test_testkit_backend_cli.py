"""Process-level behaviour: request log, SIGTERM with open streams, and the demo CLI."""

import socket
import subprocess
import sys
import time

import httpx


def _cli(base, env, timeout=30):
    return subprocess.run([sys.executable, "-m", "realtime_testkit", "show", "--base", base], check=False,
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_one_log_line_per_request(backend):
    httpx.get(backend.base + "/logged/once", trust_env=False)
    deadline = time.monotonic() + 3
    while "/logged/once" not in backend.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [line for line in backend.log().splitlines() if "/logged/once" in line]
    assert len(lines) == 1 and " GET " in lines[0] and " 200 " in lines[0]


def test_sigterm_with_open_streams_exits_cleanly(start_backend):
    b = start_backend("term")
    sse = socket.create_connection(("127.0.0.1", b.port), timeout=3)
    sse.sendall(b"GET /sse/x?count=0&interval=0.1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"text/event-stream" in sse.recv(4096)
    started = time.monotonic()
    rc = b.stop(timeout=8)
    took = time.monotonic() - started
    sse.close()
    assert rc == 0, b.log()
    assert took < 5, took


def test_cli_show_passes_against_backend(backend, testkit_env):
    out = _cli(backend.base, testkit_env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "status 101" in out.stdout
    assert out.stdout.count("delivered after") == 5
    assert "round-trip" in out.stdout and out.stdout.rstrip().endswith("OK")


def test_cli_show_fails_when_stream_is_not_sse(backend, testkit_env):
    # Under /nope the backend's JSON mirror answers: wrong content type, no 101.
    out = _cli(backend.base + "/nope", testkit_env)
    assert out.returncode != 0
    assert "not an event stream" in out.stdout
    assert "expected 101" in out.stdout
