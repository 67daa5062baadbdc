import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff } from "../../dist/index.js";

test("the jitter window doubles from base up to the cap", () => {
  const b = new Backoff(250, 30_000);
  assert.deepEqual([0, 1, 2, 3, 6, 7, 8, 60, 5000].map((n) => b.ceilingMs(n)),
    [250, 500, 1000, 2000, 16_000, 30_000, 30_000, 30_000, 30_000]);
});

test("full jitter: delays stay within [min, min + ceiling] and use the whole window", () => {
  const b = new Backoff(250, 30_000);
  assert.equal(b.delayMs(3, 0, () => 0), 0);
  assert.equal(b.delayMs(3, 0, () => 0.999999999), 2000);
  assert.equal(b.delayMs(3, 1000, () => 0), 1000, "a server's minimum is a floor");
  assert.equal(b.delayMs(3, 1000, () => 0.999999999), 3000, "jitter on top of the floor");
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < 2000; i++) {
    const d = b.delayMs(2, 0);
    assert.ok(Number.isInteger(d) && d >= 0 && d <= 1000, String(d));
    low = Math.min(low, d);
    high = Math.max(high, d);
  }
  assert.ok(low < 100 && high > 900, `spread over the window: ${low}..${high}`);
});

test("invalid bounds are refused", () => {
  assert.throws(() => new Backoff(0, 10), RangeError);
  assert.throws(() => new Backoff(100, 10), RangeError);
});
