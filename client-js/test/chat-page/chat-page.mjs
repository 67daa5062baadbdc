// The chat page of `examples/run chat` in headless Chromium, as a person would use it: two pages
// exchange messages, one drops its connection (the page's own button) while the other keeps
// sending, and the resumed page must show every message exactly once. Saves a screenshot.
// Usage: node test/chat-page/chat-page.mjs <page URL> <screenshot.png>; exit status 0 when it holds.
// Run by examples' ChatPageBrowserIT against a ChatServer it starts.
import assert from "node:assert/strict";
import { launchChromium } from "../support/chromium.mjs";

const [pageUrl, screenshot] = process.argv.slice(2);
if (!pageUrl || !screenshot) {
  console.error("usage: node chat-page.mjs <page URL> <screenshot.png>");
  process.exit(2);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(page, fn, arg, what, timeoutMs = 20_000) {
  try {
    await page.waitForFunction(fn, { timeout: timeoutMs, polling: 50 }, arg);
  } catch (e) {
    throw new Error(`${what}: not within ${timeoutMs} ms (${e.message})`);
  }
}

const state = (page) => page.$eval("#state", (e) => e.textContent);
const lines = (page) => page.$$eval("#log li.chat", (items) => items.map((li) => li.textContent));

async function say(page, text) {
  await page.type("#text", text);
  await page.keyboard.press("Enter");
}

const browser = await launchChromium();
try {
  const alice = await browser.newPage();
  const bob = await browser.newPage();
  for (const p of [alice, bob]) {
    p.on("pageerror", (e) => console.error("page error:", e.message));
    await p.setViewport({ width: 720, height: 520 });
  }
  await alice.goto(`${pageUrl}?name=alice`);
  await bob.goto(`${pageUrl}?name=bob`);
  for (const p of [alice, bob]) {
    await waitFor(p, () => document.querySelector("#state").textContent === "connected", undefined, "connected");
  }

  const expected = [];
  for (let k = 1; k <= 3; k++) {
    await say(alice, `hello ${k} from alice`);
    expected.push(`alice:hello ${k} from alice`);
    await say(bob, `hello ${k} from bob`);
    expected.push(`bob:hello ${k} from bob`);
    // One at a time, so that both pages see the same order.
    await waitFor(alice, (n) => document.querySelectorAll("#log li.chat").length === n, expected.length, "exchange");
  }

  // Alice drops her connection; Bob keeps talking while she is away.
  await alice.bringToFront(); // a click needs the page in front, as a person's would
  await alice.click("#drop");
  for (let k = 1; k <= 5; k++) {
    await say(bob, `while you were away ${k}`);
    expected.push(`bob:while you were away ${k}`);
  }
  await waitFor(alice, () => document.querySelector("#state").textContent === "resumed", undefined, "alice resumed");
  await waitFor(alice, (n) => document.querySelectorAll("#log li.chat").length >= n, expected.length, "alice caught up");
  await waitFor(bob, (n) => document.querySelectorAll("#log li.chat").length >= n, expected.length, "bob got everything");
  await say(alice, "back again");
  expected.push("alice:back again");
  for (const p of [alice, bob]) {
    await waitFor(p, (n) => document.querySelectorAll("#log li.chat").length >= n, expected.length, "last message");
  }
  await sleep(300); // anything duplicated would arrive within the next acknowledgement round

  assert.deepEqual(await lines(alice), expected, "alice's page: every message once, in order");
  assert.deepEqual(await lines(bob), expected, "bob's page: every message once, in order");
  assert.equal(await state(alice), "resumed");
  const notes = await alice.$$eval("#log li.note", (items) => items.map((li) => li.textContent));
  assert.ok(notes.some((n) => n.startsWith("resumed")), `alice's page says it resumed: ${notes}`);
  await alice.bringToFront();
  await alice.screenshot({ path: screenshot });
  console.log(JSON.stringify({ ok: true, messages: expected.length, screenshot }));
} finally {
  await browser.close();
}
