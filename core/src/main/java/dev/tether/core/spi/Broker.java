package dev.tether.core.spi;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A cluster engine: the shared place through which topic publishes, direct messages, session
 * state and message history go, so that several Tether nodes serve one set of sessions and a
 * client whose node dies resumes on another with nothing lost, or with an explicit gap.
 *
 * <p>Without a broker ({@code TetherConfig.broker()} unset, the default) a hub keeps everything
 * in its own memory and nothing here is used. {@code InMemoryCluster} implements this contract
 * inside one JVM (several hubs sharing it form an in-process cluster); {@code tether-redis}
 * implements it on Redis.
 *
 * <h2>Positions</h2>
 * Every reliable entry (a topic publish, a direct message to a session) and every change of a
 * session's subscriptions or ownership gets a <em>position</em>: a number from one counter per
 * broker that grows with every such event, so that all of them are totally ordered. A session's
 * <em>feed</em> is the ordered sequence of
 * <ul>
 *   <li>the reliable entries of every topic it was subscribed to at the entry's position
 *       (subscribed at a position before it, not unsubscribed at a position before it), and</li>
 *   <li>the direct messages sent to it.</li>
 * </ul>
 * An entry whose {@link BrokerMessage#except()} names a session is stored, delivered and read
 * like any other entry of its topic; the engine leaves it out of that session's numbering.
 * The engine numbers a session's feed 1, 2, 3, … (the wire protocol's sequence numbers): since
 * the feed is a pure function of the broker's history, any node computes the same numbering
 * from a {@link SessionRecord#checkpointSeq() checkpoint}, which is how a client resumes on a
 * node that never saw it.
 *
 * <h2>Live delivery</h2>
 * After {@link #start}, the broker calls its {@link BrokerListener} on one thread, in position
 * order, with everything that concerns the sessions this node owns: the entries of topics they
 * subscribe to, their direct messages, and the markers of their subscription and ownership
 * changes at the position where each took effect. A listener's callbacks are engine code that
 * only enqueues; the broker never runs application code.
 *
 * <h2>Failures</h2>
 * Every method returns at once; its future completes on a broker thread. A future fails with a
 * {@link BrokerException} when the broker cannot be reached within its configured timeout; no
 * call is buffered without bound while the broker is unreachable. When the live stream may have
 * missed entries (a reconnect), the broker calls {@link BrokerListener#onInterrupted}; when its
 * history was lost (an engine restart without persistence), {@link BrokerListener#onReset}.
 *
 * <p>Implementations are thread-safe. Compatibility kit: {@code BrokerContract} in core's tests.
 *
 * @since 0.1.0
 */
public interface Broker extends AutoCloseable {

    /**
     * Connects and starts live delivery to the node's listener. Called once, by the hub that
     * owns this broker instance, before any other method.
     *
     * @param node the hub's listener and settings
     */
    void start(Node node);

    /**
     * What the hub tells its broker at start.
     *
     * @param listener           where live entries and markers go
     * @param sessionRetentionMs how long a record outlives its last connection (or its node)
     * @param connections        this node's open connections now, for the cluster count
     */
    record Node(BrokerListener listener, long sessionRetentionMs, java.util.function.IntSupplier connections) {
        /**
         * The hub's listener and settings.
         *
         * @param connections this node's open connections now, for the cluster count
         * @param listener where live entries and markers go
         * @param sessionRetentionMs how long a record outlives its last connection (or its node)
         * @throws IllegalArgumentException if {@code sessionRetentionMs} is not positive
         */
        public Node {
            Objects.requireNonNull(listener, "listener");
            Objects.requireNonNull(connections, "connections");
            if (sessionRetentionMs <= 0) {
                throw new IllegalArgumentException("sessionRetentionMs must be positive: " + sessionRetentionMs);
            }
        }
    }

    /**
     * This node's id in the cluster: unique among live nodes, new with every start.
     *
     * @return the id
     */
    String nodeId();

    /**
     * Publishes on {@code topic}. A reliable message is appended to the topic's history with a
     * new position and delivered to every node with a subscriber; a volatile one is delivered
     * live only (position 0), never stored.
     *
     * @param topic   the topic
     * @param message the message
     * @return completes when the broker has it
     */
    CompletableFuture<Void> publish(String topic, BrokerMessage message);

    /**
     * Sends a message to one session, wherever it is owned: a reliable one is appended to the
     * session's feed. Completes exceptionally with {@link BrokerException#NO_SESSION} when the
     * session is unknown or ended.
     *
     * @param sessionId the session
     * @param message   the message
     * @return completes when the broker has it
     */
    CompletableFuture<Void> send(String sessionId, BrokerMessage message);

    /**
     * Creates a session record owned by this node. Completes with the position at which the
     * session's feed starts; the listener sees {@link BrokerListener#onClaimed} at that
     * position, with no topics.
     *
     * @param record the new session's record
     * @return the position at which its feed starts
     */
    CompletableFuture<Long> create(SessionRecord record);

    /**
     * Takes ownership of an existing session for this node (a resume, possibly of a session
     * another node owned, which then gets {@link BrokerListener#onReleased}). Completes with the
     * session's record and the claim position; the listener sees {@link BrokerListener#onClaimed}
     * at that position, after which the session's entries come live to this node. Completes
     * with {@link Claim#missing} when there is no such session.
     *
     * @param sessionId the session
     * @param tokenHash the SHA-256 of the resume token the client presented; a mismatch completes
     *     with {@link Claim#forbidden()} and changes nothing
     * @param attempt   the client's resume attempt number (PROTOCOL.md §3), or 0 for none: one not
     *     above the highest this session's claims carried completes with {@link Claim#stale()}
     *     and changes nothing; a higher one is recorded
     * @return the claim's answer
     */
    CompletableFuture<Claim> claim(String sessionId, byte[] tokenHash, long attempt);

    /**
     * Reads the feed of a session after {@code after} up to and including {@code upTo}, as the
     * session's record describes it, in position order. {@link Feed#complete()} is false when
     * part of it is no longer held (history trimmed or expired, or lost with the broker's
     * data); the entries are then of no use and the engine reports a gap.
     *
     * @param record the session's record, as a claim returned it
     * @param after  the position after which to read
     * @param upTo   the last position to read
     * @return the entries, or an incomplete feed with its reason
     */
    CompletableFuture<Feed> read(SessionRecord record, long after, long upTo);

    /**
     * Subscribes a session owned by this node. Completes with the position from which the
     * topic's entries are in the session's feed; the listener sees
     * {@link BrokerListener#onSubscribed} at that position.
     *
     * @param sessionId the session
     * @param topic     the topic
     * @return the subscription's position
     */
    CompletableFuture<Long> subscribe(String sessionId, String topic);

    /**
     * Unsubscribes; the listener sees {@link BrokerListener#onUnsubscribed} at the position returned.
     *
     * @param sessionId the session
     * @param topic     the topic
     * @return the position at which it ended
     */
    CompletableFuture<Long> unsubscribe(String sessionId, String topic);

    /**
     * Records that the server processed the client's messages of session {@code sessionId} up
     * to {@code clientSeq}, together with what their handlers did through the broker, in one
     * atomic step: either every effect is applied (in list order, each as {@link #publish},
     * {@link #send}, {@link #subscribe} or {@link #unsubscribe} would, with its own position)
     * and the client sequence number is recorded, or nothing is. A client message whose effects
     * were committed is never processed again, on any node; one whose commit was lost is
     * processed again after its client resends it.
     *
     * <p>When the recorded client sequence number is already {@code clientSeq} or higher (a
     * commit that was applied although its caller saw a timeout, then sent again), no publish
     * or send is applied; subscription effects are, because applying one again changes nothing
     * (a subscribed session stays subscribed from its first position, an unsubscribed one stays
     * unsubscribed) except that its marker is delivered again. A commit with {@code clientSeq}
     * 0 carries subscription effects made outside any client message's handler. An effect on a
     * session that no longer exists (a send, a subscription of another session) is skipped.
     *
     * <p>Completes exceptionally, with nothing applied, with {@link BrokerException#NO_SESSION}
     * when {@code sessionId} is unknown or ended, and with {@link BrokerException#NOT_OWNER} when
     * {@code clientSeq} is above 0 and another node claimed the session since: its client
     * resends the messages where it resumed, so a late commit of the former node must not run
     * them a second time.
     *
     * @param sessionId the session whose client messages were processed
     * @param clientSeq the highest client sequence number processed, or 0 for none
     * @param effects   in the order the handlers made them; may be empty
     * @return completes when the broker recorded it
     */
    CompletableFuture<Void> commit(String sessionId, long clientSeq, List<Effect> effects);

    /**
     * One thing a handler did through the broker while processing a client message: a reliable
     * publish, a reliable direct message, or a change of a session's subscriptions.
     *
     * @param kind      what the effect does
     * @param topic     the topic of a publish or a subscription change, else null
     * @param sessionId the session of a direct message or a subscription change, else null
     * @param message   the reliable message of a publish or a direct message, else null
     */
    record Effect(Kind kind, String topic, String sessionId, BrokerMessage message) {

        /** What an {@link Effect} does. */
        public enum Kind {
            /** A reliable publish on {@code topic}. */
            PUBLISH,
            /** A reliable direct message to {@code sessionId}. */
            SEND,
            /** Subscribes {@code sessionId} to {@code topic}. */
            SUBSCRIBE,
            /** Unsubscribes {@code sessionId} from {@code topic}. */
            UNSUBSCRIBE
        }

        /**
         * An effect; each kind has exactly its fields.
         *
         * @param kind what the effect does
         * @param message the reliable message of a publish or a direct message, else null
         * @param sessionId the session of a direct message or a subscription change, else null
         * @param topic the topic of a publish or a subscription change, else null
         * @throws IllegalArgumentException if a field the kind needs is missing, one it has not is
         *     present, or the message is volatile
         */
        public Effect {
            Objects.requireNonNull(kind, "kind");
            boolean hasTopic = kind != Kind.SEND;
            boolean hasSession = kind != Kind.PUBLISH;
            boolean hasMessage = kind == Kind.PUBLISH || kind == Kind.SEND;
            if ((topic != null) != hasTopic || (sessionId != null) != hasSession || (message != null) != hasMessage) {
                throw new IllegalArgumentException(kind + ": "
                        + (hasTopic ? "a topic" : "no topic") + ", " + (hasSession ? "a session" : "no session")
                        + " and " + (hasMessage ? "a message" : "no message"));
            }
            if (message != null && !message.reliable()) {
                throw new IllegalArgumentException("an effect is reliable: volatile messages are not committed");
            }
        }

        /**
         * A publish on {@code topic}.
         *
         * @param topic   the topic
         * @param message a reliable message
         * @return the effect
         */
        public static Effect publish(String topic, BrokerMessage message) {
            return new Effect(Kind.PUBLISH, Objects.requireNonNull(topic, "topic"), null,
                    Objects.requireNonNull(message, "message"));
        }

        /**
         * A direct message to session {@code sessionId}.
         *
         * @param sessionId the session
         * @param message   a reliable message
         * @return the effect
         */
        public static Effect send(String sessionId, BrokerMessage message) {
            return new Effect(Kind.SEND, null, Objects.requireNonNull(sessionId, "sessionId"),
                    Objects.requireNonNull(message, "message"));
        }

        /**
         * Subscribes session {@code sessionId} to {@code topic}.
         *
         * @param sessionId the session
         * @param topic     the topic
         * @return the effect
         */
        public static Effect subscribe(String sessionId, String topic) {
            return new Effect(Kind.SUBSCRIBE, Objects.requireNonNull(topic, "topic"),
                    Objects.requireNonNull(sessionId, "sessionId"), null);
        }

        /**
         * Unsubscribes session {@code sessionId} from {@code topic}.
         *
         * @param sessionId the session
         * @param topic     the topic
         * @return the effect
         */
        public static Effect unsubscribe(String sessionId, String topic) {
            return new Effect(Kind.UNSUBSCRIBE, Objects.requireNonNull(topic, "topic"),
                    Objects.requireNonNull(sessionId, "sessionId"), null);
        }
    }

    /**
     * Records how far a session got: the client acknowledged its feed up to sequence number
     * {@code seq} (position {@code position}), and the server processed the client's messages up
     * to {@code clientSeq}. History before the checkpoint may then be forgotten. Completes once
     * the record is durable in the broker; the engine acknowledges the client's messages only
     * up to a durable {@code clientSeq}. A checkpoint of a session that another node owns now
     * (a late one of its former node) changes nothing: it must not trim history under the new
     * owner's read of the feed.
     *
     * @param sessionId the session
     * @param seq       the highest sequence number the client acknowledged
     * @param position  that message's position
     * @param clientSeq the highest client sequence number processed
     * @return completes when it is durable
     */
    CompletableFuture<Void> checkpoint(String sessionId, long seq, long position, long clientSeq);

    /**
     * Records the checkpoints of several sessions at once, each as {@link #checkpoint} would: one
     * round trip for many sessions, so that the broker's work for checkpoints does not grow in
     * round trips with the number of sessions. Completes with one flag per checkpoint, in order:
     * false if its session is unknown (where {@link #checkpoint} fails with
     * {@link BrokerException#NO_SESSION}). Fails as a whole if the broker cannot be reached.
     * The default calls {@link #checkpoint} for each.
     *
     * @param batch the checkpoints
     * @return one flag per checkpoint: false if its session is unknown
     */
    default CompletableFuture<List<Boolean>> checkpoints(List<Checkpoint> batch) {
        List<CompletableFuture<Boolean>> each = new java.util.ArrayList<>(batch.size());
        for (Checkpoint c : batch) {
            each.add(checkpoint(c.sessionId(), c.seq(), c.position(), c.clientSeq()).handle((v, error) -> {
                if (error == null) {
                    return true;
                }
                Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                if (cause instanceof BrokerException b && BrokerException.NO_SESSION.equals(b.code())) {
                    return false;
                }
                throw new java.util.concurrent.CompletionException(cause);
            }));
        }
        return CompletableFuture.allOf(each.toArray(new CompletableFuture<?>[0]))
                .thenApply(v -> each.stream().map(CompletableFuture::join).toList());
    }

    /**
     * One session's checkpoint in a {@link #checkpoints} batch, as {@link #checkpoint} takes it.
     *
     * @param sessionId the session
     * @param seq       the highest sequence number the client acknowledged
     * @param position  that message's position
     * @param clientSeq the highest client sequence number processed
     */
    record Checkpoint(String sessionId, long seq, long position, long clientSeq) {
        /**
         * A checkpoint.
         *
         * @param clientSeq the highest client sequence number processed
         * @param position that message's position
         * @param seq the highest sequence number the client acknowledged
         * @param sessionId the session
         */
        public Checkpoint {
            Objects.requireNonNull(sessionId, "sessionId");
        }
    }

    /**
     * The session is detached from every connection: unless it is claimed again, this node
     * calls {@link #expire} when the session retention passes, and if this node dies first the
     * record expires on its own about one retention later. The records of sessions this node owns and that
     * stay attached are kept alive while the node lives, and expire one retention after it dies.
     *
     * @param sessionId the session
     * @return completes when recorded
     */
    CompletableFuture<Void> detach(String sessionId);

    /**
     * The session's retention passed on this node, its owner, with no connection: the session is
     * gone. It leaves the presence of its topics (with leave events) and a later {@link #claim}
     * completes with {@link Claim#missing}. Does nothing if another node owns the session now or
     * it ended.
     *
     * @param sessionId the session
     * @return completes when recorded
     */
    CompletableFuture<Void> expire(String sessionId);

    /**
     * The sessions subscribed to {@code topic} on every live node: session id to principal name.
     * Entries of a node that died are gone within {@link #nodeTimeoutMs()}.
     *
     * @param topic the topic
     * @return session id to principal name
     */
    CompletableFuture<java.util.Map<String, String>> presence(String topic);

    /**
     * From now on this node's listener hears the joins and leaves of {@code topic}
     * ({@link BrokerListener#onPresence}) even while no session of this node subscribes to it.
     * A node watches a topic or not: watching twice is watching once. A watch ends with
     * {@link #unwatchPresence}, or with the node (it leaves, or is taken for dead).
     *
     * @param topic the topic
     * @return completes when the watch is registered
     */
    CompletableFuture<Void> watchPresence(String topic);

    /**
     * Ends {@link #watchPresence}: joins and leaves of {@code topic} come only while a session of this node subscribes.
     *
     * @param topic the topic
     * @return completes when the watch is gone
     */
    CompletableFuture<Void> unwatchPresence(String topic);

    /**
     * Open connections over every live node, as each last reported it.
     *
     * @return the count
     */
    CompletableFuture<Long> clusterConnections();

    /**
     * How long after its last heartbeat a node counts as dead.
     *
     * @return milliseconds
     */
    long nodeTimeoutMs();

    /**
     * Ends a session for good: a later {@link #claim} completes with {@link Claim#ended()}.
     *
     * @param sessionId the session
     * @return completes when recorded
     */
    CompletableFuture<Void> end(String sessionId);

    /** Stops live delivery and closes the connections. Sessions this node owned stay claimable. */
    @Override
    void close();
}
