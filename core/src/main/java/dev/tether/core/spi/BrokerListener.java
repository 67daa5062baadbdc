package dev.tether.core.spi;

import java.util.Set;

/**
 * What a {@link Broker} tells the engine of its node. Every method is called on one broker
 * thread at a time, in position order, and returns quickly: the engine only routes and
 * enqueues. Never throws.
 *
 * @since 0.1.0
 */
public interface BrokerListener {

    /**
     * An entry of {@code topic}, which at least one session of this node subscribes to. A
     * volatile message has position 0.
     *
     * @param position the entry's position, or 0 for a volatile message
     * @param topic the topic
     * @param message the message
     */
    void onPublished(long position, String topic, BrokerMessage message);

    /**
     * A direct message to a session this node owns.
     *
     * @param position the entry's position, or 0 for a volatile message
     * @param sessionId the session it is for
     * @param message the message
     */
    void onSent(long position, String sessionId, BrokerMessage message);

    /**
     * A session of this node subscribed to {@code topic}: entries after {@code position} are in its feed.
     *
     * @param position the position of the subscribe
     * @param sessionId the session
     * @param topic the topic
     */
    void onSubscribed(long position, String sessionId, String topic);

    /**
     * A session of this node unsubscribed: entries after {@code position} are not in its feed.
     *
     * @param position the position of the unsubscribe
     * @param sessionId the session
     * @param topic the topic
     */
    void onUnsubscribed(long position, String sessionId, String topic);

    /**
     * This node now owns the session: its entries after {@code position}, on {@code topics} and
     * direct, come to this node.
     *
     * @param position the position of the claim
     * @param sessionId the session
     * @param topics the topics it subscribes to
     */
    void onClaimed(long position, String sessionId, Set<String> topics);

    /**
     * A session joined ({@code joined}) or left a topic that a session of this node subscribes
     * to, or that this node {@linkplain Broker#watchPresence watches}, on any node. A session
     * leaves when it unsubscribes, ends or {@linkplain Broker#expire expires}, and when its node
     * leaves or dies (within {@link Broker#nodeTimeoutMs()}); a session whose node left or died
     * joins again when another node claims it. A session that moves between live nodes (a
     * claim) neither leaves nor joins.
     *
     * @param topic the topic
     * @param sessionId the session
     * @param principal the session's principal name
     * @param joined {@code true} for a join, {@code false} for a leave
     */
    void onPresence(String topic, String sessionId, String principal, boolean joined);

    /**
     * Another node claimed a session this node owned: drop it here without ending it.
     *
     * @param sessionId the session
     */
    void onReleased(String sessionId);

    /**
     * The live stream may have missed entries (the broker reconnected). Everything delivered
     * before this call was complete; the engine re-reads the feed of each session it owns.
     */
    void onInterrupted();

    /**
     * The broker lost its history and session records (for example a Redis restart without
     * persistence): positions restart, and every session's feed has an unknown gap. The engine
     * reports it to each client and re-creates the records of the sessions it holds.
     */
    void onReset();
}
