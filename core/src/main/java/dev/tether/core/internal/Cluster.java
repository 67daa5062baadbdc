package dev.tether.core.internal;

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
    /** Sessions this node dropped because the broker lost its data: their resume gets reason "reset". */
    private final Set<String> lostToReset = ConcurrentHashMap.newKeySet();

    Cluster(Hub hub, Broker broker) {
        this.hub = hub;
        this.broker = broker;
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
    CompletableFuture<Void> publish(String topic, String event, Payload payload, boolean isVolatile, String exceptId) {
        BrokerMessage message = new BrokerMessage(event, payload, !isVolatile, 0, exceptId);
        return report(broker.publish(topic, message), "publish on '" + topic + "'");
    }

    /** A direct message to {@code session}, wherever its client is connected now. */
    SendResult send(ServerSession session, String event, Payload payload, boolean isVolatile, long requestId) {
        if (session.isClosed()) {
            return SendResult.CLOSED;
        }
        report(broker.send(session.id(), new BrokerMessage(event, payload, !isVolatile, requestId)),
                "send '" + event + "' to session " + session.id());
        return SendResult.ENQUEUED;
    }

    void subscribe(ServerSession session, String topic) {
        report(broker.subscribe(session.id(), topic), "subscribe " + session.id() + " to '" + topic + "'");
    }

    void unsubscribe(ServerSession session, String topic) {
        report(broker.unsubscribe(session.id(), topic), "unsubscribe " + session.id() + " from '" + topic + "'");
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

    /**
     * Records the session's progress. At most one checkpoint per session is in flight; one asked
     * for meanwhile follows when it completes, with the newest values.
     */
    void checkpoint(ServerSession session) {
        if (!session.checkpointWanted()) {
            return; // one is in flight: it runs again when that completes
        }
        ServerSession.FeedMark acked = session.ackedForCheckpoint;
        long clientSeq = session.handledClientSeq;
        broker.checkpoint(session.id(), acked.seq(), acked.position(), clientSeq).whenComplete((v, error) -> {
            if (error != null && !(unwrap(error) instanceof BrokerException b && BrokerException.NO_SESSION.equals(b.code()))) {
                reportFailure("checkpoint session " + session.id(), error);
            }
            if (error == null) {
                session.clientSeqDurable(clientSeq);
            }
            if (session.checkpointDone()) {
                checkpoint(session);
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
        return broker.claim(sessionId, session.tokenHash()).thenCompose(claim -> {
            if (claim.status() != Claim.CLAIMED) {
                hub.forget(session);
                return CompletableFuture.completedFuture(new Resume(null, claim, null));
            }
            SessionRecord record = claim.record();
            session.restoreTopics(record);
            return read(record, record.checkpointPosition(), claim.position())
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

    /** Why a session the broker does not know cannot be resumed. */
    String whyMissing(String sessionId) {
        return lostToReset.contains(sessionId) ? "reset" : "expired";
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
        // Presence events reach the application through Tether#presence; nothing to route here.
    }

    @Override
    public void onInterrupted() {
        LOG.log(System.Logger.Level.INFO, "tether: broker stream interrupted; re-reading the feeds of {0} sessions",
                hub.sessionCount());
        for (ServerSession session : hub.liveSessions()) {
            resync(session);
        }
    }

    /** Re-reads what the session may have missed live, without disturbing its connection. */
    private void resync(ServerSession session) {
        long after = session.holdFeed();
        if (after < 0) {
            return; // not live yet: its own claim or create is still under way
        }
        broker.claim(session.id(), session.tokenHash()).thenCompose(claim -> {
            if (claim.status() != Claim.CLAIMED) {
                return CompletableFuture.completedFuture((Feed) null);
            }
            return read(claim.record(), after, claim.position())
                    .thenApply(feed -> {
                        session.goLive(claim.position(), feed.complete() ? feed.entries() : null);
                        return feed;
                    });
        }).whenComplete((feed, error) -> {
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
        for (ServerSession session : hub.liveSessions()) {
            lostToReset.add(session.id());
            String id = session.id();
            hub.timer.schedule(() -> lostToReset.remove(id), hub.config.sessionRetention().toNanos(), TimeUnit.NANOSECONDS);
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
