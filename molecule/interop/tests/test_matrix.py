"""Every server × client × HTTP version of the matrix (matrix.py), through the role's locations.

All cells' traffic runs at once (traffic.py). Then each cell asserts
on what its server recorded of the request (realtime_testkit.interop.
record_problems: Host with its port as asked, X-Forwarded-For/-Proto, no
hop-by-hop header, the Origin as sent), on what the client got (status,
events, echo, and its own view of the protocol where it has one), and on the
protocol nginx logged for the cell's requests.
"""

from __future__ import annotations

import json

import pytest
from matrix import CELLS, CHECK_NAMES, HOST, ORIGIN, PROTOCOL
from realtime_testkit.interop import Cell, record_problems
from traffic import FOREIGN_ORIGIN
CHROMIUM_PROTOCOL = {"http/1.1": "http/1.1", "http/2": "h2", "http/3": "h3"}
CURL_VERSION = {"http/1.1": "1.1", "http/2": "2"}


def _answer(cell, answers):
    """(the server's record, what is wrong on the client's side) for CELL."""
    if cell.client == "chromium":
        page = answers["chromium"][cell.target]
        got = page["results"].get("socketio" if cell.check == "socketio" else cell.server, {})
        got = got if cell.check == "socketio" else got.get(cell.check, {})
        problems = [] if page["navigation"] == CHROMIUM_PROTOCOL[cell.target] else [
            "the page came over %s" % page["navigation"]]
        if cell.check == "request":
            record = got.get("record")
            if got.get("status") != 200 or got.get("protocol") != CHROMIUM_PROTOCOL[cell.target]:
                problems.append("fetch: status %s over %s" % (got.get("status"), got.get("protocol")))
        elif cell.check == "sse":
            record = got.get("hello")
            if [event["id"] for event in got.get("events", [])] != ["1", "2", "3"]:
                problems.append("EventSource: events %s, timed out %s" % (got.get("events"), got.get("timedOut")))
        elif cell.check == "websocket":
            record = got.get("hello")
            if got.get("echo") != "echo from %s" % cell.server or got.get("close", {}).get("code") != 1000:
                problems.append("WebSocket: echo %r, close %r" % (got.get("echo"), got.get("close")))
            if got.get("subprotocol") != "interop.v1":
                problems.append("WebSocket: subprotocol %r" % got.get("subprotocol"))
        else:
            record = got.get("hello")
            problems += _socketio_problems(got)
            if set(got.get("polling") or ["?"]) != {CHROMIUM_PROTOCOL[cell.target]}:
                problems.append("polling requests over %s" % got.get("polling"))
        return record, problems
    got = answers["node" if cell.client.startswith("node") else cell.client][cell]
    if cell.client == "curl":
        if got.status != 200 or got.http_version != CURL_VERSION[cell.target]:
            return None, ["curl: status %s over HTTP/%s: %s" % (got.status, got.http_version, got.error or got.body[:200])]
        if cell.check == "request":
            return json.loads(got.body), []
        return got.hello, [] if [event.id for event in got.events] == ["1", "2", "3"] else [
            "curl: events %s" % [event.id for event in got.events]]
    if cell.client == "aioquic":
        if got["status"] != 200:
            return None, ["HTTP/3: status %s %s" % (got["status"], got.get("body", "")[:200])]
        if cell.check == "request":
            return json.loads(got["body"]), []
        events = [event for event in got["events"] if event["event"] != "hello"]
        hello = [json.loads(event["data"]) for event in got["events"] if event["event"] == "hello"]
        return (hello or [None])[0], [] if [event["id"] for event in events] == ["1", "2", "3"] else [
            "HTTP/3: events %s" % [event["id"] for event in got["events"]]]
    if cell.client == "node eventsource":
        record = got["hellos"][0]["record"] if got.get("hellos") else None
        return record, [] if [event["id"] for event in got["events"]] == ["1", "2", "3"] else [
            "eventsource: %s" % got]
    if cell.client == "node ws":
        ok = got.get("echoes") == ["hello"] and got.get("subprotocol") == "interop.v1" and got["close"]["code"] == 1000
        return got.get("hello"), [] if ok else ["ws: %s" % got]
    return got.get("hello"), _socketio_problems(got)


def _socketio_problems(got):
    if got.get("error") or got.get("timedOut") or (got.get("answer") or {}).get("transport") != "websocket":
        return ["Socket.IO: %s" % {key: got.get(key) for key in ("error", "timedOut", "answer")}]
    return []


def _origin_sent(cell, origins):
    if cell.client in ("curl", "aioquic"):
        return FOREIGN_ORIGIN
    if cell.check == "websocket" or cell.client in ("node ws", "python-socketio", "node socket.io-client"):
        return origins[ORIGIN[cell.target]]
    return None  # a browser's same-origin fetch, EventSource and polling GET send none; nor does eventsource


def _log_problems(cell, logs):
    lines = [line for line in logs[HOST[cell.target]] if "cell=%s" % cell.tag in line.uri]
    if not lines:
        return ["nginx logged no request of the cell"]
    problems = []
    for line in lines:
        # WebSocket is HTTP/1.1 everywhere (the Socket.IO upgrade too): see matrix.NOT_APPLICABLE.
        websocket = cell.check == "websocket" or "transport=websocket" in line.uri
        want = "HTTP/1.1" if websocket else PROTOCOL[cell.target]
        if line.protocol != want or line.status not in (101, 200):
            problems.append("nginx logged %s %s %s" % (line.uri, line.protocol, line.status))
    return problems


@pytest.mark.parametrize("cell", CELLS, ids=[cell.id for cell in CELLS])
def test_cell(cell, traffic, origins, results):
    answers, logs = traffic
    origin = origins[ORIGIN[cell.target]]
    record, problems = _answer(cell, answers)
    if record is None:
        problems.append("the server recorded nothing")
    else:
        problems += record_problems(record, host=origin.split("//", 1)[1], scheme=origin.split(":", 1)[0],
                                    websocket=cell.check == "websocket", origin=_origin_sent(cell, origins))
    problems += _log_problems(cell, logs)
    client, version = cell.client, cell.target
    if cell.client == "chromium" and cell.check == "websocket" and cell.target != "http/1.1":
        # The socket of a page over HTTP/2 or HTTP/3 is HTTP/1.1 over TLS (matrix.NOT_APPLICABLE).
        client, version = "chromium (%s page)" % PROTOCOL[cell.target].replace(".0", ""), "http/1.1 tls"
    results.add(Cell(cell.server, client, version, _check_name(cell), "fail" if problems else "pass",
                     "; ".join(problems)[:500], HOST[cell.target]))
    assert not problems, problems


def _check_name(cell):
    return CHECK_NAMES[cell.check]
