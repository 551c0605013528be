// The demo's pages (index.html, other.html). Plain browser JavaScript, no
// library: the demo works with no network beyond the machine.
//
// window.demo holds what the page saw, for the browser test
// (molecule/demo/tests/test_browser.py) as much as for a curious reader.
"use strict";

var realtimeDemo = (function () {
  // The ports of the demo's two sites (docs/examples/group_vars/all.yml):
  // `demo`, whose pages the guarded locations allow, and `other-origin`, two
  // ports above it (realtime_demo_port + 2). index.html is served by the
  // first, other.html by the second.
  var OTHER_PORT_OFFSET = 2;
  var SHOWN_EVENTS = 12;

  var state = { events: [], echoes: [], sse: "connecting", ws: "connecting" };
  window.demo = state;

  function $(id) { return document.getElementById(id); }

  function origin(port) {
    return location.protocol + "//" + location.hostname + ":" + port;
  }

  function wsUrl(base, path) {
    return base.replace(/^http/, "ws") + path;
  }

  // Milliseconds since the epoch, with the fractions performance.now() has.
  function nowMs() {
    return performance.timeOrigin + performance.now();
  }

  function show(id, text, kind) {
    var element = $(id);
    element.textContent = text;
    element.className = "state " + kind;
  }

  function addRow(body, cells) {
    var row = document.createElement("tr");
    cells.forEach(function (text) {
      var cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    });
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > SHOWN_EVENTS) {
      body.deleteRow(body.rows.length - 1);
    }
  }

  function logLine(text) {
    var item = document.createElement("li");
    item.textContent = text;
    $("ws-log").insertBefore(item, $("ws-log").firstChild);
  }

  function query(name, fallback) {
    var value = new URLSearchParams(location.search).get(name);
    return value === null ? fallback : value;
  }

  function streamEvents() {
    // Endless events (count=0), one every `interval` seconds (?interval= of this page).
    var source = new EventSource("/sse/guarded/demo?count=0&interval=" + encodeURIComponent(query("interval", "1")));
    source.onopen = function () {
      state.sse = "open";
      show("sse-state", "open", "ok");
    };
    source.onmessage = function (message) {
      var data = JSON.parse(message.data);
      var delay = nowMs() - data.sent * 1000;
      state.events.push({ seq: data.seq, sent: data.sent, delayMs: delay });
      addRow($("sse-events"), ["#" + data.seq, new Date(data.sent * 1000).toISOString().slice(11, 23),
                               delay.toFixed(1) + " ms"]);
      var shown = state.events.slice(-SHOWN_EVENTS).map(function (e) { return e.delayMs; });
      $("sse-summary").textContent = state.events.length + " events; the latest " + delay.toFixed(1) +
        " ms after it was sent, the slowest of those shown " + Math.max.apply(null, shown).toFixed(1) + " ms";
    };
    source.onerror = function () {
      // The browser reconnects by itself (with Last-Event-ID) unless the answer was refused.
      state.sse = source.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
      show("sse-state", state.sse, "bad");
    };
  }

  function echoSocket() {
    var socket = new WebSocket(wsUrl(location.origin, "/ws/guarded/echo"));
    var pending = [];
    socket.onopen = function () {
      state.ws = "open";
      show("ws-state", "open", "ok");
    };
    socket.onmessage = function (message) {
      var took = pending.length ? (nowMs() - pending.shift()).toFixed(1) + " ms" : "unasked";
      state.echoes.push(message.data);
      logLine("echoed \u201c" + message.data + "\u201d in " + took);
    };
    socket.onclose = function (closed) {
      state.ws = "closed";
      show("ws-state", "closed (" + closed.code + ")", "bad");
    };
    $("ws-form").addEventListener("submit", function (submitted) {
      submitted.preventDefault();
      var text = $("ws-message").value;
      if (socket.readyState !== WebSocket.OPEN || text === "") {
        return;
      }
      pending.push(nowMs());
      socket.send(text);
      logLine("sent \u201c" + text + "\u201d");
    });
  }

  // index.html: the stream and the socket, both allowed on this origin.
  function startAllowed() {
    var other = origin(Number(location.port) + OTHER_PORT_OFFSET) + "/demo/other.html";
    var link = document.createElement("a");
    link.href = link.textContent = other;
    $("other-link").appendChild(link);
    $("other-frame").src = other;
    // Once the page and its frame have loaded: the first event's delay is
    // then the proxy's and the network's, not the page's own start-up.
    window.addEventListener("load", function () {
      streamEvents();
      echoSocket();
    });
  }

  // other.html: the same stream and socket, from another origin; both refused.
  function startRefused() {
    var target = origin(Number(location.port) - OTHER_PORT_OFFSET);
    $("own-origin").textContent = location.origin;
    $("target").textContent = target;

    var source = new EventSource(target + "/sse/guarded/demo?count=3&interval=0.2");
    source.onmessage = function () {
      state.sse = "received";
      show("sse-state", "received events: CORS let this origin in", "bad");
      source.close();
    };
    source.onerror = function () {
      if (state.sse === "received") {
        return;
      }
      if (source.readyState === EventSource.CLOSED) {
        // A network error leaves it CONNECTING (it retries); a refused answer closes it.
        state.sse = "refused";
        show("sse-state", "refused", "ok");
        $("sse-why").textContent = "the answer has no Access-Control-Allow-Origin for " + location.origin +
          ", so the browser hides the stream (CORS)";
      } else {
        state.sse = "unreachable";
        show("sse-state", "unreachable, retrying", "wait");
      }
    };

    var socket = new WebSocket(wsUrl(target, "/ws/guarded/echo"));
    socket.onopen = function () {
      state.ws = "open";
      show("ws-state", "open: the Origin allowlist let this origin in", "bad");
      socket.close();
    };
    socket.onclose = function (closed) {
      if (state.ws === "open") {
        return;
      }
      // The browser does not tell a page why a handshake failed; nginx answered 403.
      state.ws = "refused";
      show("ws-state", "refused (close code " + closed.code + ")", "ok");
      $("ws-why").textContent = "nginx answers the handshake with 403: " + location.origin +
        " is not in allowed_origins, and the backend never sees it";
    };
  }

  return { startAllowed: startAllowed, startRefused: startRefused };
}());
