"""The demo's pages in headless Chromium, through the nginx the demo's inventory configured.

The page on the demo's origin gets every SSE event within 100 ms of the
backend sending it (the page measures: its clock minus the event's send stamp,
one machine, one clock) and its WebSocket echoes; the page on another origin is
refused both: the stream by CORS, the socket by nginx's Origin allowlist.

Screenshots go to build/demo/ (REALTIME_DEMO_SCREENSHOTS names another folder;
`docs` refreshes the README's docs/demo.png).
"""

import json
import os
import re

import pytest
from realtime_testkit.collection import REPO_ROOT
from realtime_testkit.hosts import http_get

EVENTS = 10
# The page streams one event every INTERVAL seconds (its ?interval=).
INTERVAL = 0.2
MAX_DELAY_MS = 100
SETTLE_MS = 15000
# How often the test looks at the page: rarely enough to leave its main thread
# to the events it times.
POLL_MS = 100


@pytest.fixture(scope="module")
def screenshots():
    folder = REPO_ROOT / os.environ.get("REALTIME_DEMO_SCREENSHOTS", "build/demo")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _refusals(frame):
    """The other page's verdicts once both requests have failed or succeeded."""
    frame.wait_for_function("window.demo && window.demo.sse !== 'connecting' && window.demo.sse !== 'unreachable'"
                            " && window.demo.ws !== 'connecting'", polling=POLL_MS, timeout=SETTLE_MS)
    return frame.evaluate("({sse: window.demo.sse, ws: window.demo.ws})")


def _guarded_requests(backend_base, origin):
    """The requests for the guarded locations that reached the backend from pages of ORIGIN."""
    answer = http_get(backend_base + "/_backend/seen", timeout=5)
    assert answer.status == 200, (answer.status, answer.error)
    return [entry["path"] for entry in json.loads(answer.body)
            if "/guarded/" in entry["path"]
            and {k.lower(): v for k, v in entry["headers"].items()}.get("origin") == origin]


def test_demo_page_streams_events_promptly_and_echoes(page, demo_origin, other_origin, screenshots):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("%s/demo/?interval=%s" % (demo_origin, INTERVAL))

    # The frame of the other origin, as the screenshot shows it.
    frame = page.frame(url=re.compile("^" + re.escape(other_origin) + "/"))
    assert frame is not None, "the demo page has no frame from %s" % other_origin
    assert _refusals(frame) == {"sse": "refused", "ws": "refused"}

    page.wait_for_function("window.demo.ws === 'open'", polling=POLL_MS, timeout=SETTLE_MS)
    for text in ("hello through nginx", "typed in the demo page"):
        page.fill("#ws-message", text)
        page.press("#ws-message", "Enter")
    page.wait_for_function("window.demo.echoes.length >= 2", polling=POLL_MS, timeout=SETTLE_MS)
    assert page.evaluate("window.demo.echoes") == ["hello through nginx", "typed in the demo page"]

    # Timed from here: the browser has started, both pages have loaded and
    # failed what they should, so a delay is the way from the backend to the
    # page, not the page's own start-up.
    settled = page.evaluate("window.demo.events.length")
    page.wait_for_function("window.demo.events.length >= %d" % (settled + EVENTS), polling=POLL_MS,
                           timeout=SETTLE_MS)
    events = page.evaluate("window.demo.events")
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1)), "events lost or out of order"
    delays = [round(event["delayMs"], 1) for event in events[settled:settled + EVENTS]]
    print("delays from the backend to the page, ms:", delays)
    assert max(delays) <= MAX_DELAY_MS, "events arrived more than %d ms after the backend sent them: %s" % (
        MAX_DELAY_MS, delays)
    page.screenshot(path=str(screenshots / "demo.png"), full_page=True)


def test_page_on_another_origin_is_refused_both(page, demo_origin, other_origin, backend_base, screenshots):
    page.goto("%s/demo/other.html" % other_origin)
    assert _refusals(page) == {"sse": "refused", "ws": "refused"}
    page.screenshot(path=str(screenshots / "demo-other-origin.png"), full_page=True)

    # CORS is the browser's to enforce: the stream reached the backend, and
    # nginx's answer names no origin the page could match.
    reached = _guarded_requests(backend_base, other_origin)
    assert any(path.startswith("/sse/guarded/") for path in reached), reached
    answer = http_get(demo_origin + "/sse/guarded/demo?count=1&interval=0", headers={"Origin": other_origin})
    assert answer.status == 200 and "access-control-allow-origin" not in answer.headers, answer.headers
    # The socket is nginx's to refuse: no handshake from that origin got past it.
    assert not [path for path in reached if path.startswith("/ws/guarded/")], reached
    refused = http_get(demo_origin + "/ws/guarded/echo", headers={"Origin": other_origin})
    assert refused.status == 403, (refused.status, refused.error)
