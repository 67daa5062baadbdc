package dev.tether.core.internal;

import dev.tether.core.spi.engine.SessionLink;
import dev.tether.core.CloseCodes;
import dev.tether.core.Payload;
import dev.tether.core.SendResult;
import dev.tether.core.spi.Broker;
import dev.tether.core.spi.BrokerException;
import dev.tether.core.spi.BrokerListener;
import dev.tether.core.spi.BrokerMessage;
import dev.tether.core.spi.Claim;
import dev.tether.core.spi.Feed;
import dev.tether.core.spi.SessionRecord;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A hub's side of a {@link Broker}: routes what the broker delivers into the sessions of this
 * node, and sends what the sessions do (publish, direct send, subscribe, checkpoint) to the broker.
 *
 * <p>The numbering rule that lets any node resume a session: a session's reliable messages are
 * exactly its broker feed, in position order, numbered 1, 2, 3, … . Live, the broker's one
 * delivery thread enqueues them in that order; on a resume elsewhere, the new node reads the feed
 * after the session's checkpoint and numbers it from the checkpoint's sequence number. Nothing
 * else reliable is ever queued for a session of a clustered hub (no overflow gaps: a session
 * whose queue overflows leaves this node and its client resumes from the broker).
 *
 * <p>Threading: the {@link BrokerListener} methods run on the broker's delivery thread; the rest
 * on any thread. Broker futures complete on broker threads: nothing here blocks on them.
 */
final class Cluster implements BrokerListener {

    private static final System.Logger LOG = System.getLogger("dev.tether.core.cluster");

    private final Hub hub;
    final Broker broker;
    /** Checkpoints of this node's sessions, written together. */
    private final CheckpointBatcher checkpoints;
    /** When this node last saw the broker lose its data (System.nanoTime()), or 0. */
    private volatile long lastResetNanos;
    /** What the handler of the client message that runs on this thread sent, or null. */
    private final ThreadLocal<CommitQueue.Collected> collected = new ThreadLocal<>();
    private static final long COMMIT_RETRY_FIRST_MS = 100;
    /**
     * At most one checkpoint per session per interval, unless its client got far ahead: a
     * resume reads the feed from an older checkpoint just as well (it skips what the client
     * has), and a checkpoint per client ack made the Redis work grow with deliveries (every
     * subscriber acks every 32 messages).
     */
    private static final long CHECKPOINT_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long COMMIT_RETRY_MAX_MS = 2_000;

    Cluster(Hub hub, Broker broker) {
        this.hub = hub;
        this.broker = broker;
        this.checkpoints = new CheckpointBatcher(broker, error -> reportFailure("checkpoint", error));
    }

    void start() {
        broker.start(new Broker.Node(this, hub.config.sessionRetention().toMillis(), hub.connections::get));
    }

    static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    // ================================================================ outgoing

    /**
     * Publishes through the broker; a failure goes to the error handler, counted.
     *
     * @param exceptId the session the entry is not for (see {@link BrokerMessage#except()}), or null
     */
    void publish(String topic, String event, Payload payload, boolean isVolatile, String exceptId) {
        BrokerMessage message = new BrokerMessage(event, payload, !isVolatile, 0, exceptId);
        CommitQueue.Collected collecting = collected.get();
        if (collecting != null && !isVolatile) {
            collecting.effects.add(Broker.Effect.publish(topic, message));
        } else {
            report(broker.publish(topic, message), "publish on '" + topic + "'");
        }
    }

    /** {@link dev.tether.core.Tether#publishAsync}: a failure goes to the caller, counted. */
    CompletableFuture<Void> publishAsync(String topic, String event, Payload payload) {
        BrokerMessage message = BrokerMessage.reliable(event, payload);
        CommitQueue.Collected collecting = collected.get();
        if (collecting != null) {
            collecting.effects.add(Broker.Effect.publish(topic, message));
            return collecting.committed();
        }
        return broker.publish(topic, message).whenComplete((v, error) -> {
            if (error != null) {
                hub.brokerFailures.increment();
            }
        });
    }

