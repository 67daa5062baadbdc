package dev.tether.core.internal;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;

/**
 * The server's logger names and message codes, in one place so that they stay stable: operators
 * filter on the names and alert on the codes (docs/LOGGING.md lists them all). Every server
 * message at INFO or above starts with its code, {@code TSnnn}, as the Java client's start with
 * {@code TCnnn}.
 *
 * <p>Also the default {@link dev.tether.core.spi.ErrorHandler#LOGGING}: a failure reported with a
 * context is logged at WARNING under the logger of the component the context names, with the
 * code of that kind of failure.
 *
 * <p>Threading: every method may be called from any thread.
 */
public final class ServerLog {

    /** The engine: sessions, topics, drain, handler dispatch. */
    public static final String CORE = "dev.tether.core";
    /** The cluster side of the engine (broker feeds and presence). */
    public static final String CLUSTER = "dev.tether.core.cluster";
    /** The Socket.IO layer. */
    public static final String SOCKETIO = "dev.tether.socketio";
    /** The Undertow transport. */
    public static final String UNDERTOW = "dev.tether.undertow";

    /** {@code close()} on an I/O thread: the drain does not wait for acknowledgements. */
    public static final String DRAIN_ON_IO_THREAD = "TS010";
    /** The drain starts. */
    public static final String DRAIN_STARTED = "TS011";
    /** The drain is over and the hub closed. */
    public static final String DRAIN_DONE = "TS012";

    private static final Logger CORE_LOG = System.getLogger(CORE);
    private static final Logger CLUSTER_LOG = System.getLogger(CLUSTER);
    private static final Logger SOCKETIO_LOG = System.getLogger(SOCKETIO);
    private static final Logger UNDERTOW_LOG = System.getLogger(UNDERTOW);

    private ServerLog() {
    }

    /**
     * Where a failure reported under {@code context} is logged: its code, its logger and what it
     * means. The contexts are those the engine and the transports report (see
     * {@link dev.tether.core.spi.ErrorHandler}); an unknown one is {@code TS000} under
     * {@link #CORE}.
     */
    record Kind(String code, String logger, String meaning) {
    }

    static Kind kind(String context) {
        String c = context == null ? "" : context;
        if (c.equals("handler") || c.startsWith("handler.")) {
            return new Kind("TS001", CORE, "a SessionHandler callback threw");
        }
        if (c.startsWith("presence.")) {
            return new Kind("TS002", CORE, "a PresenceListener threw");
        }
        if (c.equals("authenticate")) {
            return new Kind("TS003", CORE, "the authenticator failed; the handshake was refused");
        }
        if (c.startsWith("protocol.")) {
            return new Kind("TS004", CORE, "a frame could not be decoded; the connection was closed");
        }
        if (c.startsWith("timer.")) {
            return new Kind("TS005", CORE, "a timer task threw");
        }
        if (c.startsWith("executor.")) {
            return new Kind("TS006", CORE, "the handler executor refused or failed a task");
        }
        if (c.startsWith("broker")) {
            return new Kind("TS007", CLUSTER, "a broker operation failed");
        }
        if (c.equals("socketio.middleware")) {
            return new Kind("TS021", SOCKETIO, "a Socket.IO middleware failed; the namespace connection was refused");
        }
        if (c.startsWith("socketio.decode")) {
            return new Kind("TS022", SOCKETIO, "a Socket.IO packet could not be decoded; the connection was closed");
        }
        if (c.startsWith("socketio.")) {
            return new Kind("TS020", SOCKETIO, "a Socket.IO listener threw");
        }
        if (c.equals("transport.upgrade")) {
            return new Kind("TS030", UNDERTOW, "a WebSocket upgrade failed");
        }
        if (c.startsWith("transport.")) {
            return new Kind("TS031", UNDERTOW, "a transport callback failed on an I/O thread");
        }
        return new Kind("TS000", CORE, "a failure was reported");
    }

    /**
     * Logs a reported failure at WARNING, with its stack trace: {@code "TS001 handler.onMessage:
     * a SessionHandler callback threw"} under {@code dev.tether.core}. Never throws.
     */
    public static void report(String context, Throwable error) {
        Kind kind = kind(context);
        logger(kind.logger()).log(Level.WARNING, kind.code() + " " + context + ": " + kind.meaning(), error);
    }

    private static Logger logger(String name) {
        return switch (name) {
            case CLUSTER -> CLUSTER_LOG;
            case SOCKETIO -> SOCKETIO_LOG;
            case UNDERTOW -> UNDERTOW_LOG;
            default -> CORE_LOG;
        };
    }
}
