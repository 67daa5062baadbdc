package dev.tether.benchmarks.load;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the coordinating thread and the selector loops share: the phase and its times (written by
 * the coordinator, read by the loops each iteration) and run-wide counters (incremented by the
 * loops, read by the coordinator for progress and the result). Times are {@link System#nanoTime()}.
 */
final class RunControl {

    /** Opening connections. */
    static final int RAMP = 0;
    /** Holding ({@code hold}) or sending between {@link #sendStartNs} and {@link #sendEndNs} ({@code echo}). */
    static final int RUN = 1;
    /** Closing every connection with 1000, then the loops stop. */
    static final int CLOSE = 2;

    final long epochNs;
    final long hardDeadlineNs;

    volatile int phase = RAMP;
    /** Echo: the intended time of the first request. Written before {@link #phase} becomes {@link #RUN}. */
    volatile long sendStartNs;
    /** Echo: no request is intended at or after this time. */
    volatile long sendEndNs;

    final AtomicLong attempted = new AtomicLong();
    final AtomicLong connected = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicLong open = new AtomicLong();
    final AtomicLong unexpectedDisconnects = new AtomicLong();
    final AtomicLong closedCleanly = new AtomicLong();
    final AtomicLong closedForcibly = new AtomicLong();
    final AtomicLong sent = new AtomicLong();
    final AtomicLong received = new AtomicLong();
    final AtomicLong replyErrors = new AtomicLong();
    final AtomicLong unsent = new AtomicLong();
    final AtomicLong pingsAnswered = new AtomicLong();
    final AtomicLong protocolErrors = new AtomicLong();

    RunControl(LoadOptions options, long epochNs) {
        this.epochNs = epochNs;
        this.hardDeadlineNs = epochNs + TimeUnit.SECONDS.toNanos(options.hardDeadlineSeconds());
    }
}
