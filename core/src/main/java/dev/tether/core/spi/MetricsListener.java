package dev.tether.core.spi;

/**
 * Receives engine events that a metrics library can count. The engine keeps its own counters
 * for {@link dev.tether.core.Stats}; this listener exists so that a host can bind Tether to
 * Micrometer, Prometheus or similar.
 *
 * <p>Threading: methods are called from I/O threads, handler threads and the timer thread,
 * concurrently. Implementations must be thread-safe, cheap (a counter increment) and must not
 * throw. Every method has an empty default.
 *
 * @since 0.1.0
 */
public interface MetricsListener {

    /** A listener that ignores every event. */
    MetricsListener NO_OP = new MetricsListener() { };

    /** A transport connection completed the Tether handshake. */
    default void connectionOpened() { }

    /**
     * A transport connection closed, for any reason.
     *
     * @param closeCode the WebSocket close code
     */
    default void connectionClosed(int closeCode) { }

    /** A new session was created. */
    default void sessionOpened() { }

    /** A session ended (expired, closed by either side). */
    default void sessionClosed() { }

    /** A session was resumed by a new connection. */
    default void sessionResumed() { }

    /**
     * {@code count} messages were enqueued for delivery to one session.
     *
     * @param count the number of messages
     */
    default void messagesQueued(int count) { }

    /** A volatile message was dropped under backpressure. */
    default void volatileDropped() { }

    /** A reliable message did not fit the session's outbound queue; the client gets a gap. */
    default void reliableOverflowed() { }

    /**
     * The client acknowledged {@code count} reliable messages.
     *
     * @param count the number of messages
     */
    default void messagesAcked(int count) { }

    /**
     * {@code count} reliable messages were replayed after a resume.
     *
     * @param count the number of messages
     */
    default void messagesReplayed(int count) { }

    /** A gap was reported: messages lost to a full queue, or a resume of a session that was gone. */
    default void gapReported() { }

    /** A connection was closed because it could not keep up (slow consumer). */
    default void slowConsumerClosed() { }

    /**
     * A handshake or subscribe/publish was refused.
     *
     * @param what what was refused, such as {@code "handshake"}, {@code "subscribe"} or {@code "rate limit"}
     */
    default void refused(String what) { }

    /**
     * A handler finished; {@code nanos} is the time from dispatch to completion.
     *
     * @param nanos the time from dispatch to completion, in nanoseconds
     */
    default void handlerCompleted(long nanos) { }
}
