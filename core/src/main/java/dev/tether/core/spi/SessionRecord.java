package dev.tether.core.spi;

import java.util.List;
import java.util.Objects;

/**
 * What a {@link Broker} keeps of a session so that any node can resume it: written when it
 * changes (created, subscribed, checkpointed), never only when the session closes.
 *
 * @param sessionId      the public session id
 * @param principal      the name of the principal the session is bound to
 * @param tokenHash      the SHA-256 of the resume token (the token itself is never stored)
 * @param protocol       the name of the session's wire protocol, such as {@code tether-json/1}
 * @param subscriptions  the subscriptions that shape the feed after the checkpoint: the current
 *                       ones and those that ended after it
 * @param checkpointSeq      the highest sequence number the client acknowledged, as last recorded
 * @param checkpointPosition the position of that entry (or where the feed starts, if none)
 * @param clientSeq      the highest client sequence number the server processed, as last recorded
 * @since 0.1.0
 */
public record SessionRecord(String sessionId, String principal, byte[] tokenHash, String protocol,
                            List<Subscription> subscriptions, long checkpointSeq,
                            long checkpointPosition, long clientSeq) {

    /**
     * Checks the components and copies the subscriptions and the token hash.
     *
     * @param sessionId the public session id
     * @param principal the name of the principal the session is bound to
     * @param tokenHash the SHA-256 of the resume token
     * @param protocol the name of the session's wire protocol
     * @param subscriptions the subscriptions that shape the feed after the checkpoint
     * @param checkpointSeq the highest sequence number the client acknowledged
     * @param checkpointPosition the position of that entry
     * @param clientSeq the highest client sequence number the server processed
     */
    public SessionRecord {
        Objects.requireNonNull(sessionId, "sessionId");
        Objects.requireNonNull(principal, "principal");
        Objects.requireNonNull(tokenHash, "tokenHash");
        Objects.requireNonNull(protocol, "protocol");
        subscriptions = List.copyOf(subscriptions);
        tokenHash = tokenHash.clone();
    }

    /**
     * A new session's record: no subscriptions, nothing sent or received.
     *
     * @param sessionId the public session id
     * @param principal the name of the principal the session is bound to
     * @param tokenHash the SHA-256 of the resume token
     * @param protocol the name of the session's wire protocol
     * @return the record
     */
    public static SessionRecord fresh(String sessionId, String principal, byte[] tokenHash, String protocol) {
        return new SessionRecord(sessionId, principal, tokenHash, protocol, List.of(), 0, 0, 0);
    }

    /** {@return a copy of the SHA-256 of the resume token} */
    @Override
    public byte[] tokenHash() {
        return tokenHash.clone();
    }

    /**
     * One subscription of a session: entries of {@code topic} with a position in
     * ({@code from}, {@code to}] are in its feed.
     *
     * @param topic the topic
     * @param from  the position after which entries are in the feed
     * @param to    {@link Long#MAX_VALUE} while the subscription lasts
     */
    public record Subscription(String topic, long from, long to) {
        /**
         * Validates the components.
         *
         * @param topic the topic
         * @param from the position after which entries are in the feed
         * @param to the last position in the feed, {@link Long#MAX_VALUE} while the subscription lasts
         */
        public Subscription {
            Objects.requireNonNull(topic, "topic");
            if (to < from) {
                throw new IllegalArgumentException("subscription ends before it starts: " + from + ".." + to);
            }
        }

        /** {@return whether the subscription still lasts} */
        public boolean current() {
            return to == Long.MAX_VALUE;
        }

        /**
         * Tells whether an entry is in the feed by this subscription.
         *
         * @param position an entry's position
         * @return whether an entry at {@code position} is in the feed by this subscription
         */
        public boolean covers(long position) {
            return position > from && position <= to;
        }
    }
}
