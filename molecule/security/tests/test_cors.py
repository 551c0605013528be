"""CORS on SSE locations: an allowlist, reflected with Vary: Origin; preflights answered by nginx.

/sse/cors/ allows https://app.example.test and https://other.example.test with
credentials, methods GET, POST, OPTIONS, headers Last-Event-ID, Cache-Control,
X-Realtime-Test and max-age 1234. /sse/ has no cors at all.
"""

import asyncio

import httpx
import pytest
from realtime_testkit.sse import assert_streamed, read_sse

ALLOWED = ["https://app.example.test", "https://other.example.test"]
CORS_HEADERS = ("access-control-allow-origin", "access-control-allow-credentials",
                "access-control-allow-methods", "access-control-allow-headers",
                "access-control-max-age", "access-control-expose-headers")


def stream(base, path, origin):
    return asyncio.run(read_sse("http://%s%s?count=3&interval=0.2" % (base, path), count=3,
                                timeout=10, headers={"Origin": origin} if origin else None))


def preflight(base, path, origin):
    with httpx.Client(trust_env=False, timeout=5) as client:
        return client.request("OPTIONS", "http://%s%s" % (base, path), headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "last-event-id",
        })


def vary(headers):
    return [v.strip().lower() for v in headers.get("vary", "").split(",")]


@pytest.mark.parametrize("origin", ["https://evil.example.test", "https://app.example.test.evil.example", None])
def test_disallowed_origin_gets_no_cors_headers(base, origin):
    result = stream(base, "/sse/cors/stream", origin)
    assert_streamed(result, expected=3)  # the stream itself is served
    assert "access-control-allow-origin" not in result.headers, result.headers
    assert "access-control-allow-credentials" not in result.headers, result.headers


@pytest.mark.parametrize("origin", ALLOWED)
def test_allowed_origin_is_reflected_with_vary(base, origin):
    result = stream(base, "/sse/cors/stream", origin)
    assert_streamed(result, expected=3)
    assert result.headers.get("access-control-allow-origin") == origin, result.headers
    assert result.headers.get("access-control-allow-credentials") == "true", result.headers
    assert "origin" in vary(result.headers), result.headers


def test_preflight_is_answered_by_nginx(base, seen, marker):
    origin = ALLOWED[0]
    response = preflight(base, "/sse/cors/stream?%s" % marker, origin)
    assert response.status_code == 204, (response.status_code, response.text[:300])
    h = {k.lower(): v for k, v in response.headers.items()}
    assert h.get("access-control-allow-origin") == origin
    assert h.get("access-control-allow-credentials") == "true"
    assert [m.strip() for m in h.get("access-control-allow-methods", "").split(",")] == ["GET", "POST", "OPTIONS"]
    assert [m.strip() for m in h.get("access-control-allow-headers", "").split(",")] == [
        "Last-Event-ID", "Cache-Control", "X-Realtime-Test"]
    assert h.get("access-control-max-age") == "1234"
    assert "origin" in vary(h)
    assert seen(marker) == [], "the preflight was forwarded to the backend"


def test_preflight_from_disallowed_origin_allows_nothing(base):
    response = preflight(base, "/sse/cors/stream", "https://evil.example.test")
    h = {k.lower(): v for k, v in response.headers.items()}
    assert "access-control-allow-origin" not in h, h
    assert "access-control-allow-credentials" not in h, h


def test_location_without_cors_sends_no_cors_headers(base):
    result = stream(base, "/sse/plain", ALLOWED[0])
    assert_streamed(result, expected=3)
    present = [name for name in CORS_HEADERS if name in result.headers]
    assert present == [], result.headers
    response = preflight(base, "/sse/plain", ALLOWED[0])
    h = {k.lower(): v for k, v in response.headers.items()}
    assert [name for name in CORS_HEADERS if name in h] == [], h