    /** A direct message to {@code session}, wherever its client is connected now. */
    SendResult send(ServerSession session, String event, Payload payload, boolean isVolatile, long requestId) {
        if (session.isClosed()) {
            return SendResult.CLOSED;
        }
        BrokerMessage message = new BrokerMessage(event, payload, !isVolatile, requestId);
        CommitQueue.Collected collecting = collected.get();
        if (collecting != null && !isVolatile) {
            collecting.effects.add(Broker.Effect.send(session.id(), message));
        } else {
            report(broker.send(session.id(), message), "send '" + event + "' to session " + session.id());
        }
        return SendResult.ENQUEUED;
    }

    // ================================================================ client messages, exactly once

    /**
     * Runs {@code work}, the handling of client message {@code clientSeq} of {@code session} (or
     * null), on the calling thread, collecting the reliable messages it publishes or sends and
     * the subscriptions it changes, then commits them to the broker together with the message's
     * processed mark: both or neither. The client's message is acknowledged once the commit is
     * recorded, so a client that resumes on another node resends exactly the messages whose
     * effects are not in the broker. Effects of other threads (a reply sent later, a timer's
     * publish) go to the broker at once.
     */
    void process(ServerSession session, long clientSeq, Runnable work) {
        CommitQueue.Collected mine = new CommitQueue.Collected();
        CommitQueue.Collected outer = collected.get();
        collected.set(mine);
        try {
            if (work != null) {
                work.run();
            }
        } finally {
            collected.set(outer);
        }
        if (!enqueue(session, clientSeq, mine)) {
            return;
        }
        if (session.isClosed()) {
            left(session); // it left while the handler ran
        } else {
            commitNext(session);
        }
    }

    /** Queues {@code done} for the session's next commit; false (and the session leaves) if too much waits. */
    private boolean enqueue(ServerSession session, long clientSeq, CommitQueue.Collected done) {
        if (session.commits().add(clientSeq, done)) {
            return true;
        }
        BrokerException overloaded = new BrokerException(BrokerException.OVERLOADED,
                "more than " + CommitQueue.MAX_WAITING_EFFECTS + " effects wait for the broker");
        done.awaited.forEach(f -> f.completeExceptionally(overloaded));
        reportFailure("commit the messages of session " + session.id(), overloaded);
        hub.releaseLocally(session, CloseCodes.TRY_AGAIN_LATER, "cluster unavailable");
        return false;
    }

    /**
     * The session left this node: its waiting client messages are not committed here (their
     * client resends them where it resumes); its subscription changes still go to the broker.
     */
    void left(ServerSession session) {
        session.commits().abandonClientMessages(session.id());
        commitNext(session);
    }

    private void commitNext(ServerSession session) {
        CommitQueue.Batch batch = session.commits().next();
        if (batch != null) {
            commit(session, batch, COMMIT_RETRY_FIRST_MS);
        }
    }

