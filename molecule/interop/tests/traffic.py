"""The matrix's traffic: every cell's requests, run at once, and what nginx logged of them.

curl, the HTTP/3 library client (aioquic, one QUIC connection for all its
requests), the Node clients, python-socketio and Chromium's pages run side by
side; the ``traffic`` fixture (imported by conftest.py) returns their answers
by client and both hosts' access logs, for test_matrix.py to judge each cell.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from matrix import CELLS, ORIGIN, SERVERS, page_tag
from realtime_testkit.collection import REPO_ROOT
from realtime_testkit.hosts import log_offset, log_since
from realtime_testkit.interop import HOP_BY_HOP_SENT, access_lines, curl, curl_answer, node_clients, socketio_session

FOREIGN_ORIGIN = "https://app.example.test"  # no location of the scenario checks Origin: it must pass as sent
ACCESS_LOG = "/var/log/nginx/realtime_proxy-interop.access.log"


def _run_curl(cells, origins, cafile):
    processes = {}
    for cell in cells:
        path = "/%s/%s?cell=%s" % (cell.server, "headers" if cell.check == "request" else "sse/", cell.tag)
        headers = dict(HOP_BY_HOP_SENT if cell.target == "http/1.1" else {}, Origin=FOREIGN_ORIGIN)
        processes[cell] = curl(origins[ORIGIN[cell.target]] + path, http2=cell.target == "http/2", cafile=cafile,
                               headers=headers)
    return {cell: curl_answer(process) for cell, process in processes.items()}


def _run_h3(cells, origins, cafile, tools):
    port = int(origins["http/3"].rsplit(":", 1)[1])
    paths = ["/%s/%s?cell=%s" % (cell.server, "headers" if cell.check == "request" else "sse/", cell.tag)
             for cell in cells]
    # 4 events: the hello, then the 3 numbered ones.
    argv = [tools.python, "-m", "realtime_testkit.h3", "--port", str(port), "--count", "4", "--cafile", cafile,
            "--header", "Origin: " + FOREIGN_ORIGIN]
    for path in paths:
        argv += ["--path", path]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, PYTHONPATH=str(REPO_ROOT / "tests")))
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(zip(cells, json.loads(done.stdout)))


def _run_node(cells, origins, cafile, tools):
    jobs = []
    for cell in cells:
        origin = origins[ORIGIN[cell.target]]
        if cell.client == "node eventsource":
            jobs.append(dict(id=cell.tag, kind="eventsource", count=3,
                             url="%s/%s/sse/?count=3&interval=50&cell=%s" % (origin, cell.server, cell.tag)))
        elif cell.client == "node ws":
            jobs.append(dict(id=cell.tag, kind="websocket", origin=origin, protocols=["interop.v1"],
                             url="%s/%s/ws/?cell=%s" % (origin.replace("http", "ws", 1), cell.server, cell.tag)))
        else:
            jobs.append(dict(id=cell.tag, kind="socketio", origin=origin, cell=cell.tag, url=origin))
    answers = node_clients(tools, jobs, cafile=cafile)
    return {cell: answers[cell.tag] for cell in cells}


def _run_socketio(cells, origins, cafile):
    return {cell: socketio_session(origins[ORIGIN[cell.target]] + "/", origin=origins[ORIGIN[cell.target]],
                                   cell=cell.tag, cafile=cafile) for cell in cells}


def _run_browser(browser, origins):
    pages = {}
    context = browser.new_context()
    try:
        page = context.new_page()
        for target in ("http/1.1", "http/2", "http/3"):
            page.goto("%s/pages/index.html?tag=%s&servers=%s&socketio=1"
                      % (origins[target], page_tag(target), ",".join(SERVERS)))
            page.wait_for_function("window.interop && window.interop.done", timeout=40000)
            pages[target] = page.evaluate("window.interop")
    finally:
        context.close()
    return pages


@pytest.fixture(scope="session")
def access_logs(debian12, debian13):
    """A function that reads what both hosts' nginx logged since the session started: {host name: [AccessLine]}."""
    hosts = {"debian12": debian12, "debian13": debian13}
    offsets = {name: log_offset(host, ACCESS_LOG) for name, host in hosts.items()}

    def read():
        time.sleep(1)  # nginx logs a request when it ends; the last sockets closed just now
        return {name: access_lines(log_since(host, offsets[name], ACCESS_LOG)) for name, host in hosts.items()}
    return read


@pytest.fixture(scope="session")
def traffic(servers, origins, cafile, tools, browser, access_logs):  # pylint: disable=unused-argument
    """Every cell's answers, by client, and what nginx logged on each host afterwards."""
    by_client = {}
    for cell in CELLS:
        by_client.setdefault(cell.client, []).append(cell)
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = {
            "curl": pool.submit(_run_curl, by_client["curl"], origins, cafile),
            "aioquic": pool.submit(_run_h3, by_client["aioquic"], origins, cafile, tools),
            "node": pool.submit(_run_node, by_client["node eventsource"] + by_client["node ws"]
                                + by_client["node socket.io-client"], origins, cafile, tools),
            "python-socketio": pool.submit(_run_socketio, by_client["python-socketio"], origins, cafile),
        }
        answers = {"chromium": _run_browser(browser, origins)}  # Playwright's sync API stays on this thread
        for name, job in jobs.items():
            answers[name] = job.result()
    return answers, access_logs()
