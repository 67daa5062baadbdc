package dev.tether.core.spi;

/**
 * Thrown by a {@link Protocol} for input that breaks the wire protocol. The engine closes the
 * offending connection with {@link #closeCode()} and the message as reason; nothing else is
 * affected. Carries no stack trace: it is an expected outcome on a hot path.
 *
 * @since 0.1.0
 */
public final class ProtocolException extends Exception {

    private static final long serialVersionUID = 1L;

    /** The close code the offending connection gets. */
    private final int closeCode;

    /**
     * @param closeCode the WebSocket close code to close with (see {@link dev.tether.core.CloseCodes})
     * @param message   a short reason, safe to send to the peer (at most 123 bytes of UTF-8)
     */
    public ProtocolException(int closeCode, String message) {
        super(message, null, false, false);
        this.closeCode = closeCode;
    }

    /** {@return the close code the offending connection gets} */
    public int closeCode() {
        return closeCode;
    }
}