    private void commit(ServerSession session, CommitQueue.Batch batch, long retryMs) {
        broker.commit(session.id(), batch.clientSeq(), batch.effects()).whenComplete((v, error) -> {
            if (error == null) {
                if (batch.ofClientMessages()) {
                    session.clusterState.handledClientSeq = batch.clientSeq();
                    session.clientSeqDurable(batch.clientSeq());
                }
                session.commits().done();
                batch.committed();
                commitNext(session);
                return;
            }
            Throwable cause = unwrap(error);
            String code = cause instanceof BrokerException b ? b.code() : "";
            if (code.equals(BrokerException.NO_SESSION) || hub.isClosed()) {
                // Gone from the cluster (or this node stops): nothing of it can be applied any more.
                if (batch.ofClientMessages()) {
                    batch.abandoned(session.id());
                } else {
                    batch.failed(cause);
                }
                session.commits().done();
                session.commits().failWaiting(cause);
                if (!hub.isClosed() && code.equals(BrokerException.NO_SESSION) && !session.isClosed()) {
                    // The cluster has no record of a session still attached here (Redis lost it
                    // in a restart without persistence): nothing it does can be recorded any more.
                    // End it here too, so that its client learns at its next hello that the
                    // session is gone, instead of waiting for acknowledgements that never come.
                    reportFailure("commit the messages of session " + session.id() + ": the cluster no longer has it",
                            cause);
                    hub.releaseLocally(session, CloseCodes.TRY_AGAIN_LATER, "session lost by the cluster");
                }
                return;
            }
            if (batch.ofClientMessages() && (code.equals(BrokerException.NOT_OWNER) || session.isClosed())) {
                // Not acknowledged: the client resends it where it resumes. Subscription changes
                // made outside handlers still go to the broker, wherever the session is.
                batch.abandoned(session.id());
                session.commits().done();
                session.commits().abandonClientMessages(session.id());
                commitNext(session);
                return;
            }
            if (retryMs == COMMIT_RETRY_FIRST_MS) {
                reportFailure("commit the messages of session " + session.id() + " (retrying)", error);
            }
            // The same batch again, alone: if the failed call was applied after all, the broker
            // ignores its messages, and its subscription changes apply as once.
            hub.timer.schedule(() -> commit(session, batch, Math.min(retryMs * 2, COMMIT_RETRY_MAX_MS)),
                    retryMs, TimeUnit.MILLISECONDS);
        });
    }

    /**
     * Runs {@code action} once the commit of the client message whose handler runs on this
     * thread is recorded (on a broker thread; never if it is abandoned); false if no handler's
     * effects are being collected on this thread.
     */
    boolean afterCommit(Runnable action) {
        CommitQueue.Collected collecting = collected.get();
        if (collecting == null) {
            return false;
        }
        collecting.committed().thenRun(action);
        return true;
    }

    /**
     * Subscribes the session in the broker: with the commit of the client message whose handler
     * runs on this thread, or else as the session's next commit, retried until the broker
     * records it or the session is gone. The topic table follows when the broker's marker
     * arrives. Completes when recorded.
     */
    CompletableFuture<Void> subscribe(ServerSession session, String topic) {
        return changeSubscription(session, Broker.Effect.subscribe(session.id(), topic));
    }

    /** As {@link #subscribe}, unsubscribing. */
    CompletableFuture<Void> unsubscribe(ServerSession session, String topic) {
        return changeSubscription(session, Broker.Effect.unsubscribe(session.id(), topic));
    }

    /*
     * A change made outside a handler is applied wherever the session is by then: if a retry lands
     * after the session moved, its marker reaches the new owner's topic table but not that
     * session's local topics() set (made from the record at its claim), so the table entry is not
     * removed with the session. It needs an outage, a move and a late retry at once; not handled.
     */
    private CompletableFuture<Void> changeSubscription(ServerSession session, Broker.Effect change) {
        CommitQueue.Collected collecting = collected.get();
        CommitQueue.Collected into = collecting != null ? collecting : new CommitQueue.Collected();
        into.effects.add(change);
        CompletableFuture<Void> recorded = into.committed();
        if (collecting == null && enqueue(session, 0, into)) {
            commitNext(session); // outside a handler: the session's next commit, on its own
        }
        return recorded;
    }

    /** A session of this node opened: its record goes to the broker before anything can reach it. */
    void created(ServerSession session) {
        SessionRecord record = SessionRecord.fresh(session.id(), session.principal().getName(),
                session.tokenHash(), session.protocol().name());
        broker.create(record).whenComplete((position, error) -> {
            if (error != null) {
                reportFailure("create session " + session.id(), error);
                hub.releaseLocally(session, CloseCodes.TRY_AGAIN_LATER, "cluster unavailable");
                return;
            }
            session.goLive(position, List.of());
        });
    }

