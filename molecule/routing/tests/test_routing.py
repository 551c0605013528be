"""Each match kind sends a request to the location nginx's rules pick, and
upstream_path rewrites the path the backend sees.

Backend "a" (port 18951) and "b" (18952) report their name and the path they
saw (tests/realtime_testkit/backend.py's mirror), so a response says which
location handled it. The inventory is in molecule.yml.
"""

import asyncio
import http.client
import re

import pytest
from conftest import BACKEND_A, BACKEND_B, mirrored
from realtime_testkit.sse import assert_streamed, read_sse

# request path -> (backend, path the backend saw, X-Rtn-Route or None)
ROUTES = {
    # exact (=) is tried first, and matches only its own path
    "/healthz": (BACKEND_A, "/healthz", None),
    "/healthz/more": (BACKEND_B, "/healthz/more", None),
    # prefix_priority (^~) beats the regex that also matches; upstream_path rewrites
    "/static/app.json": (BACKEND_A, "/assets/app.json", None),
    "/static/css/site.css": (BACKEND_A, "/assets/css/site.css", None),
    # a plain prefix loses to a matching regex
    "/api/users.json": (BACKEND_A, "/api/users.json", "regex"),
    "/api/users": (BACKEND_B, "/v1/users", None),
    # regex (~) is case-sensitive, regex_nocase (~*) is not
    "/data.json": (BACKEND_A, "/data.json", "regex"),
    "/data.Json": (BACKEND_B, "/data.Json", "regex_nocase"),
    "/DATA.JSON": (BACKEND_B, "/DATA.JSON", "regex_nocase"),
    # everything else goes to the prefix /
    "/other/page": (BACKEND_B, "/other/page", None),
}


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_each_match_kind_routes_to_its_location(base, path):
    backend, seen_path, route = ROUTES[path]
    answer, seen = mirrored(base, path)
    assert seen["backend"].endswith(backend), (path, seen["backend"])
    assert seen["path"] == seen_path
    assert answer.headers.get("x-rtn-route") == route, answer.headers


def test_site_and_http_headers_reach_a_location_with_its_own(base):
    answer, unused = mirrored(base, "/data.json")
    assert answer.headers.get("x-rtn-route") == "regex"
    assert answer.headers.get("x-rtn-site") == "site level", answer.headers
    assert answer.headers.get("x-rtn-http") == "http level", answer.headers
    # A $variable in a directive's argument is expanded by nginx.
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers.get("x-rtn-request-id", "")), answer.headers


def test_site_and_http_headers_reach_a_plain_location(base):
    answer, unused = mirrored(base, "/other/page")
    assert answer.headers.get("x-rtn-site") == "site level", answer.headers
    assert answer.headers.get("x-rtn-http") == "http level", answer.headers


def test_site_header_reaches_an_sse_stream_through_upstream_path(base):
    result = asyncio.run(read_sse("http://%s/events/stream?count=3&interval=0.2" % base, count=3, timeout=10))
    assert result.status == 200, (result.status, result.error, result.body[:300])
    assert_streamed(result, expected=3)
    # The sse type's own add_header would hide the site's without the role repeating it.
    assert result.headers.get("x-accel-buffering") == "no", result.headers
    assert result.headers.get("x-rtn-site") == "site level", result.headers
    assert result.headers.get("x-rtn-http") == "http level", result.headers


def test_client_max_body_size_from_http_directives_applies(base):
    """2m from realtime_proxy_http_directives: nginx refuses a larger body from its Content-Length alone."""
    host_, port = base.split(":")
    for size, status in ((3 * 1024 * 1024, 413), (1024, 200)):
        conn = http.client.HTTPConnection(host_, int(port), timeout=5)
        try:
            conn.putrequest("POST", "/upload")
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            if status == 200:
                conn.send(b"x" * size)
            assert conn.getresponse().status == status, size
        finally:
            conn.close()
