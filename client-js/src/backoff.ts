/**
 * Exponential backoff with full jitter (PROTOCOL.md §10): attempt `n` waits a uniformly random
 * time in `[min, min + min(cap, base * 2^n)]`, so that many clients that lost the same server
 * spread their reconnects over the whole window instead of arriving in waves.
 */
export class Backoff {
  /**
   * @param baseMs the first attempt's longest wait, positive
   * @param capMs the longest wait of any attempt, at least `baseMs`
   */
  constructor(readonly baseMs: number, readonly capMs: number) {
    if (!(baseMs > 0) || !(capMs >= baseMs)) {
      throw new RangeError(`backoff: need 0 < base <= cap, got ${baseMs}, ${capMs}`);
    }
  }

  /** The upper end of the jitter window of attempt `attempt`: `min(cap, base * 2^attempt)`. */
  ceilingMs(attempt: number): number {
    if (attempt <= 0) {
      return this.baseMs;
    }
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(attempt, 1023));
  }

  /**
   * The delay before attempt `attempt`, in whole milliseconds.
   *
   * @param minimumMs a floor the server asked for (`reconnect` frame), or 0
   * @param random a uniform random number in `[0, 1)`, `Math.random` by default
   */
  delayMs(attempt: number, minimumMs = 0, random: () => number = Math.random): number {
    const ceiling = this.ceilingMs(attempt);
    return Math.max(0, minimumMs) + Math.floor(random() * (ceiling + 1));
  }
}
