'use strict';
// The Node.js Socket.IO peer for Tether's side-by-side benchmarks (issue 5, "The peer").
//
// It is the server from the common Stack Overflow report ("works in development, falls over
// at 10,000+ clients"): a plain http server, `require('socket.io')(server)` with default
// options, and on `message` a `response` / `Message received!` reply. Without --log it does
// no per-message (or per-connection) logging; with --log (or LOG=1) it does the report's
// console.log on every connection, message and disconnect.
//
//   node server.js [--log] [--broadcast]
//   env: PORT (default 3000; 0 = any free port), HOST (default 127.0.0.1),
//        LOG=1 (same as --log), MODE=broadcast (same as --broadcast)
//
// Events (both modes):
//   message  -> socket.emit('response', 'Message received!')
//   echo     -> ack(x) (round-trip latency: 42N["echo",x] is answered by 43N[x])
// Broadcast mode only (every socket joins room 'room'):
//   publish  -> io.to('room').emit('message', payload) (and ack() if the client asked for one)
//
// Prints exactly one line when ready:
//   socket.io peer listening on HOST:PORT mode=default|broadcast log=on|off
// and closes the server and exits 0 on SIGTERM / SIGINT.

const http = require('http');

function usage(message) {
  if (message) console.error(`server.js: ${message}`);
  console.error('usage: node server.js [--log] [--broadcast]   (env: PORT, HOST, LOG=1, MODE=broadcast)');
  process.exit(2);
}

function truthy(value) {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value);
}

let log = truthy(process.env.LOG);
let mode = process.env.MODE ? process.env.MODE.toLowerCase() : 'default';
for (const arg of process.argv.slice(2)) {
  if (arg === '--log') log = true;
  else if (arg === '--broadcast') mode = 'broadcast';
  else if (arg === '-h' || arg === '--help') usage();
  else usage(`unknown argument: ${arg}`);
}
if (mode !== 'default' && mode !== 'broadcast') usage(`unknown MODE: ${mode}`);
const broadcast = mode === 'broadcast';

const host = process.env.HOST || '127.0.0.1';
const port = process.env.PORT === undefined || process.env.PORT === '' ? 3000 : Number(process.env.PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad PORT: ${process.env.PORT}`);

// Anything that is not Engine.IO (socket.io attaches its own 'request' handling for /socket.io/).
const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});

// Default Socket.IO options: polling + websocket, pingInterval 25000, pingTimeout 20000,
// maxHttpBufferSize 1e6. The load generator connects with transport=websocket directly.
const io = require('socket.io')(server);

io.on('connection', (socket) => {
  if (log) console.log('a user connected', socket.id);
  if (broadcast) socket.join('room');

  socket.on('message', (msg) => {
    if (log) console.log('message: ' + JSON.stringify(msg));
    socket.emit('response', 'Message received!');
  });

  socket.on('echo', (x, ack) => {
    if (log) console.log('echo: ' + JSON.stringify(x));
    if (typeof ack === 'function') ack(x);
  });

  if (broadcast) {
    socket.on('publish', (payload, ack) => {
      if (log) console.log('publish: ' + JSON.stringify(payload));
      io.to('room').emit('message', payload);
      if (typeof ack === 'function') ack();
    });
  }

  if (log) {
    socket.on('disconnect', (reason) => {
      console.log('user disconnected', socket.id, reason);
    });
  }
});

server.on('error', (err) => {
  console.error(`socket.io peer: ${err.message}`);
  process.exit(1);
});

server.listen(port, host, () => {
  const address = server.address();
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  console.log(`socket.io peer listening on ${shownHost}:${address.port} mode=${mode} log=${log ? 'on' : 'off'}`);
});

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  // io.close() disconnects every client and closes the http server.
  io.close(() => process.exit(0));
  // Do not hang on lingering sockets (e.g. half-open polling requests).
  setTimeout(() => {
    console.error(`socket.io peer: forced exit 5 s after ${signal}`);
    process.exit(0);
  }, 5000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
