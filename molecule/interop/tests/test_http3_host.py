"""The issue's case: requests over HTTP/3 reach an aiohttp backend with the Host the client asked for.

HTTP/3 clients send :authority and no Host, and nginx leaves $http_host empty
for them; a location that sends "Host $http_host" drops the header, and
aiohttp answers 400 "Missing 'Host' header in request." The role's locations
send $realtime_proxy_host (templates/forwarded.conf.j2), so Chromium over
HTTP/3 and the HTTP/3 library client (aioquic) both reach aiohttp with
"Host: localhost:17461", port included. Their cells in test_matrix.py check
the same for every server; this is the case as the issue reported it.
"""

import json

from matrix import Cell


def test_chromium_over_http3_reaches_aiohttp_with_the_host_and_its_port(traffic, origins):
    answers = traffic[0]
    page = answers["chromium"]["http/3"]
    assert page["navigation"] == "h3", page["navigation"]
    got = page["results"]["aiohttp"]
    assert (got["request"].get("status"), got["request"].get("protocol")) == (200, "h3"), got["request"]
    assert got["request"]["record"]["headers"]["host"] == origins["http/3"].split("//")[1]
    assert got["sse"]["hello"]["headers"]["host"] == origins["http/3"].split("//")[1], got["sse"]
    assert [event["id"] for event in got["sse"]["events"]] == ["1", "2", "3"], got["sse"]


def test_the_http3_library_client_reaches_aiohttp_with_the_host_and_its_port(traffic, origins):
    answers = traffic[0]
    got = answers["aioquic"][Cell("aiohttp", "aioquic", "http/3", "request")]
    assert got["status"] == 200, got
    assert json.loads(got["body"])["headers"]["host"] == origins["http/3"].split("//")[1]
    stream = answers["aioquic"][Cell("aiohttp", "aioquic", "http/3", "sse")]
    assert stream["status"] == 200 and stream["headers"]["content-type"].startswith("text/event-stream"), stream
    assert json.loads(stream["events"][0]["data"])["headers"]["host"] == origins["http/3"].split("//")[1]
