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
        refill(nowNanos);
        if (tokens < 1) {
            return false;
        }
        tokens -= 1;
        return true;
    }

    /**
     * Takes one token now if there is one, or else the next one not yet promised, if it comes
     * within {@code maxWaitNanos}: the bucket goes into debt, and each later reservation waits
     * a further {@code 1 / ratePerSecond}. Tokens still come no faster than the rate (after the
     * burst); a reservation only says when its token comes.
     *
     * @param nowNanos     now, by {@link System#nanoTime()}
     * @param maxWaitNanos the longest wait the caller accepts; zero behaves as {@link #tryTake}
     * @return the nanoseconds until the token is due (0: taken now), or -1 if none comes in time
     *     (nothing is taken)
     */
    public long reserve(long nowNanos, long maxWaitNanos) {
        refill(nowNanos);
        if (tokens >= 1) {
            tokens -= 1;
            return 0;
        }
        long wait = (long) Math.ceil((1 - tokens) / ratePerNano);
        if (wait > maxWaitNanos) {
            return -1;
        }
        tokens -= 1;
        return wait;
    }

    private void refill(long nowNanos) {
        tokens = Math.min(burst, tokens + (nowNanos - refilledNanos) * ratePerNano);
        refilledNanos = nowNanos;
    }
}
