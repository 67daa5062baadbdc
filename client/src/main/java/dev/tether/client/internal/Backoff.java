package dev.tether.client.internal;

import java.util.random.RandomGenerator;

/**
 * Exponential backoff with full jitter: attempt {@code n} waits a uniformly random time in
 * {@code [min, min + min(cap, base * 2^n)]}, so that many clients that lost the same server spread
 * their reconnects over the whole window instead of arriving in waves. Immutable; any thread.
 */
final class Backoff {

    private final long baseMs;
    private final long capMs;

    Backoff(long baseMs, long capMs) {
        if (baseMs <= 0 || capMs < baseMs) {
            throw new IllegalArgumentException("need 0 < base <= cap, got " + baseMs + ", " + capMs);
        }
        this.baseMs = baseMs;
        this.capMs = capMs;
    }

    /** The upper end of the jitter window of attempt {@code attempt}: {@code min(cap, base * 2^attempt)}. */
    long ceilingMs(int attempt) {
        if (attempt <= 0) {
            return baseMs;
        }
        // base * 2^attempt overflows once the shift pushes a set bit past bit 62.
        if (attempt >= Long.numberOfLeadingZeros(baseMs) - 1) {
            return capMs;
        }
        return Math.min(capMs, baseMs << attempt);
    }

    /**
     * The delay before attempt {@code attempt}.
     *
     * @param minimumMs a floor the server asked for ({@code reconnect}, {@code Retry-After}), or 0
     */
    long delayMs(int attempt, long minimumMs, RandomGenerator random) {
        long ceiling = ceilingMs(attempt);
        long jitter = random.nextLong(ceiling == Long.MAX_VALUE ? ceiling : ceiling + 1);
        long delay = Math.max(0, minimumMs) + jitter;
        return delay < 0 ? Long.MAX_VALUE : delay;
    }
}
