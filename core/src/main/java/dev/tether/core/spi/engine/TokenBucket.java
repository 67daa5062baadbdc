package dev.tether.core.spi.engine;

/**
 * A token bucket: refills at {@code ratePerSecond} up to {@code burst} tokens and starts full.
 * Used for the inbound message rate of a connection and the handshake rate of a hub.
 *
 * <p>Not thread-safe: a connection's bucket is used on its I/O thread only, the hub's under a
 * lock.
 *
 * @since 0.1.0
 */
public final class TokenBucket {

    private final double ratePerNano;
    private final double burst;
    private double tokens;
    private long refilledNanos;

    /**
     * A full bucket.
     *
     * @param ratePerSecond tokens added per second
     * @param burst         the most tokens the bucket holds
     * @param nowNanos      now, by {@link System#nanoTime()}
     */
    public TokenBucket(int ratePerSecond, int burst, long nowNanos) {
        this.ratePerNano = ratePerSecond / 1e9;
        this.burst = burst;
        this.tokens = burst;
        this.refilledNanos = nowNanos;
    }

    /**
     * Takes one token if there is one.
     *
     * @param nowNanos now, by {@link System#nanoTime()}
     * @return whether a token was taken
     */
    public boolean tryTake(long nowNanos) {
        tokens = Math.min(burst, tokens + (nowNanos - refilledNanos) * ratePerNano);
        refilledNanos = nowNanos;
        if (tokens < 1) {
            return false;
        }
        tokens -= 1;
        return true;
    }
}
