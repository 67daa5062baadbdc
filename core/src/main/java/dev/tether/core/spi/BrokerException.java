package dev.tether.core.spi;

/**
 * A broker operation failed: the code says why, the message says it in English.
 *
 * @since 0.1.0
 */
public final class BrokerException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The broker could not be reached, or did not answer within its timeout. */
    public static final String UNAVAILABLE = "unavailable";
    /** Too many operations are waiting for the broker; this one was refused rather than queued. */
    public static final String OVERLOADED = "overloaded";
    /** The session named is unknown to the broker, or has ended. */
    public static final String NO_SESSION = "no_session";
    /**
     * The session is owned by another node now: a commit of its client messages from this node
     * was refused, and the client resends them where it resumed.
     */
    public static final String NOT_OWNER = "not_owner";
    /** The broker answered with something it should not have; a bug or a mismatched version. */
    public static final String INTERNAL = "internal";

    /** Why, one of the constants of this class. */
    private final String code;

    /**
     * A failed broker operation.
     *
     * @param code why, one of the constants of this class
     * @param message what failed, in English
     */
    public BrokerException(String code, String message) {
        super(message);
        this.code = code;
    }

    /**
     * A failed broker operation with its cause.
     *
     * @param code why, one of the constants of this class
     * @param message what failed, in English
     * @param cause the underlying failure
     */
    public BrokerException(String code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /** {@return why, one of the constants of this class} */
    public String code() {
        return code;
    }
}
