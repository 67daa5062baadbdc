package dev.tether.core;

/**
 * Answers one client request. Only the first call of {@link #reply} or {@link #fail} counts;
 * later calls are ignored. Any thread.
 *
 * @since 0.1.0
 */
public interface Responder {

    /**
     * Replies with a payload.
     *
     * @param payload the reply
     */
    void reply(Payload payload);

    /**
     * Fails the request; the client's future completes exceptionally with these.
     *
     * @param code    a stable machine-readable code
     * @param message a human-readable description, safe to show the client
     */
    void fail(String code, String message);
}
