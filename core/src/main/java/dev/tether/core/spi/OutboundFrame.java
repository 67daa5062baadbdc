package dev.tether.core.spi;

import dev.tether.core.Payload;

/**
 * A control frame from the server, encoded by a {@link Protocol}. Application messages are not
 * among them: they go through {@link Protocol#encode} and {@link Protocol#frame} so that a topic
 * publish is encoded once.
 *
 * @since 0.1.0
 */
public sealed interface OutboundFrame {

    /**
     * The answer to {@link InboundFrame.Hello}.
     *
     * @param sessionId          the session's public id
     * @param resumeToken        the secret that resumes this session
     * @param resumed            whether an existing session was resumed
     * @param lastClientSeq      the last client sequence number the server processed
     * @param gapFrom            first server sequence number the client will never get, or 0
     * @param gapTo              last server sequence number the client will never get, or 0
     * @param reason             why the resume was refused or has a gap, or {@code null}
     * @param heartbeatIntervalMs how often the server pings
     * @param heartbeatTimeoutMs  how long the server waits for the answer
     * @param maxMessageBytes    the largest message the server accepts
     * @param version            the protocol version the connection speaks: the lower of the
     *                           client's and the server's
     */
    record Welcome(String sessionId, String resumeToken, boolean resumed, long lastClientSeq,
                   long gapFrom, long gapTo, String reason,
                   long heartbeatIntervalMs, long heartbeatTimeoutMs, int maxMessageBytes, int version)
            implements OutboundFrame {

        /**
         * A welcome of protocol version 1.
         *
         * @param sessionId the session's public id
         * @param resumeToken the secret that resumes this session
         * @param resumed whether an existing session was resumed
         * @param lastClientSeq the last client sequence number the server processed
         * @param gapFrom first server sequence number the client will never get, or 0
         * @param gapTo last server sequence number the client will never get, or 0
         * @param reason why the resume was refused or has a gap, or {@code null}
         * @param heartbeatIntervalMs how often the server pings
         * @param heartbeatTimeoutMs how long the server waits for the answer
         * @param maxMessageBytes the largest message the server accepts
         */
        public Welcome(String sessionId, String resumeToken, boolean resumed, long lastClientSeq,
                       long gapFrom, long gapTo, String reason,
                       long heartbeatIntervalMs, long heartbeatTimeoutMs, int maxMessageBytes) {
            this(sessionId, resumeToken, resumed, lastClientSeq, gapFrom, gapTo, reason,
                    heartbeatIntervalMs, heartbeatTimeoutMs, maxMessageBytes, 1);
        }
    }

    /** Cumulative acknowledgement of client messages up to {@code seq}. */
    record Ack(long seq) implements OutboundFrame { }

    /**
     * Heartbeat; carries the cumulative ack of client messages, or 0 when none was acknowledged
     * yet (the native protocol then leaves the field out).
     */
    record Ping(long ack) implements OutboundFrame { }

    /** A successful reply to a client request. */
    record Reply(long requestId, Payload payload) implements OutboundFrame { }

    /** A failed reply to a client request. */
    record ReplyError(long requestId, String code, String message) implements OutboundFrame { }

    /**
     * Success of a subscribe, an unsubscribe or an {@link InboundFrame.Auth}.
     *
     * @param id          the id of the frame it answers
     * @param expiresAtMs for an accepted token: when it expires (milliseconds since the epoch), or
     *                    0 if it does not or for another frame
     */
    record Ok(long id, long expiresAtMs) implements OutboundFrame {

        /**
         * Success of a subscribe or unsubscribe.
         *
         * @param id the id of the frame it answers
         */
        public Ok(long id) {
            this(id, 0);
        }
    }

    /**
     * An error that does not close the connection.
     *
     * @param id      the id of the {@code sub}, {@code unsub} or {@code auth} it answers, or 0
     * @param seq     the sequence number of the client message it refuses, or 0 (also for a
     *                refused volatile message)
     * @param code    a stable machine-readable code, e.g. {@code "forbidden"}
     * @param message a human-readable description
     */
    record Error(long id, long seq, String code, String message) implements OutboundFrame { }

    /** Server messages {@code from}..{@code to} (inclusive) are lost and will never be delivered. */
    record Gap(long from, long to, String reason) implements OutboundFrame { }

    /** The server is going away: reconnect after {@code afterMs} milliseconds. */
    record Reconnect(long afterMs) implements OutboundFrame { }

    /**
     * The connection's credentials expire soon: send a fresh token ({@link InboundFrame.Auth})
     * before then. Protocol version 2.
     *
     * @param expiresAtMs when they expire, in milliseconds since the epoch
     * @param expiresInMs how long from now, in milliseconds (what a client should go by: it does
     *                    not depend on the two clocks agreeing)
     */
    record Refresh(long expiresAtMs, long expiresInMs) implements OutboundFrame { }
}
