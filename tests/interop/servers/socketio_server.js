// A Socket.IO server as its users run it (the socket.io package on Node's
// HTTP server), for the Python and Node Socket.IO clients and the browser's.
// It serves its own browser client at /socket.io/socket.io.min.js.
//
//   node socketio_server.js PORT
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');
const { socketio } = require('../contract.json');

const server = http.createServer();
const io = new Server(server);
io.on('connection', (socket) => {
  const { handshake } = socket;
  // The request that opened the session (long-polling, or the WebSocket when the client skips polling).
  socket.emit(socketio.hello_event, {
    server: 'socket.io', path: handshake.url.split('?')[0], query: handshake.url.split('?')[1] || '',
    headers: handshake.headers, transport: socket.conn.transport.name,
  });
  socket.on(socketio.echo_event, (data, ack) => ack({ data, transport: socket.conn.transport.name }));
});
server.listen(Number(process.argv[2]), '127.0.0.1');