    void detached(ServerSession session) {
        report(broker.detach(session.id()), "detach session " + session.id());
    }

    void ended(ServerSession session) {
        report(broker.end(session.id()), "end session " + session.id());
    }

    /** The session's retention passed here without a connection: it leaves the cluster's presence. */
    void expired(ServerSession session) {
        report(broker.expire(session.id()), "expire session " + session.id());
    }

    /** The application listens to {@code topic}'s presence: its joins and leaves must come here. */
    void watch(String topic) {
        report(broker.watchPresence(topic), "watch presence of '" + topic + "'");
    }

    void unwatch(String topic) {
        report(broker.unwatchPresence(topic), "unwatch presence of '" + topic + "'");
    }

    /**
     * Records the session's progress. At most one checkpoint per session is in flight or waiting,
     * and one per {@link #CHECKPOINT_INTERVAL_NANOS} while its client is not far ahead (then at
     * once); one asked for meanwhile follows, with the newest values.
     */
    void checkpoint(ServerSession session) {
        SessionLink l = session.link;
        if (l != null && l.protocolVersion() >= ServerSession.POSITIONS_VERSION) {
            return; // its client holds its position (PROTOCOL.md §13): a resume anywhere starts there
        }
        if (session.checkpointWanted()) {
            checkpointWhenDue(session);
        } else if (farAhead(session) && session.takeCheckpointWaiting()) {
            writeCheckpoint(session); // cuts a wait short: the client got far ahead
        }
    }

    /** The caller holds the session's one checkpoint slot. */
    private void checkpointWhenDue(ServerSession session) {
        long wait = session.clusterState.nextCheckpointNanos - System.nanoTime();
        if (wait <= 0 || farAhead(session)) {
            writeCheckpoint(session);
            return;
        }
        session.markCheckpointWaiting();
        hub.timer.schedule(() -> {
            if (session.takeCheckpointWaiting()) {
                writeCheckpoint(session);
            }
        }, wait, TimeUnit.NANOSECONDS);
    }

    /**
     * The checkpoint must stay within the topics' history for a resume elsewhere to find its
     * place: a client an eighth of the replay buffer past the last checkpoint gets the next at once.
     */
    private boolean farAhead(ServerSession session) {
        ServerSession.ClusterState state = session.clusterState;
        return state.ackedForCheckpoint.seq() - state.checkpointedSeq >= Math.max(1, hub.config.replayBufferMessages() / 8);
    }

    private void writeCheckpoint(ServerSession session) {
        ServerSession.ClusterState state = session.clusterState;
        ServerSession.FeedMark acked = state.ackedForCheckpoint;
        long clientSeq = state.handledClientSeq;
        state.checkpointedSeq = acked.seq();
        state.nextCheckpointNanos = System.nanoTime() + CHECKPOINT_INTERVAL_NANOS;
        checkpoints.add(new Broker.Checkpoint(session.id(), acked.seq(), acked.position(), clientSeq)).whenComplete((known, error) -> {
            if (error == null && known) {
                session.clientSeqDurable(clientSeq); // a failure was reported once for its whole batch
            }
            if (session.checkpointDone()) {
                checkpointWhenDue(session);
            }
        });
    }

    private CompletableFuture<Void> report(CompletableFuture<?> future, String what) {
        return future.handle((v, error) -> {
            if (error != null) {
                reportFailure(what, error);
                throw error instanceof CompletionException c ? c : new CompletionException(error);
            }
            return null;
        });
    }

    private void reportFailure(String what, Throwable error) {
        if (hub.isClosed()) {
            return; // the broker closes with the hub: late detaches of closing connections are expected to fail
        }
        hub.brokerFailures.increment();
        Throwable cause = unwrap(error);
        hub.guard("broker", () -> hub.config.errorHandler().onError("broker: " + what + " failed", cause));
    }

    static Throwable unwrap(Throwable error) {
        return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    }

    // ================================================================ resume through the broker

