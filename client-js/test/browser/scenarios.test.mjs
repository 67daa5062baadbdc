// The Node integration scenarios again, inside headless Chromium: the browser's own WebSocket,
// the single-file browser build, a real server. Each test runs its scenario in a fresh page and
// asserts here on what the page saw.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchChromium } from "../support/chromium.mjs";
import { startServer } from "../support/server.mjs";
import { startStatic } from "../support/static.mjs";

const TEST_TIMEOUT_MS = 60_000;

let server;
let web;
let browser;
let tokens = 0;

before(async () => {
  server = await startServer();
  web = await startStatic();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await web?.close();
  await server?.stop();
});

/**
 * Runs `scenario(client, tools)` in a new page with a client of its own token; resolves with what
 * the scenario returns. `tools`: `next(type, accept)`, `collect(event, done)` and `range(a, b)`, as
 * in the Node integration tests.
 */
async function inPage(scenario, options = {}) {
  const page = await browser.newPage();
  try {
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    await page.goto(`${web.url}/blank.html`);
    return await page.evaluate(async ({ source, url, options }) => {
      const { TetherClient, HandshakeError } = await import("/tether-client.js");
      const WAIT_MS = 15_000;
      const client = new TetherClient(url, { backoffBaseMs: 50, backoffMaxMs: 500, ...options });
      const next = (type, accept = () => true) => new Promise((resolve, reject) => {
        const timer = setTimeout(() => { off(); reject(new Error(`no '${type}' within ${WAIT_MS} ms`)); }, WAIT_MS);
        const off = client.on(type, (arg) => {
          if (accept(arg)) { clearTimeout(timer); off(); resolve(arg); }
        });
      });
      const collect = (event, done) => {
        const seen = [];
        const finished = new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`'${event}' incomplete: ${seen.length}`)), WAIT_MS);
          const check = () => { if (done(seen)) { clearTimeout(timer); resolve(seen); } };
          client.on("message", (m) => { if (m.event === event) { seen.push(m.payload.n); check(); } });
          client.on("gap", check);
        });
        return { seen, finished };
      };
      const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
      try {
        // eslint-disable-next-line no-new-func
        const run = new Function("client", "tools", `return (${source})(client, tools);`);
        return await run(client, { next, collect, range, HandshakeError });
      } finally {
        client.close();
      }
    }, { source: scenario.toString(), url: server.url, options: { token: `browser-${++tokens}`, ...options } });
  } finally {
    await page.close();
  }
}

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe("client-js in Chromium against a real server", { timeout: TEST_TIMEOUT_MS * 6 }, () => {
  test("connects, and requests go both ways with text, JSON and binary payloads", { timeout: TEST_TIMEOUT_MS }, async () => {
    const result = await inPage(async (client) => {
      client.onRequest((request) => ({ answer: `re: ${request.payload}` }));
      const states = [];
      client.on("state", (s) => states.push(s));
      await client.connect();
      const bytes = Uint8Array.from([0, 1, 2, 253, 254, 255]);
      return {
        states: [...states], // a copy: closing the client afterwards adds "closed"
        sid: client.sessionId,
        json: await client.request("echo", { text: "hé" }),
        asked: await client.request("ask", "why"),
        binary: Array.from(await client.request("echo", bytes)),
      };
    });
    assert.deepEqual(result.states, ["connecting", "connected"]);
    assert.match(result.sid, /.+/);
    assert.deepEqual(result.json, { text: "hé" });
    assert.deepEqual(result.asked, { answer: "re: why" });
    assert.deepEqual(result.binary, [0, 1, 2, 253, 254, 255]);
  });

  test("resumes after a server-side cut and gets the replay exactly once, in order", { timeout: TEST_TIMEOUT_MS }, async () => {
    const result = await inPage(async (client, { next, collect }) => {
      await client.connect();
      const sid = client.sessionId;
      const disconnected = next("disconnected");
      const resumed = next("open", (o) => o.resumed);
      const replay = collect("replayed", (seen) => seen.length >= 20);
      client.send("cut", { count: 20 });
      const code = (await disconnected).code;
      await resumed;
      return { code, replay: await replay.finished, sameSession: client.sessionId === sid, state: client.state };
    });
    assert.equal(result.code, 1011);
    assert.deepEqual(result.replay, range(1, 20));
    assert.equal(result.sameSession, true);
    assert.equal(result.state, "resumed");
  });

  test("client messages are resent after a resume and de-duplicated both ways", { timeout: TEST_TIMEOUT_MS }, async () => {
    const result = await inPage(async (client, { next, collect }) => {
      await client.connect();
      const replay = collect("replayed", (seen) => seen.length >= 30);
      for (let n = 1; n <= 40; n++) client.send("count", { n });
      client.send("cut", { count: 30 });
      for (let n = 41; n <= 80; n++) client.send("count", { n });
      await next("open", (o) => o.resumed);
      for (let n = 81; n <= 100; n++) client.send("count", { n });
      client.dropConnection();
      await next("open", (o) => o.resumed);
      const replayed = await replay.finished;
      const received = await client.request("received", null, { timeoutMs: 10_000 });
      await client.request("echo", "barrier");
      return { replayed, received, after: [...replay.seen], resumes: client.stats().resumes };
    });
    assert.deepEqual(result.replayed, range(1, 30), "server messages exactly once, in order");
    assert.deepEqual(result.received, range(1, 100), "the server saw every client message exactly once, in order");
    assert.deepEqual(result.after, range(1, 30), "nothing arrives late");
    assert.ok(result.resumes >= 2);
  });

  test("messages lost to an overflowing server queue arrive as an explicit gap", { timeout: TEST_TIMEOUT_MS }, async () => {
    const result = await inPage(async (client, { collect }) => {
      await client.connect();
      const gaps = [];
      client.on("gap", (g) => gaps.push(g));
      const flood = collect("flood", (seen) => seen.includes(300) || gaps.some((g) => g.to >= 300));
      client.send("cut", { count: 300, event: "flood" });
      return { seen: await flood.finished, gaps };
    });
    assert.ok(result.gaps.length >= 1, "at least one gap");
    assert.deepEqual(result.seen, [...result.seen].sort((a, b) => a - b), "in order");
    const covered = [...result.seen];
    for (const g of result.gaps) {
      assert.equal(g.reason, "overflow");
      covered.push(...range(g.from, g.to));
    }
    assert.deepEqual(covered.sort((a, b) => a - b), range(1, 300), "messages and gaps cover 1..N once: no silent loss");
  });

  test("a refused token fails connect() with a HandshakeError and never connects", { timeout: TEST_TIMEOUT_MS }, async () => {
    const result = await inPage(async (client, { HandshakeError }) => {
      try {
        await client.connect();
        return { connected: true };
      } catch (e) {
        return { connected: false, handshake: e instanceof HandshakeError, message: e.message, state: client.state,
          attempts: client.stats().connectAttempts };
      }
    }, { token: "bad" });
    assert.equal(result.connected, false);
    // Browsers do not show a refused upgrade's HTTP status to scripts: a HandshakeError without it.
    assert.equal(result.handshake, true, result.message);
    assert.equal(result.state, "idle");
    assert.equal(result.attempts, 1);
  });
});
