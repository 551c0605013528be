// The interop contract (../README.md) on Node, run as its users run it:
// express for plain requests and SSE, ws for WebSocket on the same HTTP
// server, and a graphql-ws server on ws (the graphql-transport-ws subprotocol).
//
//   node node_server.js PORT
'use strict';

const http = require('node:http');
const express = require('express');
const { WebSocketServer } = require('ws');
const { useServer } = require('graphql-ws/use/ws');
const { GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt, GraphQLNonNull } = require('graphql');
const contract = require('../contract.json');

const { paths, sse, ws: wsContract } = contract;
const closes = [];

function record(req, extra = {}) {
  const url = new URL(req.url, 'http://unused');
  return { server: 'node', path: url.pathname, query: url.search.slice(1), headers: req.headers, ...extra };
}

function option(req, name) {
  const value = new URL(req.url, 'http://unused').searchParams.get(name) ?? sse.defaults[name];
  return name === 'eol' || value === undefined ? value : Number(value);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const app = express();
app.get(paths.headers, (req, res) => res.json(record(req)));
app.get(paths.closes, (req, res) => res.json(closes));
app.get(paths.sse, async (req, res) => {
  const eol = sse.eols[option(req, 'eol')];
  const send = (...lines) => res.write([...lines, ''].map((line) => line + eol).join(''));
  let gone = false;
  res.on('close', () => { gone = true; });
  res.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' }).flushHeaders();
  const retry = option(req, 'retry');
  send(...(retry === undefined ? [] : [`retry: ${retry}`]), `event: ${sse.hello_event}`, `data: ${JSON.stringify(record(req))}`);
  const first = Number(req.get('Last-Event-ID') ?? 0) + 1;
  const heartbeat = option(req, 'heartbeat');
  for (let number = first; number < first + option(req, 'count') && !gone; number += 1) {
    let waited = 0;
    for (; heartbeat && waited + heartbeat < option(req, 'interval'); waited += heartbeat) {
      await sleep(heartbeat);
      res.write(sse.heartbeat_comment + eol);
    }
    await sleep(option(req, 'interval') - waited);
    send(`id: ${number}`, `data: ${JSON.stringify({ n: number, sent: Date.now() / 1000, pad: 'x'.repeat(option(req, 'size')) })}`);
  }
  res.end();
});

const echo = new WebSocketServer({
  noServer: true,
  perMessageDeflate: true,
  maxPayload: wsContract.max_message,
  handleProtocols: (offered) => [...offered].find((protocol) => wsContract.subprotocols.includes(protocol)) ?? false,
});
echo.on('connection', (socket, req) => {
  let closedHere = false;
  socket.send(JSON.stringify(record(req, { subprotocol: socket.protocol || null, extensions: socket.extensions || null })));
  socket.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString();
    if (text !== null && text.startsWith(wsContract.close_command)) {
      const [code, ...reason] = text.slice(wsContract.close_command.length).split(':');
      closedHere = true;
      socket.close(Number(code), reason.join(':'));
    } else {
      socket.send(data, { binary: isBinary });
    }
  });
  socket.on('close', (code, reason) => {
    if (!closedHere) closes.push({ code, reason: reason.toString() });
  });
});

// GraphQL over WebSocket: a query that tells what the handshake carried, and a
// subscription that counts down.
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      handshake: {
        type: GraphQLString,
        resolve: (root, args, context) => JSON.stringify(record(context.extra.request, { subprotocol: context.extra.socket.protocol })),
      },
    },
  }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      countdown: {
        type: GraphQLInt,
        args: { from: { type: new GraphQLNonNull(GraphQLInt) } },
        subscribe: async function* countdown(root, { from }) {
          for (let n = from; n >= 0; n -= 1) yield { countdown: n };
        },
      },
    },
  }),
});
const graphql = new WebSocketServer({ noServer: true });
useServer({ schema, context: (ctx) => ctx }, graphql);

const server = http.createServer(app);
server.on('upgrade', (req, socket, head) => {
  const pathname = new URL(req.url, 'http://unused').pathname;
  const target = { [paths.ws]: echo, [contract.node.graphql]: graphql }[pathname];
  if (!target) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
});
server.listen(Number(process.argv[2]), '127.0.0.1');
