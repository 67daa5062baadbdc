// Node integration tests: the client against a real Tether server (JsTestServer), over loopback.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { HandshakeError, RequestError, TetherClient } from "../../dist/index.js";
import { startServer } from "../support/server.mjs";

const TEST_TIMEOUT_MS = 30_000;
const WAIT_MS = 15_000;

let server;
const clients = [];
let tokens = 0;

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const c of clients) {
    c.close();
  }
  await server?.stop();
});

/** A client of the test server with a token of its own (the server cuts by principal). */
function newClient(options = {}) {
  const client = new TetherClient(server.url, {
    WebSocket,
    token: `client-${++tokens}`,
    backoffBaseMs: 50,
    backoffMaxMs: 500,
    ...options,
  });
  clients.push(client);
  return client;
}

/** Resolves with the first event `type` whose argument passes `accept`; fails after `WAIT_MS`. */
function next(client, type, accept = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no '${type}' event within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const off = client.on(type, (arg) => {
      if (accept(arg)) {
        clearTimeout(timer);
        off();
        resolve(arg);
      }
    });
  });
}

/** Collects the payloads' `n` of every message `event` until `done(list)` holds. */
function collect(client, event, done) {
  const seen = [];
  let offGap;
  const finished = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`'${event}' messages incomplete after ${WAIT_MS} ms: got ${seen.length}`));
    }, WAIT_MS);
    const check = () => {
      if (done(seen)) {
        clearTimeout(timer);
        off();
        offGap?.();
        resolve(seen);
      }
    };
    const off = client.on("message", (m) => {
      if (m.event === event) {
        seen.push(m.payload.n);
        check();
      }
    });
    offGap = client.on("gap", () => check());
  });
  return { seen, finished };
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("client-js against a real server", { timeout: TEST_TIMEOUT_MS * 8 }, () => {
  test("hello/welcome: connects, gets a session and the connected state", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = newClient();
    const states = [];
    client.on("state", (s) => states.push(s));
    const opened = next(client, "open");
    await client.connect();
    assert.deepEqual(await opened, { resumed: false });
    assert.equal(client.connected, true);
    assert.match(client.sessionId, /.+/);
    assert.deepEqual(states, ["connecting", "connected"]);
  });

  test("echo request both ways, and an unknown request is 'unhandled'", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = newClient();
    client.onRequest(async (request) => {
      assert.equal(request.event, "question");
      return { answer: `re: ${request.payload}` };
    });
    await client.connect();
    assert.deepEqual(await client.request("echo", { text: "hé", list: [1, 2] }), { text: "hé", list: [1, 2] });
    assert.equal(await client.request("echo", "plain text"), "plain text");
    assert.deepEqual(await client.request("ask", "why"), { answer: "re: why" });
    await assert.rejects(client.request("nope", null, { timeoutMs: 5000 }),
      (e) => e instanceof RequestError && e.code === "unhandled");
  });

  test("binary payload round trip", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = newClient();
    await client.connect();
    const bytes = Uint8Array.from(range(0, 255).concat(range(0, 255).reverse()));
    const answer = await client.request("echo", bytes);
    assert.ok(answer instanceof Uint8Array, "a binary reply is a Uint8Array");
    assert.deepEqual([...answer], [...bytes]);
    assert.deepEqual([...(await client.request("echo", new Uint8Array(0)))], []);
  });

  test("a message is broadcast to every subscriber of the room", { timeout: TEST_TIMEOUT_MS }, async () => {
    const alice = newClient();
    const bob = newClient();
    await Promise.all([alice.connect(), bob.connect()]);
    await Promise.all([alice.subscribe("room-1"), bob.subscribe("room-1")]);
    const toAlice = next(alice, "message", (m) => m.event === "message");
    const toBob = next(bob, "message", (m) => m.event === "message");
    assert.equal(alice.send("message", { room: "room-1", text: "hello room" }), "queued");
    for (const m of [await toAlice, await toBob]) {
      assert.equal(m.topic, "room-1");
      assert.deepEqual(m.payload, { room: "room-1", text: "hello room" });
    }
  });

  test("resumes after a server-side cut and gets the replay exactly once, in order", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = newClient();
    await client.connect();
    const sid = client.sessionId;
    const disconnected = next(client, "disconnected");
    const resumed = next(client, "open", (o) => o.resumed);
    const replay = collect(client, "replayed", (seen) => seen.length >= 20);
    assert.equal(client.send("cut", { count: 20 }), "queued");
    assert.equal((await disconnected).code, 1011);
    await resumed;
    assert.deepEqual(await replay.finished, range(1, 20));
    assert.equal(client.sessionId, sid, "the same session continues");
    assert.equal(client.state, "resumed");
    assert.equal(client.stats().sessionsLost, 0);
  });

  test("client messages are resent after a resume and de-duplicated both ways", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = newClient();
    await client.connect();
    const replay = collect(client, "replayed", (seen) => seen.length >= 30);
    for (let n = 1; n <= 40; n++) {
      assert.equal(client.send("count", { n }), "queued");
    }
    client.send("cut", { count: 30 });
    // Sent while the connection is being cut: kept, and (re)sent after the resume.
    for (let n = 41; n <= 80; n++) {
      client.send("count", { n });
    }
    await next(client, "open", (o) => o.resumed);
    // Lose the next connection too, from our side, with messages in flight and unacknowledged.
    for (let n = 81; n <= 100; n++) {
      client.send("count", { n });
    }
    client.dropConnection();
    await next(client, "open", (o) => o.resumed);
    assert.deepEqual(await replay.finished, range(1, 30), "server messages exactly once, in order");
    assert.deepEqual(await client.request("received", null, { timeoutMs: 10_000 }), range(1, 100),
      "the server application saw every client message exactly once, in order");
    assert.ok(client.stats().resumes >= 2);
    // Whether a message was in flight when a connection died depends on timing here (the unit
    // tests pin the resend down); what must hold whatever the timing is exactly-once above.
    // Nothing more arrives late: still exactly once.
    await client.request("echo", "barrier");
    assert.deepEqual(replay.seen, range(1, 30));
  });

  test("messages lost to an overflowing server queue arrive as an explicit gap", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = newClient();
    await client.connect();
    const total = 300;
    const gaps = [];
    client.on("gap", (g) => gaps.push(g));
    // The flood is the session's only server messages, so seq = n.
    const flood = collect(client, "flood", (seen) => seen.includes(total) || gaps.some((g) => g.to >= total));
    client.send("cut", { count: total, event: "flood" });
    const seen = await flood.finished;
    assert.ok(gaps.length >= 1, "at least one gap");
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b), "delivered in order");
    const covered = [...seen];
    for (const g of gaps) {
      assert.equal(g.reason, "overflow");
      covered.push(...range(g.from, g.to));
    }
    covered.sort((a, b) => a - b);
    assert.deepEqual(covered, range(1, total), "messages and gaps cover 1..N exactly once: no silent loss");
    assert.equal(client.stats().gaps, gaps.length);
  });

  test("a refused token is a clear 401 error, not a retry storm", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = newClient({ token: "bad" });
    const states = [];
    client.on("state", (s) => states.push(s));
    await assert.rejects(client.connect(), (e) => e instanceof HandshakeError && e.status === 401
      && /unauthorized/.test(e.message));
    assert.equal(client.state, "idle");
    // A short wait that a retry loop (backoff 50 ms) would fill with attempts.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(client.stats().connectAttempts, 1);
    assert.deepEqual(states, ["connecting", "idle"]);
  });

  test("a reconnect refused with 401 asks for a fresh token once, then gives up", { timeout: TEST_TIMEOUT_MS }, async () => {
    let calls = 0;
    const client = newClient({ token: () => (++calls === 1 ? `client-${++tokens}` : "bad") });
    await client.connect();
    const closed = next(client, "closed");
    client.send("cut", { count: 0 });
    const cause = await closed;
    assert.ok(cause instanceof HandshakeError, String(cause));
    assert.equal(cause.status, 401);
    assert.equal(calls, 3, "the first connect, the refused reconnect, one more fresh token");
    assert.equal(client.stats().connectAttempts, 3);
    assert.equal(client.state, "closed");
    assert.equal(client.send("count", { n: 1 }), "closed");
  });
});