    /** What a claim found: the session prepared on this node (or null), the claim, the feed read. */
    record Resume(ServerSession session, Claim claim, Feed feed) {
    }

    /**
     * Claims the session {@code request} names and reads its feed since the checkpoint. The
     * returned session waits, with live entries held back, until the caller attaches it with
     * {@link ServerSession#attachRecovered} or drops it with {@link #abandon}.
     */
    CompletableFuture<Resume> claim(BrokerResume.Request request) {
        String sessionId = request.sessionId();
        ServerSession local = hub.findSession(sessionId);
        if (local != null) {
            // Same node: the broker still holds everything the client may lack; the local object goes.
            hub.releaseLocally(local, CloseCodes.SESSION_TAKEN_OVER, "session taken over");
        }
        ServerSession session = hub.adoptSession(sessionId, request.token(), request.principal(),
                request.protocol(), request.handler(), request.ackless());
        return broker.claim(sessionId, session.tokenHash(), request.attempt()).thenCompose(claim -> {
            if (claim.status() != Claim.CLAIMED) {
                hub.forget(session);
                return CompletableFuture.completedFuture(new Resume(null, claim, null));
            }
            SessionRecord record = claim.record();
            session.attemptSeen(request.attempt());
            session.restoreTopics(record);
            return read(record, request.readFrom(record), claim.position())
                    .thenApply(feed -> new Resume(session, claim, feed));
        }).whenComplete((r, error) -> {
            if (error != null) {
                hub.forget(session);
            }
        });
    }

    /**
     * Reads the feed of {@code record}'s session after {@code after} up to {@code upTo}, without
     * the entries that except it: those are not part of its feed, so they are dropped here,
     * before anything is numbered, just as live delivery skips them.
     */
    CompletableFuture<Feed> read(SessionRecord record, long after, long upTo) {
        return broker.read(record, after, upTo).thenApply(feed -> withoutExcepted(feed, record.sessionId()));
    }

    static Feed withoutExcepted(Feed feed, String sessionId) {
        if (!feed.complete()) {
            return feed;
        }
        List<Feed.Entry> kept = null;
        List<Feed.Entry> entries = feed.entries();
        for (int i = 0; i < entries.size(); i++) {
            Feed.Entry e = entries.get(i);
            if (sessionId.equals(e.message().except())) {
                if (kept == null) {
                    kept = new ArrayList<>(entries.subList(0, i));
                }
            } else if (kept != null) {
                kept.add(e);
            }
        }
        return kept == null ? feed : Feed.of(kept);
    }

    /** The claimed session will not be attached here: it stays in the broker, claimable. */
    void abandon(ServerSession session) {
        hub.forget(session);
        detached(session);
    }

    /**
     * Why a session the broker does not know cannot be resumed: {@code unknown} if its id has this
     * node's prefix but is not one this node issued (no node ever had it); {@code reset} if this
     * node saw the broker lose data less than one session retention ago (the session may have
     * been lost with it, and no session that expired normally is then told otherwise for long);
     * else {@code expired}: a node cannot tell which ids the others issued, so the broker's
     * answer stands.
     */
    String whyMissing(String sessionId) {
        if (hub.forgedHere(sessionId)) {
            return "unknown";
        }
        long at = lastResetNanos;
        return at != 0 && System.nanoTime() - at < hub.config.sessionRetention().toNanos() ? "reset" : "expired";
    }

    // ================================================================ BrokerListener (delivery thread)

    @Override
    public void onPublished(long position, String topic, BrokerMessage message) {
        hub.deliver(topic, message, position);
    }

    @Override
    public void onSent(long position, String sessionId, BrokerMessage message) {
        ServerSession session = hub.findSession(sessionId);
        if (session != null) {
            session.feedDirect(position, message);
        }
    }

    @Override
    public void onSubscribed(long position, String sessionId, String topic) {
        ServerSession session = hub.findSession(sessionId);
        if (session != null) {
            hub.addSubscriber(topic, session);
        }
    }

