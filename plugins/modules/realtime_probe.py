#!/usr/bin/python
# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: realtime_probe
short_description: Check that an SSE stream or a WebSocket really works through a proxy
version_added: 0.1.0
description:
  - Opens a Server-Sent Events stream or a WebSocket from the managed host and measures it.
  - In C(sse) mode it checks the status, the C(text/event-stream) content type and the absence of
    C(Content-Encoding), waits for the first event, counts events over a window and measures the
    gaps between them. A stream that arrives in one burst when it ends, or only after the window,
    fails with a message naming buffering as the likely cause.
  - In C(websocket) mode it performs the opening handshake, checks C(101 Switching Protocols) and
    the C(Sec-WebSocket-Accept) value, sends text and binary messages, checks their echo and
    measures round trips. With O(status_code) it can instead expect a refused handshake, for
    example C(403) for a foreign O(origin).
  - Uses the Python standard library only, so the managed host needs nothing installed.
  - The module only reads. It runs in check mode as well and never reports a change.
author:
  - realtime.nginx contributors (!UNKNOWN)
extends_documentation_fragment:
  - realtime.nginx.attributes
  - realtime.nginx.attributes.read_only
options:
  url:
    description:
      - URL to probe. C(http://) or C(https://) for O(mode=sse); C(ws://), C(wss://), C(http://)
        or C(https://) for O(mode=websocket).
    type: str
    required: true
  mode:
    description:
      - What to probe.
      - Defaults to V(websocket) for C(ws://) and C(wss://) URLs, and to V(sse) otherwise.
    type: str
    choices: [sse, websocket]
  headers:
    description:
      - Extra request headers, for example an C(Authorization) header or a C(Cookie).
    type: dict
    default: {}
  timeout:
    description:
      - Seconds allowed to connect, to receive the response head or handshake, and to receive
        each WebSocket echo.
    type: float
    default: 10
  validate_certs:
    description:
      - Verify the server certificate and host name for C(https://) and C(wss://) URLs.
    type: bool
    default: true
  ca_path:
    description:
      - A CA certificate bundle file, or a directory of hashed CA certificates, used to verify
        the server instead of the system store.
    type: path
  status_code:
    description:
      - The HTTP status expected.
      - Defaults to V(200) for O(mode=sse) and V(101) for O(mode=websocket).
      - Any other value means the request must be refused with this status (for example V(403)
        for an Origin outside the allowlist); the stream or echo checks are then skipped.
    type: int
  origin:
    description:
      - The C(Origin) header to send with the WebSocket handshake.
    type: str
  first_event_timeout:
    description:
      - O(mode=sse) only. Seconds, counted from the request, within which the first event must
        arrive.
    type: float
    default: 5
  window:
    description:
      - O(mode=sse) only. Seconds, counted from the request, over which events are counted.
      - Reading stops at the end of the window (or of O(first_event_timeout), if longer), when
        O(max_events) events arrived, or when the server ends the stream.
    type: float
    default: 5
  min_events:
    description:
      - O(mode=sse) only. The minimum number of events that must arrive within O(window).
    type: int
    default: 1
  max_events:
    description:
      - O(mode=sse) only. Stop reading after this many events.
    type: int
  max_event_gap:
    description:
      - O(mode=sse) only. Fail if two consecutive events arrive further apart than this many
        seconds. Unset means no limit.
    type: float
  burst_threshold:
    description:
      - O(mode=sse) only. Two or more events that all arrive within this many seconds of each
        other, together with the end of the stream and not right at the start (after more than
        four times this value, and at least 0.2 s), count as one burst, the signature of a
        buffering proxy.
    type: float
    default: 0.05
  text:
    description:
      - O(mode=websocket) only. Text sent in each text message (a sequence number is appended).
    type: str
    default: realtime.nginx probe
  messages:
    description:
      - O(mode=websocket) only. How many text messages, and how many binary messages, to send.
    type: int
    default: 3
  binary_size:
    description:
      - O(mode=websocket) only. Size in bytes of each binary message. V(0) sends none.
    type: int
    default: 1024
  expect_echo:
    description:
      - O(mode=websocket) only. Whether the server echoes each message back. When V(false) the
        module only checks the handshake and round trip of a ping.
    type: bool
    default: true
notes:
  - The probe speaks HTTP/1.1 directly over a socket; proxy environment variables are ignored.
seealso:
  - module: realtime.nginx.realtime_audit
"""

EXAMPLES = r"""
- name: Check that /sse/ streams events promptly through nginx
  realtime.nginx.realtime_probe:
    url: https://app.example.com/sse/clock
    ca_path: /etc/ssl/certs/internal-ca.pem
    first_event_timeout: 3
    window: 5
    min_events: 2

- name: Check that /ws/ upgrades and echoes text and binary messages
  realtime.nginx.realtime_probe:
    url: wss://app.example.com/ws/echo
    messages: 5
    binary_size: 70000
  register: ws

- name: Show the WebSocket round trip
  ansible.builtin.debug:
    msg: "median round trip {{ ws.rtt.median * 1000 }} ms"

- name: A foreign Origin must be refused
  realtime.nginx.realtime_probe:
    url: wss://app.example.com/ws/echo
    origin: https://evil.example
    status_code: 403
"""

RETURN = r"""
mode:
  description: The mode that ran.
  returned: always
  type: str
  sample: sse
status:
  description: HTTP status of the response (V(101) for an accepted WebSocket handshake).
  returned: when a response head arrived
  type: int
  sample: 200
headers:
  description: Response headers, names in lower case.
  returned: when a response head arrived
  type: dict
  sample: {"content-type": "text/event-stream", "x-accel-buffering": "no"}
timings:
  description:
    - Measured durations in seconds, counted from the start of the request.
    - C(connect) is the TCP connect, C(response) the arrival of the response head (the handshake
      in websocket mode), C(first_event) the first SSE event, C(stream_end) the end of the stream
      if the server ended it.
  returned: always
  type: dict
  sample: {"connect": 0.0004, "response": 0.002, "first_event": 0.004, "stream_end": null}
events:
  description: Number of SSE events that arrived within the window.
  returned: O(mode=sse) and the stream was read
  type: int
  sample: 10
comments:
  description: Number of SSE comment lines (heartbeats) that arrived.
  returned: O(mode=sse) and the stream was read
  type: int
  sample: 0
event_times:
  description: Arrival time of each event (up to 100), in seconds since the request.
  returned: O(mode=sse) and the stream was read
  type: list
  elements: float
  sample: [0.003, 0.204, 0.405]
gaps:
  description: Gaps between consecutive events, in seconds.
  returned: O(mode=sse) and at least two events arrived
  type: dict
  contains:
    min:
      description: Smallest gap.
      type: float
    max:
      description: Largest gap.
      type: float
    mean:
      description: Mean gap.
      type: float
  sample: {"min": 0.199, "max": 0.203, "mean": 0.201}
stream_closed:
  description: Whether the server ended the stream before reading stopped.
  returned: O(mode=sse) and the stream was read
  type: bool
  sample: false
accept_valid:
  description: Whether C(Sec-WebSocket-Accept) matched the key sent.
  returned: O(mode=websocket) and the server answered 101
  type: bool
  sample: true
rtt:
  description: WebSocket echo round trips in seconds.
  returned: O(mode=websocket) and messages were exchanged
  type: dict
  contains:
    min:
      description: Fastest round trip.
      type: float
    max:
      description: Slowest round trip.
      type: float
    median:
      description: Median round trip.
      type: float
    count:
      description: Number of round trips measured.
      type: int
  sample: {"min": 0.0003, "max": 0.0011, "median": 0.0005, "count": 6}
close_code:
  description: Close code the server answered the closing handshake with.
  returned: O(mode=websocket) and the connection was closed cleanly
  type: int
  sample: 1000
msg:
  description: A readable verdict.
  returned: always
  type: str
  sample: "SSE OK: 10 events, first after 0.004 s"
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.realtime.nginx.plugins.module_utils._http import ProbeError
from ansible_collections.realtime.nginx.plugins.module_utils._sse import SSEClient, content_verdict, stream_verdict
from ansible_collections.realtime.nginx.plugins.module_utils._websocket import (
    OP_BINARY,
    OP_CLOSE,
    OP_TEXT,
    WebSocketClient,
    WebSocketHandshakeError,
)

# The argument spec, and the one place each default is written in code.
# DOCUMENTATION repeats them for the reader; a unit test fails when the two differ.
OPTIONS = {
    "url": {"type": "str", "required": True},
    "mode": {"type": "str", "choices": ["sse", "websocket"]},
    "headers": {"type": "dict", "default": {}},
    "timeout": {"type": "float", "default": 10.0},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "status_code": {"type": "int"},
    "origin": {"type": "str"},
    "first_event_timeout": {"type": "float", "default": 5.0},
    "window": {"type": "float", "default": 5.0},
    "min_events": {"type": "int", "default": 1},
    "max_events": {"type": "int"},
    "max_event_gap": {"type": "float"},
    "burst_threshold": {"type": "float", "default": 0.05},
    "text": {"type": "str", "default": "realtime.nginx probe"},
    "messages": {"type": "int", "default": 3},
    "binary_size": {"type": "int", "default": 1024},
    "expect_echo": {"type": "bool", "default": True},
}

# The options that must be greater than 0.
POSITIVE = ("timeout", "first_event_timeout", "window")

# The options stream_verdict() judges an event stream by.
VERDICT_OPTIONS = ("window", "first_event_timeout", "min_events", "max_event_gap", "burst_threshold")

BUFFERING_HINT = ('Buffering is the likely cause: in the nginx location (and in every proxy layer in '
                  'front of it) set "proxy_buffering off", "proxy_http_version 1.1" and "gzip off", '
                  'or have the backend send "X-Accel-Buffering: no".')

UPGRADE_HINT = ('If a proxy stands in front of the backend, it may not forward the upgrade: an nginx location '
                'needs "proxy_http_version 1.1", "proxy_set_header Upgrade" and "proxy_set_header Connection" '
                '(from a map of $http_upgrade).')

# What a status other than 101 says about a WebSocket handshake, and whether
# a proxy that drops the upgrade is a likely cause (the backend then sees a
# plain GET and answers it as one).
HANDSHAKE_STATUSES = {
    400: ('the backend (or the proxy) rejected the handshake as a bad request: a required header such as Host, '
          'Upgrade or Sec-WebSocket-Key did not reach it', True),
    401: ('the handshake needs credentials the probe did not send', False),
    403: ('the handshake was refused: an Origin allowlist (the location\'s allowed_origins, or the backend\'s '
          'own) or an access rule does not admit it', False),
    404: ('nothing answers this path: no location or backend route matches it', False),
    426: ('the backend wants an upgrade it did not see (426 Upgrade Required)', True),
    429: ('too many connections or requests from this client (limit_conn or limit_req)', False),
    502: ('the proxy could not reach the upstream: the backend is down, listens elsewhere, or closed the '
          'connection', False),
    503: ('no upstream server is available (all marked failed or down), or the backend is overloaded', False),
    504: ('the upstream did not answer within the proxy\'s timeout', False),
}


def handshake_status_meaning(status):
    """(what a non-101 answer to a WebSocket handshake means, whether a dropped upgrade may cause it)."""
    if status in HANDSHAKE_STATUSES:
        return HANDSHAKE_STATUSES[status]
    if status is not None and 200 <= status < 400:
        return ('the upstream answered without upgrading: what serves this path speaks plain HTTP, not '
                'WebSocket', False)
    return ('the server refused the upgrade', False)


def _r(value):
    return None if value is None else round(value, 6)


def _median(values):
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def resolve_params(params):
    """The options with defaults for those unset, and mode and status_code worked out from the URL."""
    p = {name: spec.get("default") for name, spec in OPTIONS.items()}
    p.update((name, value) for name, value in params.items() if value is not None)
    if not p["mode"]:
        p["mode"] = "websocket" if p["url"].lower().startswith(("ws://", "wss://")) else "sse"
    if p["status_code"] is None:
        p["status_code"] = 101 if p["mode"] == "websocket" else 200
    p["headers"] = {str(k): str(v) for k, v in (p["headers"] or {}).items()}
    return p


def _client_options(p):
    return {"headers": p["headers"], "timeout": p["timeout"],
            "validate_certs": p["validate_certs"], "ca_path": p["ca_path"]}


def _unreachable(mode, client, msg):
    """The result when no response head arrived."""
    return {"mode": mode, "timings": {"connect": _r(client.connect_time)}, "failed": True, "msg": msg}


def _response(mode, client):
    """The result fields every probe returns once a response head arrived."""
    return {"mode": mode, "status": client.status, "headers": client.headers,
            "timings": {"connect": _r(client.connect_time), "response": _r(client.response_time)}}


def _sse_probe(p):
    client = SSEClient(p["url"], **_client_options(p))
    try:
        try:
            client.open()
        except ProbeError as e:
            return _unreachable("sse", client, "SSE request to %s failed: %s" % (p["url"], e))
        result = _response("sse", client)
        result["timings"].update(first_event=None, stream_end=None)
        if client.status != p["status_code"]:
            return dict(result, failed=True, msg="SSE %s answered status %s %s, expected %s"
                        % (p["url"], client.status, client.reason, p["status_code"]))
        if not 200 <= p["status_code"] < 300:
            return dict(result, msg="SSE %s answered status %s as expected" % (p["url"], client.status))

        read_for = max(p["window"], p["first_event_timeout"])
        items = client.read_items(client.started + read_for, max_events=p["max_events"])
        times = [at for at, kind, dummy in items if kind == "event"]
        in_window = len([t for t in times if t <= p["window"]])
        result.update(events=in_window, comments=len(items) - len(times),
                      event_times=[_r(t) for t in times[:100]], stream_closed=client.eof)
        result["timings"].update(first_event=_r(times[0]) if times else None, stream_end=_r(client.eof_at))
        gaps = [b - a for a, b in zip(times, times[1:])]
        if gaps:
            result["gaps"] = {"min": _r(min(gaps)), "max": _r(max(gaps)), "mean": _r(sum(gaps) / len(gaps))}

        problems, compressed = content_verdict(client.headers)
        late, buffered = stream_verdict(times, client.eof_at, **{name: p[name] for name in VERDICT_OPTIONS})
        problems += late
        if not problems:
            return dict(result, msg="SSE %s OK: %d events in %.1f s, first after %.3f s"
                        % (p["url"], in_window, p["window"], times[0]))
        msg = "SSE %s failed: %s." % (p["url"], "; ".join(problems))
        if buffered or compressed:
            msg += " " + BUFFERING_HINT
        return dict(result, failed=True, msg=msg)
    finally:
        client.close()


def _describe(opcode, data):
    if opcode == OP_CLOSE:
        return "a close frame"
    if opcode == OP_TEXT:
        return "text %r" % data[:60]
    return "binary of %d bytes" % len(data)


def _echo_messages(p):
    """(opcode, payload, name) of each message the echo check sends."""
    for i in range(max(0, p["messages"])):
        yield OP_TEXT, "%s #%d" % (p["text"], i), "text message %d" % i
        if p["binary_size"] > 0:
            yield OP_BINARY, os.urandom(p["binary_size"]), "binary message %d (%d bytes)" % (i, p["binary_size"])


def _echo(client, opcode, payload, name, rtts):
    """Send one message and check that it comes back unchanged; its round trip goes to rtts."""
    start = time.monotonic()
    client.send_frame(opcode, payload)
    got, data = client.recv_message()
    rtts.append(time.monotonic() - start)
    if got != opcode or data != payload:
        raise ProbeError("%s was not echoed (got %s)" % (name, _describe(got, data)))


def _refused(p, client, error):
    """The result when the server did not accept the handshake as it should."""
    result = _response("websocket", client)
    if error.status == 101:
        result["accept_valid"] = False
    elif error.status == p["status_code"]:
        return dict(result, msg="WebSocket %s refused with status %s as expected" % (p["url"], error.status))
    msg = "WebSocket %s failed the upgrade check: %s." % (p["url"], error)
    if error.status != 101:
        meaning, dropped_upgrade = handshake_status_meaning(error.status)
        msg += " %s means %s." % (("%s %s" % (error.status, error.reason or "")).strip(), meaning)
        if dropped_upgrade:
            msg += " " + UPGRADE_HINT
    return dict(result, failed=True, msg=msg)


def _websocket_probe(p):
    client = WebSocketClient(p["url"], origin=p["origin"], **_client_options(p))
    try:
        try:
            client.connect()
        except WebSocketHandshakeError as e:
            return _refused(p, client, e)
        except ProbeError as e:
            return _unreachable("websocket", client, "WebSocket %s failed: %s" % (p["url"], e))
        result = dict(_response("websocket", client), accept_valid=True)
        if p["status_code"] != 101:
            return dict(result, failed=True, msg="WebSocket %s accepted the handshake (101), expected status %s"
                        % (p["url"], p["status_code"]))
        rtts = []
        try:
            if p["expect_echo"]:
                for opcode, payload, name in _echo_messages(p):
                    _echo(client, opcode, payload, name, rtts)
            else:
                rtts.append(client.ping_round_trip(p["timeout"]))
        except ProbeError as e:
            result.update(failed=True, msg="WebSocket %s upgraded, but %s" % (p["url"], e))
        if rtts:
            result["rtt"] = {"min": _r(min(rtts)), "max": _r(max(rtts)), "median": _r(_median(rtts)),
                             "count": len(rtts)}
        if result.get("failed"):
            return result
        result["close_code"] = client.close(timeout=min(p["timeout"], 5.0))
        result["msg"] = "WebSocket %s OK: 101 with a valid accept key, %d round trips, median %.2f ms" % (
            p["url"], len(rtts), (_median(rtts) or 0) * 1000)
        return result
    finally:
        client.abort()


def run_probe(params):
    """Probe params["url"]. Returns the module's result, with "failed" and "msg"."""
    p = resolve_params(params)
    result = _websocket_probe(p) if p["mode"] == "websocket" else _sse_probe(p)
    return dict(result, changed=False, failed=bool(result.get("failed")))


def main():
    module = AnsibleModule(argument_spec=OPTIONS, supports_check_mode=True)
    for name in POSITIVE:
        if module.params[name] <= 0:
            module.fail_json(msg="%s must be greater than 0" % name)
    result = run_probe(module.params)
    if result.pop("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
