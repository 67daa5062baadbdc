// Drives stock socket.io-client sockets for the Java integration tests (SocketIo*IT).
//   node driver.js <url> <count> '<options json>'
// Prints one JSON object per line on stdout (a disconnect with its wall-clock time t, in ms);
// reads one JSON command per line on stdin.
// Exits when stdin closes or on {"cmd":"exit"}; the Java test also kills it by handle.
"use strict";
const { io } = require("socket.io-client");
const readline = require("readline");

const url = process.argv[2];
const count = parseInt(process.argv[3] || "1", 10);
const options = JSON.parse(process.argv[4] || "{}");
const quiet = !!options.quiet; // count events instead of printing each
const brief = !!options.brief; // print only the first argument of each event
delete options.quiet;
delete options.brief;

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function plain(value) {
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer) {
    return { $bin: Buffer.from(value).toString("base64") };
  }
  if (Array.isArray(value)) {
    return value.map(plain);
  }
  return value;
}

function revive(value) {
  if (value && typeof value === "object" && !Array.isArray(value) && typeof value.$bin === "string") {
    return Buffer.from(value.$bin, "base64");
  }
  if (Array.isArray(value)) {
    return value.map(revive);
  }
  return value;
}

const sockets = [];
const counts = [];
let connected = 0;
for (let i = 0; i < count; i++) {
  const socket = io(url, Object.assign({ forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 500 }, options));
  sockets.push(socket);
  counts.push({});
  let first = true;
  socket.io.on("open", () => {
    const engine = socket.io.engine;
    out({ e: "open", i, transport: engine.transport.name });
    engine.once("upgrade", (t) => out({ e: "upgrade", i, transport: t.name }));
  });
  socket.on("connect", () => {
    out({ e: "connect", i, id: socket.id, recovered: !!socket.recovered, transport: socket.io.engine.transport.name });
    if (first) {
      first = false;
      if (++connected === count) {
        out({ e: "all-connected", n: count });
      }
    }
  });
  socket.on("connect_error", (err) => out({ e: "connect_error", i, message: err.message }));
  socket.on("disconnect", (reason, details) => {
    const code = details && details.context && typeof details.context.code === "number" ? details.context.code : null;
    out({ e: "disconnect", i, reason, code, t: Date.now() });
  });
  socket.onAny((name, ...args) => {
    const last = args[args.length - 1];
    if (typeof last === "function" && !name.startsWith("silent")) {
      const cb = args.pop();
      cb("ack:" + name, ...args.map(plain));
    }
    counts[i][name] = (counts[i][name] || 0) + 1;
    if (!quiet) {
      out({ e: "event", i, name, args: (brief ? args.slice(0, 1) : args).map(plain) });
    }
  });
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    out({ e: "error", message: "bad command: " + line });
    return;
  }
  const targets = cmd.i === undefined ? sockets : [sockets[cmd.i]];
  switch (cmd.cmd) {
    case "emit":
      targets.forEach((socket, k) => {
        const i = cmd.i === undefined ? k : cmd.i;
        const args = revive(cmd.args || []);
        if (cmd.ack) {
          socket.timeout(cmd.timeout || 5000).emit(cmd.event, ...args, (err, ...reply) => {
            out({ e: "ack", i, event: cmd.event, error: err ? err.message : null, args: reply.map(plain) });
          });
        } else {
          socket.emit(cmd.event, ...args);
        }
      });
      break;
    case "cut": // the transport dies; the socket reconnects by itself
      targets.forEach((socket) => socket.io.engine.close());
      break;
    case "pause": // stop reading from the socket: the server's writes back up
      targets.forEach((socket) => {
        const ws = socket.io.engine.transport.ws;
        if (ws && ws._socket) {
          ws._socket.pause();
        }
      });
      break;
    case "disconnect":
      targets.forEach((socket) => socket.disconnect());
      break;
    case "counts":
      out({ e: "counts", counts });
      break;
    case "exit":
      sockets.forEach((socket) => socket.disconnect());
      process.exit(0);
      break;
    default:
      out({ e: "error", message: "unknown command " + cmd.cmd });
  }
});
rl.on("close", () => process.exit(0));
