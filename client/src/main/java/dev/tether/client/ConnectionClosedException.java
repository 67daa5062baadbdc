package dev.tether.client;

import java.io.IOException;

/**
 * A connection ended with a WebSocket close code the client does not retry, or before its first
 * {@code welcome}. The code is one of PROTOCOL.md §9 (see {@link dev.tether.core.CloseCodes}).
 *
 * <p>Fails the future of {@link TetherClient#connect()} when the first connection closes before
 * the server's {@code welcome}; later, it is the cause given to
 * {@link TetherClient.Listener#onClosed(TetherClient, Throwable)} when a terminal code (such as
 * 4500-4999, or 1000 from the server) ends the client.
 *
 * @since 0.1.0
 */
public final class ConnectionClosedException extends IOException {

    private static final long serialVersionUID = 1L;

    /** The WebSocket close code. */
    private final int code;
    /** The close reason, possibly empty. */
    private final String reason;

    /**
     * Creates the exception.
     *
     * @param code   the WebSocket close code (1006 when the connection died without one)
     * @param reason the close reason, possibly empty
     */
    public ConnectionClosedException(int code, String reason) {
        super("connection closed with " + code + (reason == null || reason.isEmpty() ? "" : ": " + reason));
        this.code = code;
        this.reason = reason == null ? "" : reason;
    }

    /** {@return the WebSocket close code} */
    public int code() {
        return code;
    }

    /** {@return the close reason, possibly empty} */
    public String reason() {
        return reason;
    }
}
