package dev.tether.client.internal;

import java.net.http.HttpClient;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads shared by every client of the JVM, all daemons, created on first use and never shut
 * down (like the JDK HTTP client's own): a few protocol threads that never block, one timer
 * thread that only hands expired timers to their client's protocol executor, a pool for
 * application callbacks, and the default {@link HttpClient}.
 */
final class ClientThreads {

    /** Protocol work never blocks, so a handful of threads serve thousands of clients. */
    static final ExecutorService PROTOCOL = new ThreadPoolExecutor(protocolThreads(), protocolThreads(),
            60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), daemons("tether-client-protocol-"));

    /**
     * Application callbacks may block; each client has at most one drain task here at a time, so
     * the number of threads is bounded by the number of clients with callbacks running.
     */
    static final ExecutorService CALLBACKS = new ThreadPoolExecutor(0, Integer.MAX_VALUE,
            30, TimeUnit.SECONDS, new SynchronousQueue<>(), daemons("tether-client-callback-"));

    /** One timer thread for every client's acks, heartbeats, timeouts and reconnects. */
    static final ScheduledThreadPoolExecutor TIMER = timer();

    private ClientThreads() {
    }

    /** The HTTP client of the clients that were not given one; created on first use. */
    static HttpClient defaultHttpClient() {
        return DefaultHttpClient.INSTANCE;
    }

    private static final class DefaultHttpClient {
        static final HttpClient INSTANCE = HttpClient.newBuilder().build();
    }

    private static int protocolThreads() {
        return Math.max(2, Math.min(8, Runtime.getRuntime().availableProcessors()));
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, daemons("tether-client-timer-"));
        // Most timers (acks, request timeouts) are cancelled; do not let them pile up in the heap.
        t.setRemoveOnCancelPolicy(true);
        t.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return t;
    }

    private static ThreadFactory daemons(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
