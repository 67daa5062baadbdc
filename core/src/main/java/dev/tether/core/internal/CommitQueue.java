package dev.tether.core.internal;

import dev.tether.core.spi.Broker;
import dev.tether.core.spi.BrokerException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

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

    /**
     * What one handler run sent: the effects, and the futures of those that someone awaits
     * ({@link dev.tether.core.Tether#publishAsync}). Handler thread only.
     */
    static final class Collected {
        final List<Broker.Effect> effects = new ArrayList<>(2);
        final List<CompletableFuture<Void>> awaited = new ArrayList<>(0);
    }

    /** One broker commit: client messages up to {@code clientSeq}, their effects and who awaits them. */
    record Batch(long clientSeq, List<Broker.Effect> effects, List<CompletableFuture<Void>> awaited) {

        void committed() {
            awaited.forEach(f -> f.complete(null));
        }

        void abandoned(String sessionId) {
            BrokerException e = new BrokerException(BrokerException.NO_SESSION, "session " + sessionId
                    + " left this node before its message was committed; its client resends it where it resumes");
            awaited.forEach(f -> f.completeExceptionally(e));
        }
    }

    private List<Broker.Effect> waiting = new ArrayList<>();
    private List<CompletableFuture<Void>> waitingAwaited = new ArrayList<>(0);
    private long waitingClientSeq;
    private Batch inFlight;

    /** Adds a processed message; false if too much waits already (the broker is not answering). */
    synchronized boolean add(long clientSeq, Collected collected) {
        if (waiting.size() + collected.effects.size() > MAX_WAITING_EFFECTS) {
            return false;
        }
        waiting.addAll(collected.effects);
        waitingAwaited.addAll(collected.awaited);
        waitingClientSeq = clientSeq;
        return true;
    }

    /** The next batch to send, or null if one is in flight or nothing waits. */
    synchronized Batch next() {
        if (inFlight != null || waitingClientSeq == 0) {
            return null;
        }
        inFlight = new Batch(waitingClientSeq, waiting, waitingAwaited);
        waiting = new ArrayList<>();
        waitingAwaited = new ArrayList<>(0);
        waitingClientSeq = 0;
        return inFlight;
    }

    /** The batch in flight was recorded. */
    synchronized void done() {
        inFlight = null;
    }

    /**
     * The session left this node: what waits is not committed here, and who awaits it is told.
     * A batch in flight ends by its own outcome.
     */
    void abandonWaiting(String sessionId) {
        Batch gone;
        synchronized (this) {
            gone = new Batch(waitingClientSeq, waiting, waitingAwaited);
            waiting = new ArrayList<>();
            waitingAwaited = new ArrayList<>(0);
            waitingClientSeq = 0;
        }
        gone.abandoned(sessionId);
    }
}
