// Acceptance 2 of issue 15, in headless Chromium: two pages, each sending 1,000 reliable messages
// to the other through the server (a topic both subscribe to), while page A's connection is cut
// 20 times at random moments by a loopback proxy (no close frame, as a network failure). Every
// message must arrive exactly once and in order on the other page and on the server.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchChromium } from "../support/chromium.mjs";
import { startProxy } from "../support/proxy.mjs";
import { startServer } from "../support/server.mjs";
import { startStatic } from "../support/static.mjs";

const N = 1000;
const CUTS = 20;
const DEADLINE_MS = 90_000;

let server;
let proxy;
let web;
let browser;

before(async () => {
  server = await startServer({ queue: 4096 });
  proxy = await startProxy(server.port);
  web = await startStatic();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await web?.close();
  await proxy?.close();
  await server?.stop();
});

/** Opens a page that connects a client as `me`, subscribed to the room, counting what `other` sends. */
async function openPage(me, other, wsUrl) {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error(`[${me}] page error: ${e.message}`));
  await page.goto(`${web.url}/blank.html`);
  await page.evaluate(async ({ me, other, wsUrl }) => {
    const { TetherClient } = await import("/tether-client.js");
    const client = new TetherClient(wsUrl, { token: me, backoffBaseMs: 50, backoffMaxMs: 500 });
    const state = { got: [], outOfOrder: 0, duplicates: 0, gaps: [], lost: [], resumes: 0, disconnects: 0 };
    client.on("message", (m) => {
      if (m.event === "message" && m.payload && m.payload.from === other) {
        const n = m.payload.n;
        const last = state.got.length ? state.got[state.got.length - 1] : 0;
        if (state.got.includes(n)) state.duplicates++;
        else if (n !== last + 1) state.outOfOrder++;
        state.got.push(n);
      }
    });
    client.on("gap", (g) => state.gaps.push(g));
    client.on("sessionLost", (s) => state.lost.push(s.reason));
    client.on("open", ({ resumed }) => { if (resumed) state.resumes++; });
    client.on("disconnected", () => state.disconnects++);
    await client.connect();
    await client.subscribe("room");
    window.client = client;
    window.state = state;
  }, { me, other, wsUrl });
  return page;
}

/** Starts sending N numbered messages from the page; `full` is waited out, never dropped. */
function sendAll(page, me) {
  return page.evaluate(async ({ me, N }) => {
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    for (let n = 1; n <= N; n++) {
      let result;
      while ((result = window.client.send("message", { room: "room", from: me, n }, { reliable: true })) === "full") {
        await sleep(10);
      }
      if (result !== "queued") throw new Error(`send ${n}: ${result}`);
      if (n % 4 === 0) await sleep(1);
    }
  }, { me, N });
}

async function waitForAll(page) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const count = await page.evaluate(() => window.state.got.length);
    if (count >= N) return;
    if (Date.now() > deadline) throw new Error(`only ${count} of ${N} messages arrived within ${DEADLINE_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("two pages exchange 1,000 reliable messages each while one is cut 20 times: exactly once, in order", { timeout: 180_000 }, async () => {
  const a = await openPage("page-a", "page-b", `ws://127.0.0.1:${proxy.port}/tether`);
  const b = await openPage("page-b", "page-a", server.url);

  const sending = Promise.all([sendAll(a, "page-a"), sendAll(b, "page-b")]);
  let cuts = 0;
  for (let k = 0; k < CUTS; k++) {
    await new Promise((r) => setTimeout(r, 30 + Math.random() * 220));
    // Wait for page A to be welcomed again, so that every cut cuts a live session's connection.
    await a.waitForFunction(() => window.client.connected, { timeout: 10_000, polling: 5 });
    cuts += proxy.cutAll() > 0 ? 1 : 0;
  }
  await sending;
  await Promise.all([waitForAll(a), waitForAll(b)]);

  const expected = Array.from({ length: N }, (_, i) => i + 1);
  for (const [page, name] of [[a, "page A"], [b, "page B"]]) {
    const state = await page.evaluate(() => window.state);
    assert.deepEqual(state.gaps, [], `${name}: no gap`);
    assert.deepEqual(state.lost, [], `${name}: no lost session`);
    assert.equal(state.duplicates, 0, `${name}: no duplicate`);
    assert.equal(state.outOfOrder, 0, `${name}: in order`);
    assert.deepEqual(state.got, expected, `${name}: the other page's ${N} messages, once each, in order`);
    const atServer = await page.evaluate(() => window.client.request("received", null, { timeoutMs: 10_000 }));
    assert.deepEqual(atServer, expected, `${name}: the server got its ${N} messages once each, in order`);
  }
  assert.equal(cuts, CUTS, "every cut hit a live connection");
  const a2 = await a.evaluate(() => ({ resumes: window.state.resumes, disconnects: window.state.disconnects }));
  assert.ok(a2.resumes >= CUTS, `page A resumed after every cut (${a2.resumes} resumes, ${a2.disconnects} disconnects)`);
});