    @Override
    public void onUnsubscribed(long position, String sessionId, String topic) {
        ServerSession session = hub.findSession(sessionId);
        if (session != null) {
            hub.removeSubscriber(topic, session);
        }
    }

    @Override
    public void onClaimed(long position, String sessionId, Set<String> topics) {
        ServerSession session = hub.findSession(sessionId);
        if (session != null) {
            for (String topic : topics) {
                hub.addSubscriber(topic, session);
            }
        }
    }

    @Override
    public void onReleased(String sessionId) {
        ServerSession session = hub.findSession(sessionId);
        if (session != null) {
            hub.releaseLocally(session, CloseCodes.SESSION_TAKEN_OVER, "session taken over");
        }
    }

    @Override
    public void onPresence(String topic, String sessionId, String principal, boolean joined) {
        hub.presenceChanged(topic, sessionId, principal, joined);
    }

    @Override
    public void onInterrupted() {
        LOG.log(System.Logger.Level.INFO, "tether: broker stream interrupted; re-reading the feeds of {0} sessions",
                hub.sessionCount());
        hub.presenceGap();
        for (ServerSession session : hub.liveSessions()) {
            resync(session);
        }
    }

    /**
     * Re-reads what the session may have missed live, without disturbing its connection; a
     * session whose feed is held (its create, claim or an earlier re-read under way) is re-read
     * once it goes live, since the markers of its own claim or subscriptions may be what was lost.
     */
    void resync(ServerSession session) {
        long after = session.holdFeed();
        if (after < 0) {
            return; // not live yet: its own claim or create is still under way
        }
        broker.claim(session.id(), session.tokenHash(), 0).thenCompose(claim -> {
            if (claim.status() != Claim.CLAIMED) {
                return CompletableFuture.completedFuture((Feed) null);
            }
            return read(claim.record(), after, claim.position())
                    .thenApply(feed -> {
                        session.goLive(claim.position(), feed.complete() ? feed.entries() : null);
                        return feed;
                    });
        }).whenComplete((feed, error) -> {
            if (error == null && feed == null) {
                // A session live here that the broker does not know: the broker lost its data
                // (its reset may still be on its way to the delivery thread).
                lastResetNanos = System.nanoTime();
            }
            if (error != null || feed == null || !feed.complete()) {
                if (error != null) {
                    reportFailure("re-read session " + session.id(), error);
                }
                // The client resumes through the broker, and learns there what cannot be repaired.
                hub.releaseLocally(session, CloseCodes.TRY_AGAIN_LATER, "cluster interrupted; resume");
            }
        });
    }

    @Override
    public void onReset() {
        LOG.log(System.Logger.Level.WARNING, "tether: the broker lost its data; {0} sessions of this node"
                + " are told of a gap when they resume", hub.sessionCount());
        lastResetNanos = System.nanoTime();
        hub.presenceGap();
        for (ServerSession session : hub.liveSessions()) {
            hub.releaseLocally(session, CloseCodes.SERVER_RESTART, "cluster state lost");
        }
    }

    /** The session's queue overflowed: it leaves this node, and its client resumes from the broker. */
    void overflowed(ServerSession session) {
        hub.slowConsumerCloses.increment();
        hub.config.metrics().slowConsumerClosed();
        hub.releaseLocally(session, CloseCodes.SLOW_CONSUMER, "slow consumer");
        detached(session);
    }

    /** Entries read from the broker, encoded for {@code session}. */
    static List<Outbound> encode(ServerSession session, List<Feed.Entry> entries) {
        List<Outbound> items = new ArrayList<>(entries.size());
        for (Feed.Entry e : entries) {
            BrokerMessage m = e.message();
            items.add(Outbound.reliable(session.protocol().encode(m.event(), m.payload(), e.topic()),
                    m.requestId(), e.position()));
        }
        return items;
    }
}
