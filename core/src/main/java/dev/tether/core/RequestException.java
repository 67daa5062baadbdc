package dev.tether.core;

/**
 * Completes a request's future exceptionally: the peer failed it, it timed out, or the session
 * closed first. {@link #code()} tells which.
 *
 * @since 0.1.0
 */
public final class RequestException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Code for a request that got no reply in time. */
    public static final String TIMEOUT = "timeout";
    /** Code for a request whose session closed before the reply. */
    public static final String CLOSED = "closed";
    /** Code for a request that could not be queued (slow consumer). */
    public static final String OVERFLOW = "overflow";

    /** The machine-readable code, see {@link #code()}. */
    private final String code;

    /**
     * A failed request.
     *
     * @param code a stable machine-readable code, such as {@link #TIMEOUT}
     * @param message a human-readable description
     */
    public RequestException(String code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    /**
     * {@return a stable machine-readable code: {@link #TIMEOUT}, {@link #CLOSED},
     * {@link #OVERFLOW}, or the peer's}
     */
    public String code() {
        return code;
    }
}
