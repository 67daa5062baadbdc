package dev.tether.core.internal;

import dev.tether.core.spi.Broker;
import dev.tether.core.spi.BrokerException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Cluster: what one session did that is not yet recorded in the broker, in order. Two kinds of
 * batch: the client messages processed here with what their handlers did, and the subscription
 * changes made outside any handler (client {@code sub} frames, the application's
 * {@code Session.subscribe} from elsewhere), which carry client sequence number 0. At most one
 * commit is in flight; consecutive batches of one kind that wait meanwhile leave as one. A
 * commit that failed is retried alone and unchanged (the broker ignores it if it was applied
 * after all), so a batch's effects are applied at most once.
 *
 * <p>Thread-safe: processing happens on the session's callback thread, completions on broker
 * threads.
 */
final class CommitQueue {

    /** Effects that may wait while the broker does not answer, before the session gives up here. */
    static final int MAX_WAITING_EFFECTS = 10_000;

    /**
     * What one handler run did: the effects, and the futures of those that someone awaits
     * ({@link dev.tether.core.Tether#publishAsync}, a client's {@code sub}). Handler thread only.
     */
    static final class Collected {
        final List<Broker.Effect> effects = new ArrayList<>(2);
        final List<CompletableFuture<Void>> awaited = new ArrayList<>(0);

        /** A future completed when these effects are recorded, failed if they are given up. */
        CompletableFuture<Void> committed() {
            CompletableFuture<Void> f = new CompletableFuture<>();
            awaited.add(f);
            return f;
        }
    }

    /**
     * One broker commit: client messages up to {@code clientSeq} (0: none, subscription changes
     * only), their effects and who awaits them.
     */
    record Batch(long clientSeq, List<Broker.Effect> effects, List<CompletableFuture<Void>> awaited) {

        boolean ofClientMessages() {
            return clientSeq > 0;
        }

        void committed() {
            awaited.forEach(f -> f.complete(null));
        }

        void abandoned(String sessionId) {
            failed(new BrokerException(BrokerException.NO_SESSION, "session " + sessionId
                    + " left this node before its message was committed; its client resends it where it resumes"));
        }

        void failed(Throwable error) {
            awaited.forEach(f -> f.completeExceptionally(error));
        }
    }

    private final ArrayDeque<Batch> waiting = new ArrayDeque<>();
    private int waitingEffects;
    private Batch inFlight;

    /**
     * Adds what was done for client message {@code clientSeq} (0: no client message); false if
     * too much waits already (the broker is not answering).
     */
    synchronized boolean add(long clientSeq, Collected collected) {
        if (waitingEffects + collected.effects.size() > MAX_WAITING_EFFECTS) {
            return false;
        }
        Batch last = waiting.peekLast();
        if (last != null && last.ofClientMessages() == (clientSeq > 0)) {
            waiting.pollLast();
            last.effects().addAll(collected.effects);
            last.awaited().addAll(collected.awaited);
            waiting.addLast(new Batch(Math.max(last.clientSeq(), clientSeq), last.effects(), last.awaited()));
        } else {
            waiting.addLast(new Batch(clientSeq, new ArrayList<>(collected.effects), new ArrayList<>(collected.awaited)));
        }
        waitingEffects += collected.effects.size();
        return true;
    }

    /** The next batch to send, or null if one is in flight or nothing waits. */
    synchronized Batch next() {
        if (inFlight != null || waiting.isEmpty()) {
            return null;
        }
        inFlight = waiting.pollFirst();
        waitingEffects -= inFlight.effects().size();
        return inFlight;
    }

    /** The batch in flight was recorded, or given up. */
    synchronized void done() {
        inFlight = null;
    }

    /**
     * The session left this node: the client messages that wait are not committed here (their
     * client resends them where it resumes), and who awaits them is told. Subscription changes
     * stay: they are applied wherever the session is. A batch in flight ends by its own outcome.
     */
    void abandonClientMessages(String sessionId) {
        List<Batch> gone = new ArrayList<>();
        synchronized (this) {
            waiting.removeIf(b -> {
                if (b.ofClientMessages()) {
                    gone.add(b);
                    waitingEffects -= b.effects().size();
                    return true;
                }
                return false;
            });
        }
        gone.forEach(b -> b.abandoned(sessionId));
    }

    /** The session is gone from the cluster: nothing that waits can be applied. */
    void failWaiting(Throwable error) {
        List<Batch> gone;
        synchronized (this) {
            gone = new ArrayList<>(waiting);
            waiting.clear();
            waitingEffects = 0;
        }
        gone.forEach(b -> b.failed(error));
    }
}
