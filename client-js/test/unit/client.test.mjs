// Unit tests of TetherClient on a fake socket (the test plays the server) and mocked timers.
import { afterEach, beforeEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionClosedError, HandshakeError, RequestError, TetherClient } from "../../dist/index.js";
import { FakeSocket, welcome } from "../support/fake-socket.mjs";

const URL_ = "ws://server.test/tether";

beforeEach(() => {
  FakeSocket.reset();
  mock.timers.enable({ apis: ["setTimeout"] });
});

afterEach(() => {
  mock.timers.reset();
});

/** Lets promise callbacks (the token source, connect()) run. */
async function flush() {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

function newClient(options = {}) {
  return new TetherClient(URL_, { WebSocket: FakeSocket, random: () => 0, ...options });
}

/** A client welcomed into session s-1 on FakeSocket.last. */
async function connected(options = {}, welcomeOverrides = {}) {
  const client = newClient(options);
  const done = client.connect();
  await flush();
  const socket = FakeSocket.last;
  socket.open();
  socket.receive(welcome(welcomeOverrides));
  await done;
  return { client, socket };
}

/** Loses the connection with `code` and lets the client open the next one (backoff 0 with random 0). */
async function reconnect(socket, code = 1001) {
  socket.serverClose(code, "test");
  mock.timers.tick(0);
  await flush();
  const next = FakeSocket.last;
  assert.notEqual(next, socket, "a new socket was opened");
  next.open();
  return next;
}

function record(client, type) {
  const seen = [];
  client.on(type, (arg) => seen.push(arg));
  return seen;
}

test("says hello v3, passes the token as access_token on every connect, reports the states", async () => {
  let calls = 0;
  const client = newClient({ token: async () => `tok${++calls}` });
  const states = record(client, "state");
  const done = client.connect();
  await flush();
  const socket = FakeSocket.last;
  assert.equal(socket.url.searchParams.get("access_token"), "tok1");
  assert.equal(socket.binaryType, "arraybuffer");
  socket.open();
  assert.deepEqual(socket.frames(), [{ t: "hello", v: 3 }]);
  socket.receive(welcome());
  await done;
  assert.equal(client.sessionId, "s-1");
  const next = await reconnect(socket);
  assert.equal(next.url.searchParams.get("access_token"), "tok2");
  assert.deepEqual(next.frames(), [{ t: "hello", v: 3, sid: "s-1", token: "tok-1", last: 0, attempt: 1 }]);
  next.receive(welcome({ resumed: true }));
  assert.deepEqual(states, ["connecting", "connected", "reconnecting", "resumed"]);
});

test("acknowledges after ackEvery messages at once, or ackDelay after the first", async () => {
  const { socket } = await connected();
  for (let seq = 1; seq <= 32; seq++) {
    socket.receive({ t: "msg", seq, e: "m", d: seq });
  }
  assert.deepEqual(socket.framesOf("ack"), [{ t: "ack", seq: 32 }]);
  socket.receive({ t: "msg", seq: 33, e: "m" });
  mock.timers.tick(199);
  assert.equal(socket.framesOf("ack").length, 1, "not before ackDelay");
  mock.timers.tick(1);
  assert.deepEqual(socket.framesOf("ack"), [{ t: "ack", seq: 32 }, { t: "ack", seq: 33 }]);
  mock.timers.tick(1000);
  assert.equal(socket.framesOf("ack").length, 2, "nothing new, no ack");
});

test("answers ping with pong carrying its pending ack, which cancels the ack timer", async () => {
  const { socket } = await connected();
  socket.receive({ t: "ping" });
  socket.receive({ t: "msg", seq: 1, e: "m" });
  socket.receive({ t: "ping" });
  mock.timers.tick(500);
  assert.deepEqual(socket.frames().slice(1), [{ t: "pong" }, { t: "pong", ack: 1 }]);
});

test("de-duplicates server messages replayed after a resume", async () => {
  const { client, socket } = await connected();
  const messages = record(client, "message");
  for (let seq = 1; seq <= 5; seq++) {
    socket.receive({ t: "msg", seq, e: "m", d: seq });
  }
  const next = await reconnect(socket);
  assert.equal(next.frames()[0].last, 5);
  next.receive(welcome({ resumed: true }));
  for (let seq = 3; seq <= 8; seq++) {
    next.receive({ t: "msg", seq, e: "m", d: seq });
  }
  assert.deepEqual(messages.map((m) => m.payload), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(client.stats().duplicatesIn, 3);
  assert.equal(client.stats().messagesIn, 8);
});

test("a hole in the server's numbering drops the connection and resumes", async () => {
  const { client, socket } = await connected();
  const disconnected = record(client, "disconnected");
  socket.receive({ t: "msg", seq: 1, e: "m" });
  socket.receive({ t: "msg", seq: 3, e: "m" });
  assert.equal(socket.terminated, true);
  assert.equal(disconnected[0].code, 1002);
  assert.equal(client.stats().protocolErrors, 1);
  assert.equal(client.state, "reconnecting");
});

test("resends unacknowledged messages after a resume with their original seq", async () => {
  const { client, socket } = await connected();
  for (const e of ["a", "b", "c"]) {
    assert.equal(client.send(e, { e }), "queued");
  }
  const written = socket.framesOf("msg");
  assert.deepEqual(written.map((f) => f.seq), [1, 2, 3]);
  socket.receive({ t: "ack", seq: 1 });
  socket.serverClose(1006);
  assert.equal(client.send("d", "while away"), "queued", "queued while disconnected");
  mock.timers.tick(0);
  await flush();
  const next = FakeSocket.last;
  next.open();
  next.receive(welcome({ resumed: true, lastClientSeq: 2 }));
  const resent = next.sent.slice(1);
  assert.deepEqual(resent, [socket.sent[3], '{"t":"msg","seq":4,"e":"d","d":"while away"}'],
    "seq 3 resent byte for byte, then the new one");
  assert.equal(client.stats().resent, 1);
  assert.equal(client.stats().unacked, 2);
});

test("a full unacknowledged buffer is a result, never a silent drop", async () => {
  const { client, socket } = await connected({ maxUnacked: 3 });
  assert.deepEqual([1, 2, 3, 4].map((n) => client.send("m", n)), ["queued", "queued", "queued", "full"]);
  assert.equal(socket.framesOf("msg").length, 3, "the refused message was not sent");
  await assert.rejects(client.request("r", null), (e) => e instanceof RequestError && e.code === "overflow");
  socket.receive({ t: "ack", seq: 2 });
  assert.equal(client.send("m", 5), "queued");
  assert.equal(client.stats().unacked, 2);
});

test("a request without a reply fails with timeout; a late reply is ignored", async () => {
  const { client, socket } = await connected();
  const outcome = client.request("slow", null, { timeoutMs: 1000 }).then(() => "resolved", (e) => e);
  mock.timers.tick(999);
  await flush();
  assert.equal(client.stats().pendingRequests, 1);
  mock.timers.tick(1);
  const error = await outcome;
  assert.ok(error instanceof RequestError);
  assert.equal(error.code, "timeout");
  const rid = socket.framesOf("msg")[0].rid;
  socket.receive({ t: "reply", rid, d: "late" });
  assert.equal(client.stats().pendingRequests, 0);
  assert.equal(client.connected, true);
});

test("requests resolve with the reply's payload (binary too) or reject with the server's code", async () => {
  const { client, socket } = await connected();
  const a = client.request("echo", "x");
  const b = client.request("blob", new Uint8Array([1]));
  const c = client.request("nope", null);
  const [ra, rb, rc] = socket.framesOf("msg").map((f) => f.rid);
  socket.receive({ t: "reply", rid: ra, d: { ok: true } });
  socket.receive(new Uint8Array([0, 0, 0, 21, ...new TextEncoder().encode(`{"t":"reply","rid":${rb}}`), 9, 8]));
  socket.receive({ t: "reply", rid: rc, err: { code: "unhandled", message: "no handler" } });
  assert.deepEqual(await a, { ok: true });
  assert.deepEqual([...(await b)], [9, 8]);
  await assert.rejects(c, (e) => e instanceof RequestError && e.code === "unhandled");
  assert.ok(socket.sent[2] instanceof Uint8Array, "a binary request goes as a binary frame");
});

test("the watchdog drops a silent connection after hb + hbTimeout; any frame re-arms it", async () => {
  const { client, socket } = await connected({}, { hb: 1000, hbTimeout: 500 });
  const disconnected = record(client, "disconnected");
  mock.timers.tick(1400);
  socket.receive({ t: "ping" });
  mock.timers.tick(1499);
  assert.equal(socket.terminated, false);
  assert.equal(client.connected, true);
  mock.timers.tick(1);
  assert.equal(socket.terminated, true);
  assert.deepEqual(disconnected.map((d) => d.code), [4002]);
  assert.equal(client.state, "reconnecting");
});

test("a lost session is reported with its unacknowledged messages; numbering restarts", async () => {
  const { client, socket } = await connected();
  client.send("keep", 1);
  const pending = client.request("ask", null).then(() => "resolved", (e) => e.code);
  socket.receive({ t: "msg", seq: 1, e: "m" });
  const next = await reconnect(socket);
  const lost = record(client, "sessionLost");
  next.receive(welcome({ sid: "s-2", token: "tok-2", resumed: false, gap: { from: 0, to: 0, reason: "expired" } }));
  assert.deepEqual(lost, [{ reason: "expired", unacknowledged: [{ event: "keep", payload: 1, topic: undefined }] }]);
  assert.equal(await pending, "closed");
  assert.equal(client.state, "connected");
  assert.equal(client.sessionId, "s-2");
  client.send("fresh", 2);
  assert.equal(next.framesOf("msg")[0].seq, 1);
  next.receive({ t: "msg", seq: 1, e: "again" });
  assert.equal(client.stats().duplicatesIn, 0, "server numbering restarted too");
});

test("a gap frame is reported and the numbering continues after it", async () => {
  const { client, socket } = await connected();
  const gaps = record(client, "gap");
  const messages = record(client, "message");
  socket.receive({ t: "msg", seq: 1, e: "m" });
  socket.receive({ t: "gap", from: 2, to: 4, reason: "overflow" });
  socket.receive({ t: "msg", seq: 5, e: "m" });
  socket.receive({ t: "gap", from: 2, to: 4, reason: "overflow" });
  assert.deepEqual(gaps, [{ from: 2, to: 4, reason: "overflow" }], "a replayed gap is not reported twice");
  assert.equal(messages.length, 2);
  mock.timers.tick(200);
  assert.deepEqual(socket.framesOf("ack"), [{ t: "ack", seq: 5 }]);
});

test("server requests are answered by the handler, 'unhandled' without one", async () => {
  const { client, socket } = await connected();
  socket.receive({ t: "msg", seq: 1, rid: 7, e: "q", d: "x" });
  client.onRequest(async (m) => {
    if (m.payload === "fail") {
      throw new RequestError("nope", "refused");
    }
    return m.payload instanceof Uint8Array ? m.payload : { echo: m.payload };
  });
  socket.receive({ t: "msg", seq: 2, rid: 8, e: "q", d: "y" });
  socket.receive({ t: "msg", seq: 3, rid: 9, e: "q", d: "fail" });
  await flush();
  assert.deepEqual(socket.framesOf("reply"), [
    { t: "reply", rid: 7, err: { code: "unhandled", message: "no request handler for 'q'" } },
    { t: "reply", rid: 8, d: { echo: "y" } },
    { t: "reply", rid: 9, err: { code: "nope", message: "refused" } },
  ]);
});

test("a terminal close code ends the client without reconnecting", async () => {
  const { client, socket } = await connected();
  const closed = record(client, "closed");
  socket.serverClose(4500, "malformed");
  mock.timers.tick(60_000);
  await flush();
  assert.equal(FakeSocket.instances.length, 1);
  assert.ok(closed[0] instanceof ConnectionClosedError);
  assert.equal(closed[0].code, 4500);
  assert.equal(client.state, "closed");
});

test("close() sends 1000, fails what waits, and refuses further sends", async () => {
  const { client, socket } = await connected();
  const pending = client.request("r", null).then(() => "resolved", (e) => e.code);
  const closed = record(client, "closed");
  client.close();
  assert.deepEqual(socket.closedWith, { code: 1000, reason: "client closed" });
  assert.equal(await pending, "closed");
  assert.deepEqual(closed, [undefined]);
  assert.equal(client.send("m", 1), "closed");
  client.close();
  assert.equal(closed.length, 1, "idempotent");
});

test("a reconnect frame sets the minimum reconnect delay", async () => {
  const { socket } = await connected();
  socket.receive({ t: "reconnect", afterMs: 5000 });
  socket.serverClose(4012, "restart");
  mock.timers.tick(4999);
  await flush();
  assert.equal(FakeSocket.instances.length, 1);
  mock.timers.tick(1);
  await flush();
  assert.equal(FakeSocket.instances.length, 2);
});

test("reconnect delays grow with full jitter up to the cap", async () => {
  const { socket } = await connected({ random: () => 0.999999, backoffBaseMs: 100, backoffMaxMs: 400 });
  let current = socket;
  const delays = [];
  current.serverClose(1006);
  for (let i = 0; i < 4; i++) {
    const before = FakeSocket.instances.length;
    let waited = 0;
    while (FakeSocket.instances.length === before && waited < 10_000) {
      mock.timers.tick(1);
      waited++;
      await flush();
    }
    delays.push(waited);
    current = FakeSocket.last;
    current.refuse(503);
  }
  assert.deepEqual(delays, [100, 200, 400, 400]);
});

test("the resume hello carries the cluster position of the last message", async () => {
  const { socket } = await connected();
  socket.receive({ t: "msg", seq: 1, e: "m", pos: 900 });
  socket.receive({ t: "msg", seq: 2, e: "m", pos: 950 });
  const next = await reconnect(socket);
  assert.deepEqual(next.frames()[0], { t: "hello", v: 3, sid: "s-1", token: "tok-1", last: 2, attempt: 1, pos: 950 });
});

test("a first connect refused with 401 rejects with the status and is not retried", async () => {
  const client = newClient({ token: "bad" });
  const done = client.connect();
  await flush();
  FakeSocket.last.refuse(401);
  await assert.rejects(done, (e) => e instanceof HandshakeError && e.status === 401);
  mock.timers.tick(60_000);
  assert.equal(FakeSocket.instances.length, 1);
  assert.equal(client.state, "idle");
});

test("volatile messages are dropped while disconnected and never numbered", async () => {
  const client = newClient();
  assert.equal(client.send("v", 1, { reliable: false }), "dropped");
  const { client: c2, socket } = await connected();
  assert.equal(c2.send("v", 1, { reliable: false }), "queued");
  socket.bufferedAmount = 2 << 20;
  assert.equal(c2.send("v", 2, { reliable: false }), "dropped");
  assert.deepEqual(socket.framesOf("msg"), [{ t: "msg", e: "v", d: 1 }]);
  assert.equal(c2.stats().volatileDropped, 1);
});

test("subscriptions are confirmed, refused, and restored in a new session", async () => {
  const { client, socket } = await connected();
  const ok = client.subscribe("a");
  const refused = client.subscribe("b");
  const [subA, subB] = socket.framesOf("sub");
  socket.receive({ t: "ok", id: subA.id });
  socket.receive({ t: "error", id: subB.id, code: "forbidden", message: "no" });
  await ok;
  await assert.rejects(refused, (e) => e.code === "forbidden");
  assert.deepEqual(client.topics, ["a"]);
  const next = await reconnect(socket);
  next.receive(welcome({ sid: "s-2", gap: { from: 0, to: 0, reason: "unknown" } }));
  assert.deepEqual(next.framesOf("sub").map((f) => f.topic), ["a"]);
});

test("messages larger than the server's maxMessageBytes are refused at the call", async () => {
  const { client } = await connected({}, { maxMessageBytes: 200 });
  assert.throws(() => client.send("big", "x".repeat(500)), RangeError);
  assert.throws(() => client.send("", 1), TypeError);
  assert.equal(client.send("small", "x"), "queued");
});

test("a request handler whose answer cannot be encoded answers 'error' and reports it", async () => {
  const { client, socket } = await connected();
  const errors = record(client, "error");
  client.onRequest(() => ({ big: 10n }));
  socket.receive({ t: "msg", seq: 1, rid: 3, e: "q" });
  await flush();
  assert.deepEqual(socket.framesOf("reply"),
    [{ t: "reply", rid: 3, err: { code: "error", message: "the client's request handler failed" } }]);
  assert.equal(errors.length, 1);
});

test("a listener that throws is counted and reported; the client carries on", async () => {
  const { client, socket } = await connected();
  const errors = record(client, "error");
  const seen = [];
  client.on("message", () => {
    throw new Error("boom");
  });
  client.on("message", (m) => seen.push(m.payload));
  socket.receive({ t: "msg", seq: 1, e: "m", d: 1 });
  socket.receive({ t: "msg", seq: 2, e: "m", d: 2 });
  assert.deepEqual(seen, [1, 2]);
  assert.deepEqual(errors.map((e) => e.message), ["boom", "boom"]);
  assert.equal(client.stats().listenerErrors, 2);
});

test("a refresh request is answered with a fresh token in an auth frame", async () => {
  let calls = 0;
  const { client, socket } = await connected({ token: () => `fresh-${++calls}` });
  const errors = record(client, "error");
  socket.receive({ t: "refresh", exp: 1_900_000_000_000, expiresInMs: 60_000 });
  await flush();
  const [auth] = socket.framesOf("auth");
  assert.deepEqual(auth, { t: "auth", id: auth.id, token: "fresh-2" });
  socket.receive({ t: "ok", id: auth.id, exp: 1_900_000_600_000 });
  socket.receive({ t: "refresh", exp: 1_900_000_600_000, expiresInMs: 60_000 });
  await flush();
  const second = socket.framesOf("auth")[1];
  assert.equal(second.token, "fresh-3");
  assert.notEqual(second.id, auth.id);
  socket.receive({ t: "error", id: second.id, code: "unauthorized", message: "expired" });
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, "unauthorized");
  assert.equal(client.connected, true, "a refused refresh leaves the connection open");
});

test("a gap on a resumed welcome is reported and numbering continues after it", async () => {
  const { client, socket } = await connected();
  const gaps = record(client, "gap");
  const messages = record(client, "message");
  socket.receive({ t: "msg", seq: 1, e: "m" });
  const next = await reconnect(socket);
  next.receive(welcome({ resumed: true, gap: { from: 2, to: 6, reason: "overflow" } }));
  next.receive({ t: "msg", seq: 7, e: "m" });
  assert.deepEqual(gaps, [{ from: 2, to: 6, reason: "overflow" }]);
  assert.equal(messages.length, 2);
  assert.equal(client.stats().protocolErrors, 0);
});

test("unknown frame types are ignored once welcomed, and refused before the welcome", async () => {
  const { client, socket } = await connected();
  socket.receive({ t: "future-frame", x: 1 });
  assert.equal(client.connected, true);
  const next = await reconnect(socket);
  next.receive({ t: "future-frame" });
  assert.equal(next.terminated, true);
  assert.equal(client.stats().protocolErrors, 1);
  assert.equal(client.state, "reconnecting");
});

test("no welcome within connectTimeoutMs fails the first connect", async () => {
  const client = newClient({ connectTimeoutMs: 1000 });
  const done = client.connect();
  await flush();
  FakeSocket.last.open();
  mock.timers.tick(1000);
  await assert.rejects(done, (e) => e instanceof ConnectionClosedError && /no welcome/.test(e.reason));
  assert.equal(FakeSocket.last.terminated, true);
  assert.equal(client.state, "idle");
});
