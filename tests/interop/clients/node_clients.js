// The Node clients of the interop matrix: eventsource, ws, socket.io-client
// and graphql-ws, as their users call them. Reads a JSON list of jobs from
// the file named by its argument, runs them all at once, and prints one JSON
// object: {job id: result}. Every job ends within its `limit` (ms, 15 s by
// default), with `timedOut: true` when it had to be cut.
//
//   NODE_PATH=build/interop/node/node_modules NODE_EXTRA_CA_CERTS=cert.pem node node_clients.js jobs.json
//
// Jobs: {id, kind, url, ...}; each kind's options are read in its function below.
'use strict';

const fs = require('node:fs');
const { EventSource } = require('eventsource');
const WebSocket = require('ws');
const { io } = require('socket.io-client');
const { createClient } = require('graphql-ws');
const contract = require('../contract.json');

function bounded(job, work) {
  return new Promise((resolve) => {
    const got = { timedOut: false };
    const timer = setTimeout(() => { got.timedOut = true; resolve(got); }, job.limit ?? 15000);
    const finish = () => { clearTimeout(timer); resolve(got); };
    try {
      work(got, finish);
    } catch (error) {
      got.error = String(error);
      finish();
    }
  });
}

// An EventSource until `count` numbered events arrived; `reconnects: true`
// keeps it open across the server's end of each stream, and each hello (one
// per connection) is kept, so a test sees the Last-Event-ID it resumed with.
function eventsource(job) {
  return bounded(job, (got, finish) => {
    got.events = [];
    got.hellos = [];
    got.errors = 0;
    const source = new EventSource(job.url);
    source.addEventListener(contract.sse.hello_event, (event) => { got.hellos.push({ record: JSON.parse(event.data), at: Date.now() }); });
    source.onmessage = (event) => {
      got.events.push({ id: event.lastEventId, n: JSON.parse(event.data).n, size: event.data.length, at: Date.now() });
      if (got.events.length >= job.count) {
        source.close();
        finish();
      }
    };
    source.onerror = (error) => {
      got.errors += 1;
      got.lastError = error.message || error.code || null;
      if (!job.reconnects || source.readyState === EventSource.CLOSED) {
        source.close();
        finish();
      }
    };
  });
}

// A WebSocket: the server's first message (its record), then `messages`
// echoed one by one (a message given as {fragments: [...]} is sent in that
// many frames), then a close with `close` ({code, reason}, default 1000).
// With `idle` (ms) it waits that long before the echoes, pinging every
// `ping` ms if given.
function websocket(job) {
  return bounded(job, (got, finish) => {
    const socket = new WebSocket(job.url, job.protocols ?? [], {
      origin: job.origin, perMessageDeflate: job.deflate ?? false, maxPayload: contract.ws.max_message,
    });
    const messages = [...(job.messages ?? ['hello'])];
    got.echoes = [];
    got.pongs = 0;
    let pinger = null;
    const sendNext = () => {
      const message = messages.shift();
      if (message === undefined) {
        const { code, reason } = job.close ?? { code: 1000, reason: 'done' };
        socket.close(code, reason);
      } else if (message.fragments) {
        message.fragments.forEach((part, index) => socket.send(part, { fin: index === message.fragments.length - 1 }));
      } else {
        socket.send(message);
      }
    };
    socket.on('upgrade', (response) => { got.status = response.statusCode; });
    socket.on('unexpected-response', (request, response) => {
      got.status = response.statusCode;
      finish();
    });
    socket.on('pong', () => { got.pongs += 1; });
    socket.on('message', (data) => {
      if (!got.hello) {
        got.hello = JSON.parse(data.toString());
        got.subprotocol = socket.protocol;
        got.extensions = socket.extensions;
        if (job.idle) {
          if (job.ping) pinger = setInterval(() => socket.ping(), job.ping);
          setTimeout(() => { clearInterval(pinger); sendNext(); }, job.idle);
        } else {
          sendNext();
        }
      } else {
        got.echoes.push(data.toString());
        sendNext();
      }
    });
    socket.on('error', (error) => { got.error = String(error); });
    socket.on('close', (code, reason) => {
      clearInterval(pinger);
      got.close = { code, reason: reason.toString() };
      finish();
    });
  });
}

// A Socket.IO client: polling first, then the upgrade; the server's hello and
// its answer to one echo once the transport is WebSocket.
function socketio(job) {
  return bounded(job, (got, finish) => {
    const socket = io(job.url, {
      transports: ['polling', 'websocket'], extraHeaders: job.origin ? { Origin: job.origin } : {},
      query: { cell: job.cell }, reconnection: false, ca: job.ca,
    });
    socket.on(contract.socketio.hello_event, (hello) => { got.hello = hello; });
    socket.io.engine.on('upgrade', () => {
      socket.emit(contract.socketio.echo_event, 'from node', (answer) => {
        got.answer = answer;
        socket.disconnect();
        finish();
      });
    });
    socket.on('connect_error', (error) => {
      got.error = String(error);
      finish();
    });
  });
}

// graphql-ws's client: the subprotocol it negotiated, a query answered with
// what the server's handshake saw, and a subscription's values.
function graphql(job) {
  return bounded(job, (got, finish) => {
    const client = createClient({
      url: job.url,
      webSocketImpl: class extends WebSocket {
        constructor(url, protocols) {
          super(url, protocols, { origin: job.origin });
          this.on('open', () => { got.subprotocol = this.protocol; });
        }
      },
      lazy: false,
      retryAttempts: 0,
    });
    got.countdown = [];
    client.subscribe({ query: '{ handshake }' }, {
      next: ({ data }) => { got.handshake = JSON.parse(data.handshake); },
      error: (error) => { got.error = String(error); },
      complete: () => {
        client.subscribe({ query: 'subscription { countdown(from: 3) }' }, {
          next: ({ data }) => got.countdown.push(data.countdown),
          error: (error) => { got.error = String(error); finish(); },
          complete: () => { client.dispose(); finish(); },
        });
      },
    });
  });
}

async function main() {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const kinds = { eventsource, websocket, socketio, graphql };
  const results = await Promise.all(jobs.map((job) => kinds[job.kind](job).then((got) => [job.id, got])));
  process.stdout.write(`${JSON.stringify(Object.fromEntries(results))}\n`);
  process.exit(0);
}

main();
