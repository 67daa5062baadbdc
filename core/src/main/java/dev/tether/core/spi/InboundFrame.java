package dev.tether.core.spi;

import dev.tether.core.Payload;

/**
 * A frame from a client, decoded by a {@link Protocol}. The engine validates sequence numbers,
 * acknowledgements and state; a protocol only checks the shape.
 *
 * @since 0.1.0
 */
public sealed interface InboundFrame {

    /**
     * The first frame of every connection: a new session, or the resume of an old one.
     *
     * @param sessionId   the session to resume, or {@code null} for a new session
     * @param resumeToken the resume token issued with that session, or {@code null}
     * @param lastSeq     the last server sequence number the client received (0 if none)
     * @param attempt     numbers the client's resumes of this session 1, 2, 3, ...; a resume
     *                    whose attempt is not above one already seen is stale (a connection the
     *                    client gave up on) and refused. 0 when absent: no check
     * @param version     the highest protocol version the client speaks (at least 1); the
     *                    connection speaks the lower of it and the server's
     * @param position    protocol version 3, clustered servers: the cluster position ({@code pos})
     *                    of the message numbered {@code lastSeq}, from which the session resumes
     *                    on any node; 0 when absent
     */
    record Hello(String sessionId, String resumeToken, long lastSeq, long attempt, int version, long position)
            implements InboundFrame {

        /**
         * Checks the version and the position.
         *
         * @param sessionId the session to resume, or {@code null} for a new session
         * @param resumeToken the resume token issued with that session, or {@code null}
         * @param lastSeq the last server sequence number the client received (0 if none)
         * @param attempt the number of this resume attempt, or 0 when absent
         * @param version the highest protocol version the client speaks, at least 1
         * @param position the cluster position of message {@code lastSeq}, or 0 when absent
         * @throws IllegalArgumentException if {@code version} is below 1 or {@code position} negative
         */
        public Hello {
            if (version < 1) {
                throw new IllegalArgumentException("version must be at least 1: " + version);
            }
            if (position < 0) {
                throw new IllegalArgumentException("position must not be negative: " + position);
            }
        }

        /**
         * A hello without a position.
         *
         * @param attempt the number of this resume attempt, or 0 when absent
         * @param lastSeq the last server sequence number the client received (0 if none)
         * @param resumeToken the resume token issued with that session, or {@code null}
         * @param sessionId the session to resume, or {@code null} for a new session
         * @param version the highest protocol version the client speaks, at least 1
         */
        public Hello(String sessionId, String resumeToken, long lastSeq, long attempt, int version) {
            this(sessionId, resumeToken, lastSeq, attempt, version, 0);
        }

        /**
         * A hello of a version 1 client.
         *
         * @param sessionId the session to resume, or {@code null} for a new session
         * @param resumeToken the resume token issued with that session, or {@code null}
         * @param lastSeq the last server sequence number the client received (0 if none)
         * @param attempt the number of this resume attempt, or 0 when absent
         */
        public Hello(String sessionId, String resumeToken, long lastSeq, long attempt) {
            this(sessionId, resumeToken, lastSeq, attempt, 1);
        }
    }

    /**
     * A fresh token for the live session (protocol version 2), sent when the server asked with
     * {@link OutboundFrame.Refresh} or earlier; answered {@link OutboundFrame.Ok} or
     * {@link OutboundFrame.Error} with the same {@code id}.
     *
     * @param id    positive; correlates the answer
     * @param token the token, as it would go in {@code Authorization: Bearer}
     */
    record Auth(long id, String token) implements InboundFrame {
        @Override
        public String toString() {
            return "Auth[id=" + id + "]"; // never the token
        }
    }

    /**
     * An application message.
     *
     * @param seq       the client's sequence number (1, 2, 3, ...), or 0 for a volatile message
     * @param requestId non-zero when the client expects a reply with this id
     * @param event     the event name
     * @param payload   the content
     * @param topic     the topic to publish to, or {@code null} for a message to the server
     */
    record Msg(long seq, long requestId, String event, Payload payload, String topic) implements InboundFrame { }

    /**
     * The reply to a request the server made.
     *
     * @param requestId    the request's id
     * @param payload      the reply, or {@code null} when the request failed
     * @param errorCode    the failure code when the request failed, else {@code null}
     * @param errorMessage the failure message when the request failed, else {@code null}
     */
    record Reply(long requestId, Payload payload, String errorCode, String errorMessage) implements InboundFrame { }

    /** Cumulative acknowledgement: the client received every server message up to {@code seq}. */
    record Ack(long seq) implements InboundFrame { }

    /** Heartbeat answer; {@code ack} is a cumulative acknowledgement like {@link Ack}, or -1 if absent. */
    record Pong(long ack) implements InboundFrame { }

    /** Subscribe to {@code topic}; {@code id} correlates the server's ok or error. */
    record Subscribe(long id, String topic) implements InboundFrame { }

    /** Unsubscribe from {@code topic}; {@code id} correlates the server's ok or error. */
    record Unsubscribe(long id, String topic) implements InboundFrame { }

    /**
     * A frame of a type the protocol does not know, such as one of a later protocol version. The
     * engine ignores it once the session is established and refuses it as a first frame.
     *
     * @param type the frame's type as sent, for diagnostics
     */
    record Unknown(String type) implements InboundFrame { }
}
