'use strict';
// Smoke check of the Socket.IO peer with a raw Engine.IO v4 client (no socket.io-client):
// it documents, in ~200 lines, exactly what the load generator must put on the wire.
//
//   node smoke.js             start server.js itself (PORT=0) in each mode and check it; exit 0 = ok
//   node smoke.js --ping      also wait for the server's first ping (about 25 s) and answer it
//   node smoke.js --port 3000 [--host 127.0.0.1] [--broadcast]
//                             check an already running server instead (no log / signal checks)
//
// Engine.IO v4 over WebSocket (one text frame = one packet; first char = Engine.IO type):
//   server: 0{"sid":..,"upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//   client: 40                         Socket.IO CONNECT to namespace "/"
//   server: 40{"sid":"..."}            connected
//   client: 42["message","hi"]         EVENT
//   server: 42["response","Message received!"]
//   client: 421["echo",{"t":1}]        EVENT with ack id 1
//   server: 431[{"t":1}]               ACK id 1
//   server: 2   client: 3              ping / pong (server pings every pingInterval)

const path = require('path');
const { spawn } = require('child_process');
// `ws` is socket.io's (engine.io's) own dependency: no extra package.
const WebSocket = require(require.resolve('ws', { paths: [path.join(__dirname, 'node_modules/engine.io')] }));

const TIMEOUT_MS = 5000;
const transcript = [];
let clientCount = 0;

function fail(message) {
  throw new Error(message);
}

class EioClient {
  constructor(name) {
    this.name = name;
    this.inbox = [];
    this.waiters = [];
    this.pings = 0;
    this.closed = false;
  }

