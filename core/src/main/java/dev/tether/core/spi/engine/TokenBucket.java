package dev.tether.core.spi.engine;

/**
 * A token bucket: refills at {@code ratePerSecond} up to {@code burst} tokens and starts full.
 * Used for the inbound message rate of a connection and the handshake rate of a hub.
 *
 * <p>Kept as one instant (the generic cell rate algorithm, the same bucket seen from its
 * schedule): when the bucket would next be full, with every token taken since counted as one
 * interval of the rate. A token may be taken while that instant is at most {@code burst - 1}
 * intervals ahead of now. So a bucket is one {@code long} and its {@link Rate}, which every
 * connection's bucket shares: 24 bytes.
 *
 * <p>Not thread-safe: a connection's bucket is used on its I/O thread only, the hub's under a
 * lock.
 *
 * @since 0.1.0
 */
public final class TokenBucket {

    /**
     * A rate and a burst, shared by the buckets that have them. Immutable.
     *
     * @since 0.1.0
     */
    public static final class Rate {
        /** Between two tokens. */
        private final long intervalNanos;
        /** How far ahead of now the schedule may run: {@code burst - 1} intervals. */
        private final long toleranceNanos;

        /**
         * A rate.
         *
         * @param perSecond tokens added per second, at least 1
         * @param burst     the most tokens a bucket holds, at least 1
         * @throws IllegalArgumentException if either is below 1
         */
        public Rate(int perSecond, int burst) {
            if (perSecond < 1 || burst < 1) {
                throw new IllegalArgumentException("rate and burst must be at least 1, got " + perSecond
                        + "/s and " + burst);
            }
            this.intervalNanos = Math.max(1, Math.round(1e9 / perSecond));
            this.toleranceNanos = (burst - 1) * intervalNanos;
        }
    }

    private final Rate rate;
    /** When the bucket would be full again had nothing more been taken (the theoretical arrival time). */
    private long fullAtNanos;

    /**
     * A full bucket.
     *
     * @param rate     its rate and burst
     * @param nowNanos now, by {@link System#nanoTime()}
     */
    public TokenBucket(Rate rate, long nowNanos) {
        this.rate = rate;
        this.fullAtNanos = nowNanos;
    }

    /**
     * A full bucket with a rate of its own.
     *
     * @param ratePerSecond tokens added per second, at least 1
     * @param burst         the most tokens the bucket holds, at least 1
     * @param nowNanos      now, by {@link System#nanoTime()}
     */
    public TokenBucket(int ratePerSecond, int burst, long nowNanos) {
        this(new Rate(ratePerSecond, burst), nowNanos);
    }

    /**
     * Takes one token if there is one.
     *
     * @param nowNanos now, by {@link System#nanoTime()}
     * @return whether a token was taken
     */
    public boolean tryTake(long nowNanos) {
        return reserve(nowNanos, 0) == 0;
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
        long wait = Math.max(0, fullAtNanos - rate.toleranceNanos - nowNanos);
        if (wait > maxWaitNanos) {
            return -1;
        }
        // Differences, not comparisons, so that nanoTime's sign does not matter.
        fullAtNanos = (fullAtNanos - nowNanos < 0 ? nowNanos : fullAtNanos) + rate.intervalNanos;
        return wait;
    }
}
