package dev.tether.core;

/**
 * The outcome of a send. Expected outcomes on the send path are results, not exceptions.
 *
 * @since 0.1.0
 */
public enum SendResult {
    /** Queued for delivery. A reliable message will reach the client or be reported as a gap. */
    ENQUEUED,
    /** A volatile message dropped because the session is backed up or not connected; counted. */
    DROPPED,
    /**
     * A reliable message that did not fit the session's outbound queue. The connection is closed
     * as a slow consumer and the client is told of the gap when it resumes; nothing is lost silently.
     */
    OVERFLOW,
    /** The session is closed; nothing was queued. */
    CLOSED
}
