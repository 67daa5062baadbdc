package dev.tether.core;

/**
 * The WebSocket close codes Tether sends, as documented in PROTOCOL.md.
 *
 * <p>Codes 4000-4499 mean "reconnect and resume": the session is kept for the retention window.
 * Codes 4500-4999 are terminal: reconnecting with the same input will fail the same way. Tether
 * uses 4012/4013 rather than the IANA codes 1012/1013 because some WebSocket implementations
 * (Undertow's among them) refuse 1012-1014 as protocol errors.
 *
 * @since 0.1.0
 */
public final class CloseCodes {

    /** Normal closure. */
    public static final int NORMAL = 1000;
    /** The peer is going away (browser navigation, process exit). */
    public static final int GOING_AWAY = 1001;
    /** A WebSocket protocol error. */
    public static final int PROTOCOL_ERROR = 1002;
    /** Text that is not valid UTF-8. */
    public static final int INVALID_PAYLOAD = 1007;
    /** A policy violation. */
    public static final int POLICY_VIOLATION = 1008;
    /** A message over the configured maximum size. */
    public static final int MESSAGE_TOO_BIG = 1009;
    /** An unexpected server failure. */
    public static final int INTERNAL_ERROR = 1011;
    /** The socket died without a close frame (never sent, only reported). */
    public static final int ABNORMAL = 1006;

    /** Resumable: no traffic within the heartbeat timeout. */
    public static final int HEARTBEAT_TIMEOUT = 4002;
    /**
     * Resumable: no hello within the hello timeout. Under overload a healthy client can miss it,
     * so it may try again (with backoff); an idle socket is gone either way.
     */
    public static final int HELLO_TIMEOUT = 4003;
    /** Resumable: inbound rate limit exceeded. */
    public static final int RATE_LIMITED = 4008;
    /** Resumable: the client did not keep up; its session is kept and can be resumed. */
    public static final int SLOW_CONSUMER = 4009;
    /** Terminal for this connection: another connection resumed the session (do not resume back). */
    public static final int SESSION_TAKEN_OVER = 4010;
    /** The server is restarting or draining: reconnect after the announced delay. */
    public static final int SERVER_RESTART = 4012;
    /** The server is overloaded: try again later. */
    public static final int TRY_AGAIN_LATER = 4013;
    /**
     * Resumable: the credentials the connection was accepted with expired and no fresh token
     * arrived in time. Reconnect with a fresh token and resume: the session is kept.
     */
    public static final int CREDENTIALS_EXPIRED = 4401;

    /** Terminal: a malformed frame or a frame not allowed in the current state. */
    public static final int BAD_REQUEST = 4500;
    /** Terminal: the principal may not do this. */
    public static final int FORBIDDEN = 4501;
    /** Terminal: an acknowledgement or sequence number that cannot be right (forged, backwards). */
    public static final int INVALID_SEQUENCE = 4505;
    /** Terminal: the session was closed by the application. */
    public static final int SESSION_CLOSED = 4506;

    private CloseCodes() {
    }

    /**
     * Whether a client should reconnect and resume after this code (PROTOCOL.md, section 9):
     * 4000-4499 but {@link #SESSION_TAKEN_OVER}, and the transient WebSocket codes 1001, 1002,
     * 1006, 1011-1014. Everything else, including unknown codes from 4500 up, is terminal.
     *
     * @param code a WebSocket close code
     * @return {@code true} if the client should reconnect and resume
     */
    public static boolean isResumable(int code) {
        if (code >= 4000 && code < 4500) {
            return code != SESSION_TAKEN_OVER;
        }
        return switch (code) {
            case GOING_AWAY, PROTOCOL_ERROR, ABNORMAL, INTERNAL_ERROR, 1012, 1013, 1014 -> true;
            default -> false;
        };
    }
}
