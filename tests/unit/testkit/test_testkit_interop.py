"""The interop scenario's judges: what a server's record must hold, nginx's access log, the results file."""

import json

from realtime_testkit.interop import CONTRACT, Cell, Results, access_lines, record_problems

GOOD = {"host": "localhost:17411", "x-forwarded-for": "127.0.0.1", "x-real-ip": "127.0.0.1",
        "x-forwarded-proto": "https", "user-agent": "curl/7.88.1"}


def _record(**headers):
    merged = dict(GOOD, **headers)
    return {"server": "go", "path": "/headers", "query": "", "headers": {k: v for k, v in merged.items() if v is not None}}


def test_a_faithful_record_has_no_problems():
    assert record_problems(_record(), host="localhost:17411", scheme="https") == []
    assert record_problems(_record(origin="https://app.example.test"), host="localhost:17411", scheme="https",
                           origin="https://app.example.test") == []


def test_a_lost_host_or_port_is_named():
    assert record_problems(_record(host=None), host="localhost:17461", scheme="https") == [
        "host: None, not 'localhost:17461'"]
    assert record_problems(_record(host="localhost"), host="localhost:17411", scheme="https") == [
        "host: 'localhost', not 'localhost:17411'"]


def test_forwarded_headers_and_origin_are_checked():
    problems = record_problems(_record(**{"x-forwarded-proto": "http", "x-forwarded-for": "10.0.0.1, 127.0.0.1"}),
                               host="localhost:17411", scheme="https", origin="https://localhost:17411")
    assert problems == ["x-forwarded-for: '10.0.0.1, 127.0.0.1', not '127.0.0.1'",
                        "x-forwarded-proto: 'http', not 'https'", "origin: None, not 'https://localhost:17411'"]


def test_hop_by_hop_headers_are_leaks_except_the_upgrade_of_a_websocket():
    leaked = _record(**{"proxy-connection": "keep-alive", "keep-alive": "timeout=5", "connection": "close"})
    assert record_problems(leaked, host="localhost:17411", scheme="https") == [
        "hop-by-hop headers reached the server: connection: close, keep-alive: timeout=5, proxy-connection: keep-alive"]
    handshake = _record(connection="upgrade", upgrade="websocket")
    assert record_problems(handshake, host="localhost:17411", scheme="https", websocket=True) == []
    assert record_problems(_record(), host="localhost:17411", scheme="https", websocket=True) == [
        "a WebSocket handshake without Connection: upgrade and Upgrade: websocket: None, None"]


def test_access_lines_read_the_roles_realtime_format():
    text = ('127.0.0.1 [2026-12-07T19:08:24+00:00] "GET /go/headers?cell=x HTTP/3.0" 200 251 rt=0.001 uct=0.001 '
            'uht=0.001 urt=0.001 ua=127.0.0.1:17405 conn=82 reqs=2 host=localhost\n'
            '127.0.0.1 [2026-12-07T19:15:20+00:00] "GET /idle/sse/?cell=y HTTP/1.1" 200 544 rt=5.002 uct=0.000 '
            'uht=0.035 urt=5.001 ua=127.0.0.1:17403 conn=798 reqs=1 host=localhost\n'
            'not a line of the format\n')
    lines = access_lines(text)
    assert [(line.uri, line.protocol, line.status, line.conn, line.reqs, line.seconds) for line in lines] == [
        ("/go/headers?cell=x", "HTTP/3.0", 200, 82, 2, 0.001), ("/idle/sse/?cell=y", "HTTP/1.1", 200, 798, 1, 5.002)]


def test_results_count_and_order_the_cells(tmp_path):
    results = Results()
    results.add(Cell("go", "curl", "http/2", "SSE", "fail", "host: None", "debian12"))
    results.add(Cell("aiohttp", "curl", "http/2", "SSE"))
    results.add(Cell("*", "*", "http/2", "websocket", "n/a", "RFC 8441", group="n/a"))
    results.write(str(tmp_path / "results.json"), seconds=12.4)
    written = json.loads((tmp_path / "results.json").read_text())
    assert written["counts"] == {"pass": 1, "fail": 1, "n/a": 1} and written["seconds"] == 12
    assert [cell["server"] for cell in written["cells"]] == ["*", "aiohttp", "go"]


def test_the_contract_names_every_path_the_servers_serve():
    assert set(CONTRACT["paths"]) == {"headers", "sse", "ws", "closes"}
    assert set(CONTRACT["sse"]["eols"]) == {"lf", "crlf", "cr"} and CONTRACT["sse"]["defaults"]["eol"] == "lf"
