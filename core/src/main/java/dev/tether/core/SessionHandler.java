package dev.tether.core;

/**
 * Application callbacks for sessions.
 *
 * <p>Threading: callbacks run on the configured handler executor, never on an I/O thread. For one
 * session they run one at a time and in order (open, messages in arrival order, close); different
 * sessions run in parallel. A callback may block, though that delays the rest of that session's
 * callbacks and, past the configured bound, reading from its connection. A callback that throws
 * is reported to the error handler and counted; the session carries on.
 *
 * @since 0.1.0
 */
public interface SessionHandler {

    /**
     * A new session was created (not called on resume).
     *
     * @param session the new session
     */
    default void onOpen(Session session) {
    }

    /**
     * A message from the client; reliable ones arrive exactly once and in order.
     *
     * @param session the session it came from
     * @param message the message
     */
    default void onMessage(Session session, Message message) {
    }

    /**
     * A request from the client that expects a reply. The default fails it with
     * {@code "unhandled"}.
     *
     * @param session the session it came from
     * @param message the request
     * @param responder answers the request once, now or later, from any thread
     */
    default void onRequest(Session session, Message message, Responder responder) {
        responder.fail("unhandled", "no request handler for '" + message.event() + "'");
    }

    /**
     * Reliable messages for this session's client, sequence numbers {@code fromSeq} to
     * {@code toSeq}, will never be delivered: they overflowed its outbound queue (reason
     * {@code "overflow"}). The client is told of the same gap, in sequence position; both sides
     * should re-synchronise from the source of truth.
     *
     * @param session the session
     * @param fromSeq the first lost sequence number
     * @param toSeq the last lost sequence number
     * @param reason why, such as {@code "overflow"}
     */
    default void onGap(Session session, long fromSeq, long toSeq, String reason) {
    }

    /**
     * A client asked to resume {@code previousSessionId}, which no longer exists (reason
     * {@code "expired"}: this server had it and the retention window passed; {@code "unknown"}:
     * issued by another server or before a restart, or never issued; clustered, also
     * {@code "trimmed"}, {@code "reset"} or {@code "too_many"}, see PROTOCOL.md §3).
     * {@code session} is the fresh session it got instead; {@link #onOpen} follows. Whatever the
     * old session had not delivered, in either direction, is lost, and the client is told so.
     *
     * @param session the fresh session the client got
     * @param previousSessionId the session the client asked for
     * @param reason why it could not be resumed
     */
    default void onResumeFailed(Session session, String previousSessionId, String reason) {
    }

    /**
     * The session ended: expired, closed by the client, or closed by the application.
     *
     * @param session the session
     * @param code the close code ({@link CloseCodes})
     * @param reason the close reason
     */
    default void onClose(Session session, int code, String reason) {
    }
}
