"""realtime.nginx.realtime_probe against real nginx: it passes the role's SSE
and WebSocket locations and catches a buffering proxy and a broken upgrade in
the naive hand-written server on the same nginx.

The backend's /sse/ streams send 10 events 200 ms apart by default and end;
count=0 streams forever. /ws/ echoes; a request that is not a WebSocket
handshake gets 400.
"""

STREAM = "/sse/stream?count=10&interval=0.2"


def test_naive_server_is_live_and_not_managed_by_the_role(host, naive):
    """The negative controls below test the hand-written server, on the role's nginx."""
    dump = host.check_output("nginx -T 2>/dev/null")
    assert "# configuration file /etc/nginx/conf.d/naive.conf:" in dump
    assert "listen %s;" % naive in dump
    assert "/etc/nginx/realtime_proxy/" not in host.check_output("grep -rl naive /etc/nginx || true")


def test_good_sse_passes_with_timings(probe, good):
    result = probe(url="http://%s%s" % (good, STREAM), window=3)
    assert not result.get("failed"), result["msg"]
    assert result["changed"] is False
    assert result["status"] == 200
    assert result["headers"]["content-type"].startswith("text/event-stream")
    assert result["events"] == 10
    assert result["stream_closed"] is True
    timings = result["timings"]
    assert 0 < timings["connect"] <= timings["response"] <= timings["first_event"]
    # Generous bounds that only buffering would miss: the first event comes
    # at once (buffered: after 1.8 s), the events come ~0.2 s apart (buffered: 0).
    assert timings["first_event"] < 1.0
    assert 0.1 < result["gaps"]["mean"] < 0.4
    assert len(result["event_times"]) == 10
    assert result["msg"].startswith("SSE http://%s" % good) and " OK: 10 events" in result["msg"]


def test_naive_sse_fails_and_names_buffering(probe, naive):
    """HTTP/1.0 + buffering on: nginx holds every event until the stream ends."""
    result = probe(url="http://%s%s" % (naive, STREAM), window=3)
    assert result.get("failed") is True, result
    assert result["status"] == 200
    assert "buffering" in result["msg"].lower()
    assert "one burst" in result["msg"], result["msg"]
    # all 10 arrived together when the stream ended
    assert result["events"] == 10
    assert result["timings"]["first_event"] > 1.0
    assert result["gaps"]["max"] < 0.05


def test_naive_endless_sse_fails_and_names_buffering(probe, naive):
    """An endless stream through the buffering server: nothing arrives within the window."""
    result = probe(url="http://%s/sse/stream?count=0&interval=0.2" % naive, window=2, first_event_timeout=2)
    assert result.get("failed") is True, result
    assert "no event arrived within 2.0 s" in result["msg"]
    assert "Buffering is the likely cause" in result["msg"]
    assert result["events"] == 0


def test_naive_sse_passes_when_the_backend_turns_buffering_off(probe, naive):
    """Control: the same naive server streams once the backend sends X-Accel-Buffering: no,
    so the failures above are the probe seeing buffering, not the server being unusable."""
    result = probe(url="http://%s%s&accel=no" % (naive, STREAM), window=3)
    assert not result.get("failed"), result["msg"]
    assert result["events"] == 10
    assert result["timings"]["first_event"] < 1.0


def test_good_websocket_passes(probe, good):
    result = probe(url="ws://%s/ws/echo" % good, messages=3, binary_size=70000)
    assert not result.get("failed"), result["msg"]
    assert result["mode"] == "websocket"
    assert result["status"] == 101
    assert result["accept_valid"] is True
    assert result["headers"]["upgrade"].lower() == "websocket"
    assert result["rtt"]["count"] == 6  # 3 text and 3 binary echoes
    assert result["close_code"] == 1000
    assert result["timings"]["response"] > 0


def test_broken_websocket_fails_the_upgrade_check(probe, naive):
    """No Upgrade/Connection forwarded: the backend sees a plain GET and answers 400."""
    result = probe(url="ws://%s/ws/echo" % naive)
    assert result.get("failed") is True, result
    assert "failed the upgrade check" in result["msg"]
    assert "proxy_set_header Upgrade" in result["msg"]
    assert result["status"] != 101
    assert "accept_valid" not in result
    assert "rtt" not in result


def test_foreign_origin_is_refused_as_expected(probe, good, variables):
    """/ws/guarded/ has an Origin allowlist: a foreign Origin gets 403."""
    url = "ws://%s/ws/guarded/echo" % good
    refused = probe(url=url, origin="https://evil.example", status_code=403)
    assert not refused.get("failed"), refused["msg"]
    assert refused["status"] == 403
    assert "refused with status 403 as expected" in refused["msg"]
    # the allowed Origin upgrades and echoes on the same location
    allowed = probe(url=url, origin=variables["realtime_test_allowed_origin"])
    assert not allowed.get("failed"), allowed["msg"]
    assert allowed["status"] == 101 and allowed["accept_valid"] is True
    # and a foreign Origin fails a probe that expects the upgrade
    foreign = probe(url=url, origin="https://evil.example")
    assert foreign.get("failed") is True and foreign["status"] == 403


def test_expecting_403_fails_where_origins_are_not_checked(probe, good):
    """The Origin check discriminates: /ws/ has no allowlist and accepts any Origin."""
    result = probe(url="ws://%s/ws/echo" % good, origin="https://evil.example", status_code=403)
    assert result.get("failed") is True, result
    assert "accepted the handshake (101), expected status 403" in result["msg"]


def test_check_mode_probes_too(probe, good, naive):
    """ansible --check: the probe only reads, so it runs (not skipped) and reports no change."""
    sse = probe(check=True, url="http://%s%s" % (good, STREAM), window=3)
    assert not sse.get("failed"), sse["msg"]
    assert sse["changed"] is False and sse["events"] == 10
    ws = probe(check=True, url="ws://%s/ws/echo" % good)
    assert not ws.get("failed"), ws["msg"]
    assert ws["changed"] is False and ws["status"] == 101
    buffered = probe(check=True, url="http://%s%s" % (naive, STREAM), window=3)
    assert buffered.get("failed") is True and "buffering" in buffered["msg"].lower()
