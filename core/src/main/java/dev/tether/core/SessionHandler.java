package dev.tether.core;

/**
 * Application callbacks for sessions.
 *
 * <p>Threading: callbacks run on the configured handler executor, never on an I/O thread. For one
 * session they run one at a time and in order (open, messages in arrival order, close); different
 * sessions run in parallel. A callback may block, though that delays the rest of that session's
 * callbacks and, past the configured bound, reading from its connection. A callback that throws
 * is reported to the error handler and counted; the session carries on.
 */
public interface SessionHandler {

    /** A new session was created (not called on resume). */
    default void onOpen(Session session) {
    }

    /** A message from the client; reliable ones arrive exactly once and in order. */
    default void onMessage(Session session, Message message) {
    }

    /**
     * A request from the client that expects a reply. The default fails it with
     * {@code "unhandled"}.
     */
    default void onRequest(Session session, Message message, Responder responder) {
        responder.fail("unhandled", "no request handler for '" + message.event() + "'");
    }

    /**
     * Messages from the client were lost: its resume found a gap it could not fill, or this
     * side's session was gone. Re-synchronise from the source of truth.
     */
    default void onGap(Session session, long fromSeq, long toSeq, String reason) {
    }

    /** The session ended: expired, closed by the client, or closed by the application. */
    default void onClose(Session session, int code, String reason) {
    }
}
