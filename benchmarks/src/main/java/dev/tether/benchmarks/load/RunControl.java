package dev.tether.benchmarks.load;

import java.util.concurrent.ConcurrentHashMap;
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
    /** Echo: requests per second of this process; written before {@link #sendStartNs}. */
    volatile int echoRate;
    /** Echo search: replies to requests intended from here on also count in the step's second half. */
    volatile long secondHalfNs;
    /** Echo search: replies to a request intended before {@link #sendStartNs} (an earlier step). */
    final AtomicLong lateReplies = new AtomicLong();

    // ---- broadcast / storm

    /** Storm: when every subscriber is cut. Written before {@link #phase} becomes {@link #RUN}. */
    volatile long stormAtNs = Long.MAX_VALUE;
    /** Broadcast: stalled subscribers read again (after the grace period) so their fate can be seen. */
    volatile boolean drainStalled;
    /** Broadcast: the publishes of the run, final; written before {@link #drainStalled}. */
    volatile long publishedFinal = Long.MAX_VALUE;

    final AtomicLong subscribed = new AtomicLong();
    final AtomicLong stalledSubscribed = new AtomicLong();
    final AtomicLong published = new AtomicLong();
    /** Deliveries to healthy subscribers, in order and not duplicated. */
    final AtomicLong delivered = new AtomicLong();
    final AtomicLong duplicates = new AtomicLong();
    /** Messages reported lost by gap frames. */
    final AtomicLong gapLost = new AtomicLong();
    /** Messages missing from a jump in seq. */
    final AtomicLong seqHoles = new AtomicLong();
    final AtomicLong stalledDelivered = new AtomicLong();
    final AtomicLong stalledResolved = new AtomicLong();
    final AtomicLong stalledClosedByServer = new AtomicLong();
    /** Close code (0: TCP closed without a close frame) to how many stalled subscribers got it. */
    final ConcurrentHashMap<Integer, AtomicLong> stalledCloseCodes = new ConcurrentHashMap<>();
    /** Storm: subscribers cut; failover: subscribers that lost their server. */
    final AtomicLong cut = new AtomicLong();
    /** Failover: when the first subscriber lost its server (0: none yet). */
    final AtomicLong firstLossNs = new AtomicLong();
    final AtomicLong reconnectAttempts = new AtomicLong();
    final AtomicLong reconnectFailures = new AtomicLong();
    /** Storm / failover: why reconnect attempts failed (the reason, cut to 60 characters) to how many. */
    final ConcurrentHashMap<String, AtomicLong> reconnectFailureReasons = new ConcurrentHashMap<>();
    final AtomicLong retryAfterHonoured = new AtomicLong();
    final AtomicLong resumed = new AtomicLong();
    final AtomicLong resumedFalse = new AtomicLong();
    final AtomicLong notResumedAtEnd = new AtomicLong();

    final AtomicLong attempted = new AtomicLong();
    final AtomicLong connected = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicLong open = new AtomicLong();
    final AtomicLong unexpectedDisconnects = new AtomicLong();
    /** Why connections failed or were dropped: "failed: reason" / "disconnect: reason" (cut to 60 characters) to how many. */
    final ConcurrentHashMap<String, AtomicLong> problems = new ConcurrentHashMap<>();
    final AtomicLong closedCleanly = new AtomicLong();

    /** Counts one failed or dropped connection under {@code reason}. */
    void problem(String reason) {
        String key = reason == null ? "?" : reason.length() > 60 ? reason.substring(0, 60) : reason;
        problems.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
    }

    /** "reason xN; ..." most frequent first, or "none"; quotes and backslashes replaced for JSON. */
    static String tally(ConcurrentHashMap<String, AtomicLong> counts) {
        StringBuilder b = new StringBuilder();
        counts.entrySet().stream()
                .sorted((x, y) -> Long.compare(y.getValue().get(), x.getValue().get()))
                .forEach(e -> b.append(b.length() == 0 ? "" : "; ")
                        .append(e.getKey().replace('"', '\'').replace('\\', '/')).append(" x").append(e.getValue().get()));
        return b.length() == 0 ? "none" : b.toString();
    }
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
