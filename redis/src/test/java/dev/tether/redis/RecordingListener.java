package dev.tether.redis;

import dev.tether.core.spi.BrokerListener;
import dev.tether.core.spi.BrokerMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Records every listener call, with the thread it came on, for tests to await. */
final class RecordingListener implements BrokerListener {

    /** One listener call; the fields a kind does not have are null or 0. */
    record Event(String kind, long position, String session, String topic, BrokerMessage message,
                 Set<String> topics, String principal, String thread) {

        String event() {
            return message == null ? null : message.event();
        }
    }

    private final LinkedBlockingQueue<Event> queue = new LinkedBlockingQueue<>();
    /** When set, onPublished waits on it first: a slow listener. */
    volatile java.util.concurrent.CountDownLatch gate;
    private final List<Event> seen = new ArrayList<>();

    private void add(String kind, long position, String session, String topic, BrokerMessage message,
                     Set<String> topics, String principal) {
        queue.add(new Event(kind, position, session, topic, message, topics, principal, Thread.currentThread().getName()));
    }

    @Override
    public void onPublished(long position, String topic, BrokerMessage message) {
        java.util.concurrent.CountDownLatch g = gate;
        if (g != null) {
            try {
                g.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        add("published", position, null, topic, message, null, null);
    }

    @Override
    public void onSent(long position, String sessionId, BrokerMessage message) {
        add("sent", position, sessionId, null, message, null, null);
    }

    @Override
    public void onSubscribed(long position, String sessionId, String topic) {
        add("subscribed", position, sessionId, topic, null, null, null);
    }

    @Override
    public void onUnsubscribed(long position, String sessionId, String topic) {
        add("unsubscribed", position, sessionId, topic, null, null, null);
    }

    @Override
    public void onClaimed(long position, String sessionId, Set<String> topics) {
        add("claimed", position, sessionId, null, null, topics, null);
    }

    @Override
    public void onPresence(String topic, String sessionId, String principal, boolean joined) {
        add(joined ? "joined" : "left", 0, sessionId, topic, null, null, principal);
    }

    @Override
    public void onReleased(String sessionId) {
        add("released", 0, sessionId, null, null, null, null);
    }

    @Override
    public void onInterrupted() {
        add("interrupted", 0, null, null, null, null, null);
    }

    @Override
    public void onReset() {
        add("reset", 0, null, null, null, null, null);
    }

    /**
     * Waits up to {@code timeoutMs} for the next call that matches, and returns it; the calls
     * before it are kept in {@link #seen()}.
     */
    Event await(Predicate<Event> match, long timeoutMs, String what) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                Event e = left <= 0 ? null : queue.poll(left, TimeUnit.NANOSECONDS);
                if (e == null) {
                    throw new AssertionError("no " + what + " within " + timeoutMs + " ms; saw " + seen);
                }
                seen.add(e);
                if (match.test(e)) {
                    return e;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    Event await(String kind, long timeoutMs) {
        return await(e -> e.kind().equals(kind), timeoutMs, kind);
    }

    /** Every call recorded so far, the ones awaited past included. */
    List<Event> drain() {
        queue.drainTo(seen);
        return List.copyOf(seen);
    }

    void clear() {
        queue.clear();
        seen.clear();
    }
}