  open(host, port) {
    const url = `ws://${host}:${port}/socket.io/?EIO=4&transport=websocket`;
    this.record('--', `GET ${url.replace(/^ws:\/\/[^/]+/, '')} (WebSocket upgrade)`);
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${data.length} bytes>` : data.toString();
      this.record('<<', text);
      if (text === '2') { // server ping: answer at once, never hand it to the test
        this.pings++;
        this.send('3');
        return;
      }
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(text);
      else this.inbox.push(text);
    });
    this.ws.on('close', (code) => {
      this.closed = true;
      this.record('--', `closed ${code}`);
      for (const w of this.waiters.splice(0)) w.reject(new Error(`${this.name}: connection closed (${code})`));
    });
    return new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
  }

  record(direction, text) {
    transcript.push(`${this.name} ${direction} ${text}`);
  }

  send(text) {
    this.record('>>', text);
    this.ws.send(text);
  }

  next(timeoutMs = TIMEOUT_MS) {
    if (this.inbox.length) return Promise.resolve(this.inbox.shift());
    if (this.closed) return Promise.reject(new Error(`${this.name}: connection closed`));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.name}: nothing received within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async expect(exact) {
    const got = await this.next();
    if (got !== exact) fail(`${this.name}: expected ${exact} but got ${got}`);
  }

  // Engine.IO open packet, then Socket.IO CONNECT to "/".
  async handshake(host, port) {
    await this.open(host, port);
    const open = await this.next();
    if (open[0] !== '0') fail(`${this.name}: expected an Engine.IO open packet, got ${open}`);
    const o = JSON.parse(open.slice(1));
    if (typeof o.sid !== 'string' || !Array.isArray(o.upgrades)) fail(`${this.name}: bad open packet ${open}`);
    if (o.pingInterval !== 25000 || o.pingTimeout !== 20000) {
      fail(`${this.name}: expected default pingInterval 25000 / pingTimeout 20000, got ${open}`);
    }
    this.send('40');
    const connect = await this.next();
    if (!connect.startsWith('40{')) fail(`${this.name}: expected 40{"sid":...}, got ${connect}`);
    if (typeof JSON.parse(connect.slice(2)).sid !== 'string') fail(`${this.name}: bad connect ${connect}`);
    return o;
  }

  close() {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', resolve);
      this.ws.close(1000);
    });
  }
}

async function checkDefault(host, port, waitPing) {
  const a = new EioClient(`c${++clientCount}`);
  const open = await a.handshake(host, port);
  a.send('42["message","hi"]');
  await a.expect('42["response","Message received!"]');
  a.send('421["echo",{"t":1700000000000,"n":1}]');
  await a.expect('431[{"t":1700000000000,"n":1}]');
  if (waitPing) {
    // The first ping comes pingInterval after the handshake; answering it keeps us connected.
    const deadline = Date.now() + open.pingInterval + 5000;
    while (a.pings === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (a.pings === 0) fail(`${a.name}: no server ping within ${open.pingInterval + 5000} ms`);
    a.send('42["message","after ping"]');
    await a.expect('42["response","Message received!"]');
  }
  return a;
}

async function checkBroadcast(host, port) {
  const a = new EioClient(`c${++clientCount}`);
  const b = new EioClient(`c${++clientCount}`);
  await a.handshake(host, port);
  await b.handshake(host, port);
  a.send('42["publish",{"x":1}]');
  await a.expect('42["message",{"x":1}]');
  await b.expect('42["message",{"x":1}]');
  // publish with an ack id: the ack comes after the delivery to the publisher itself
  b.send('427["publish",{"x":2}]');
  await b.expect('42["message",{"x":2}]');
  await b.expect('437[]');
  await a.expect('42["message",{"x":2}]');
  // the Stack Overflow reply works in broadcast mode too
  b.send('42["message","hi"]');
  await b.expect('42["response","Message received!"]');
  return [a, b];
}

function startServer(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'server.js'), ...args], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG: '', MODE: '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const server = { child, lines: [], exited: null };
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        server.lines.push(line);
        const m = /^socket\.io peer listening on (\S+):(\d+) mode=(\S+) log=(\S+)$/.exec(line);
        if (m) resolve({ ...server, host: m[1], port: Number(m[2]), mode: m[3], log: m[4], server });
      }
    });
    server.exit = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
    server.exit.then(({ code, signal }) => reject(new Error(`server exited early (${code ?? signal})`)));
    setTimeout(() => reject(new Error('server did not print its listening line within 10 s')), 10000).unref();
  });
}

async function stopServer(started, clients) {
  started.child.kill('SIGTERM');
  const timer = setTimeout(() => started.child.kill('SIGKILL'), 7000);
  const { code, signal } = await started.server.exit;
  clearTimeout(timer);
  if (code !== 0) fail(`server did not exit cleanly on SIGTERM (code ${code}, signal ${signal})`);
  for (const c of clients) {
    // the server closed them: Engine.IO sends close packet "1" / the socket is closed
    await new Promise((r) => (c.closed ? r() : c.ws.once('close', r)));
  }
}

async function spawned(label, args, env, check, expectLogLines) {
  const started = await startServer(args, env);
  console.log(`${label}: ${started.server.lines[0]}`);
  const clients = [].concat(await check(started.host, started.port));
  await new Promise((r) => setTimeout(r, 100)); // let any log lines arrive
  const extra = started.server.lines.slice(1);
  if (expectLogLines && extra.length === 0) fail(`${label}: --log printed nothing per message`);
  if (!expectLogLines && extra.length !== 0) fail(`${label}: unexpected output without --log: ${extra[0]}`);
  await stopServer(started, clients); // clients still connected: SIGTERM must still exit 0
  console.log(`${label}: ok (${extra.length} log lines, exited 0 on SIGTERM with ${clients.length} client(s) connected)`);
}

async function main() {
  const argv = process.argv.slice(2);
  const waitPing = argv.includes('--ping');
  const portIndex = argv.indexOf('--port');
  if (portIndex >= 0) {
    const port = Number(argv[portIndex + 1]);
    const hostIndex = argv.indexOf('--host');
    const host = hostIndex >= 0 ? argv[hostIndex + 1] : '127.0.0.1';
    const clients = [].concat(argv.includes('--broadcast')
      ? await checkBroadcast(host, port)
      : await checkDefault(host, port, waitPing));
    for (const c of clients) await c.close();
    console.log(`${host}:${port}: ok`);
  } else {
    await spawned('default', [], {}, (h, p) => checkDefault(h, p, waitPing), false);
    await spawned('default --log', ['--log'], {}, (h, p) => checkDefault(h, p, false), true);
    await spawned('broadcast', ['--broadcast'], {}, checkBroadcast, false);
    await spawned('MODE=broadcast LOG=1', [], { MODE: 'broadcast', LOG: '1' }, checkBroadcast, true);
  }
  console.log('\ntranscript (>> client to server, << server to client):');
  for (const line of transcript) console.log('  ' + line);
  console.log('\nsmoke: ok');
}

main().then(() => process.exit(0), (err) => {
  console.error(`smoke: FAILED: ${err.message}`);
  console.error('transcript so far:');
  for (const line of transcript) console.error('  ' + line);
  process.exit(1);
});
