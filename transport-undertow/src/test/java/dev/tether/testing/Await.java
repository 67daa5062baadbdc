package dev.tether.testing;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Waits for a condition that no event signals (a gauge reaching a value, a session going away),
 * by polling it. Where a latch or a future can say it, use that instead.
 */
public final class Await {

    private Await() {
    }

    /**
     * Returns once {@code condition} holds; fails with {@code what} if it does not within
     * {@code timeout}.
     */
    public static void until(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        until(condition, timeout, what, () -> "");
    }

    /** As {@link #until(BooleanSupplier, Duration, String)}; a timeout's message ends with {@code state}. */
    public static void until(BooleanSupplier condition, Duration timeout, String what,
                             java.util.function.Supplier<String> state) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for: " + what + state.get());
            }
            TimeUnit.MILLISECONDS.sleep(2); // a poll interval, not a synchronisation
        }
    }
}
