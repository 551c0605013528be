// The browser's cells of the interop matrix (molecule/interop), from a page
// that nginx serves on the origin under test. The query names the servers and
// a tag for the requests; for each server the page fetches the headers record,
// reads an EventSource and echoes over a WebSocket, and with socketio=1 it
// connects the Socket.IO client that the socket.io server serves. Results go
// to window.interop.results; window.interop.done turns true at the end.
// Each request carries cell=TAG-SERVER-CHECK in its query, so the tests find
// it in nginx's access log.
'use strict';

const params = new URLSearchParams(location.search);
const tag = params.get('tag');
const servers = (params.get('servers') || '').split(',').filter(Boolean);
const wsBase = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
const LIMIT_MS = 15000;
window.interop = { done: false, results: {}, navigation: null };

function cell(server, check) {
  return `cell=${encodeURIComponent(`${tag}-${server}-${check}`)}`;
}

function protocolOf(url) {
  const entry = performance.getEntriesByName(new URL(url, location.href).href)[0];
  return entry ? entry.nextHopProtocol : null;
}

function bounded(work) {
  return new Promise((resolve) => {
    const got = { timedOut: false };
    const timer = setTimeout(() => { got.timedOut = true; resolve(got); }, LIMIT_MS);
    work(got, () => { clearTimeout(timer); resolve(got); });
  });
}

async function request(server) {
  const url = `/${server}/headers?${cell(server, 'request')}`;
  try {
    const response = await fetch(url, { cache: 'no-store' });
    return { status: response.status, record: await response.json(), protocol: protocolOf(url) };
  } catch (error) {
    return { error: String(error) };
  }
}

function eventSource(server) {
  return bounded((got, finish) => {
    got.events = [];
    const source = new EventSource(`/${server}/sse/?count=3&interval=50&${cell(server, 'sse')}`);
    source.addEventListener('hello', (event) => { got.hello = JSON.parse(event.data); });
    source.onmessage = (event) => {
      got.events.push({ id: event.lastEventId, n: JSON.parse(event.data).n });
      if (got.events.length === 3) {
        source.close();
        finish();
      }
    };
  });
}

function webSocket(server) {
  return bounded((got, finish) => {
    const socket = new WebSocket(`${wsBase}/${server}/ws/?${cell(server, 'websocket')}`, ['interop.v1']);
    socket.onmessage = (event) => {
      if (!got.hello) {
        got.hello = JSON.parse(event.data);
        socket.send(`echo from ${server}`);
      } else {
        got.echo = event.data;
        got.subprotocol = socket.protocol;
        got.extensions = socket.extensions;
        socket.close(1000, 'done');
      }
    };
    socket.onerror = () => { got.error = true; };
    socket.onclose = (event) => {
      got.close = { code: event.code, reason: event.reason };
      finish();
    };
  });
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = resolve;
    script.onerror = reject;
    document.head.appendChild(script);
  });
}

async function socketIo() {
  try {
    await loadScript('/socket.io/socket.io.min.js');
  } catch (error) {
    return { error: 'no /socket.io/socket.io.min.js' };
  }
  return bounded((got, finish) => {
    const socket = io({ transports: ['polling', 'websocket'], query: { cell: `${tag}-socketio-socketio` } });
    socket.on('hello', (hello) => { got.hello = hello; });
    socket.io.engine.on('upgrade', () => {
      socket.emit('echo', 'from the browser', (answer) => {
        got.answer = answer;
        got.polling = performance.getEntriesByType('resource')
          .filter((entry) => entry.name.includes('/socket.io/?')).map((entry) => entry.nextHopProtocol);
        socket.disconnect();
        finish();
      });
    });
    socket.on('connect_error', (error) => { got.error = String(error); });
  });
}

// A WebSocket to SERVER, resolved once the server's first message (its record) arrived.
function openSocket(server, check) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${wsBase}/${server}/ws/?${cell(server, check)}`);
    socket.onmessage = () => { socket.onmessage = null; resolve(socket); };
    socket.onerror = () => reject(new Error(`no WebSocket to ${server}`));
  });
}

function closed(socket) {
  return new Promise((resolve) => {
    socket.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
  });
}

// Close codes both ways: the server closes with each of FROM_SERVER (the
// contract's close command), and the page closes with each of FROM_PAGE;
// what the page saw of the server's closes. The server's /closes tells what
// it received.
window.closeCodes = async (server, fromServer, fromPage) => {
  const seen = [];
  for (const [code, reason] of fromServer) {
    const socket = await openSocket(server, 'close');
    const done = closed(socket);
    socket.send(`close:${code}:${reason}`);
    seen.push(await done);
  }
  for (const [code, reason] of fromPage) {
    const socket = await openSocket(server, 'close');
    const done = closed(socket);
    socket.close(code, reason);
    await done;
  }
  return seen;
};

// A socket left open, for the page to be navigated away from (the browser then closes it with 1001).
window.openAndLeave = async (server) => { window.leftOpen = await openSocket(server, 'close'); };

// How long EventSource waited before reconnecting after the server ended a
// stream whose hello carried `retry: RETRY`: from the error event to the next hello, in ms.
window.retryDelay = (server, retry) => new Promise((resolve) => {
  const source = new EventSource(`/${server}/sse/?count=1&interval=50&retry=${retry}&${cell(server, `retry${retry}`)}`);
  const hellos = [];
  let ended = null;
  source.addEventListener('hello', () => {
    hellos.push(performance.now());
    if (hellos.length === 2) {
      source.close();
      resolve({ delay: hellos[1] - ended });
    }
  });
  source.onerror = () => { if (ended === null) ended = performance.now(); };
  setTimeout(() => { source.close(); resolve({ delay: null, hellos: hellos.length }); }, LIMIT_MS);
});

async function main() {
  const [navigation] = performance.getEntriesByType('navigation');
  window.interop.navigation = navigation ? navigation.nextHopProtocol : null;
  const work = servers.map(async (server) => {
    const [req, sse, ws] = await Promise.all([request(server), eventSource(server), webSocket(server)]);
    window.interop.results[server] = { request: req, sse, websocket: ws };
  });
  if (params.get('socketio') === '1') {
    work.push(socketIo().then((result) => { window.interop.results.socketio = result; }));
  }
  await Promise.all(work);
  window.interop.done = true;
}

main();
