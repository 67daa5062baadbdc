package dev.tether.core.internal;

import dev.tether.core.spi.Broker;
import java.util.ArrayList;
import java.util.List;

/**
 * Cluster: the client messages of one session that were processed here but are not yet
 * recorded in the broker, with the reliable messages their handlers sent. At most one commit
 * is in flight; what is processed meanwhile waits and leaves as one batch, in order. A commit
 * that failed is retried alone and unchanged (the broker ignores it if it was applied after
 * all), so a batch's effects are applied at most once.
 *
 * <p>Thread-safe: processing happens on the session's callback thread, completions on broker
 * threads.
 */
final class CommitQueue {

    /** Effects that may wait while the broker does not answer, before the session gives up here. */
    static final int MAX_WAITING_EFFECTS = 10_000;

    /** One broker commit: client messages up to {@code clientSeq} and their effects. */
    record Batch(long clientSeq, List<Broker.Effect> effects) {
    }

    private List<Broker.Effect> waiting = new ArrayList<>();
    private long waitingClientSeq;
    private Batch inFlight;

    /** Adds a processed message; false if too much waits already (the broker is not answering). */
    synchronized boolean add(long clientSeq, List<Broker.Effect> effects) {
        if (waiting.size() + effects.size() > MAX_WAITING_EFFECTS) {
            return false;
        }
        waiting.addAll(effects);
        waitingClientSeq = clientSeq;
        return true;
    }

    /** The next batch to send, or null if one is in flight or nothing waits. */
    synchronized Batch next() {
        if (inFlight != null || waitingClientSeq == 0) {
            return null;
        }
        inFlight = new Batch(waitingClientSeq, waiting);
        waiting = new ArrayList<>();
        waitingClientSeq = 0;
        return inFlight;
    }

    /** The batch in flight was recorded. */
    synchronized void done() {
        inFlight = null;
    }
}
