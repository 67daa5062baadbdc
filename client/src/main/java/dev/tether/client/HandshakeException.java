package dev.tether.client;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;

/**
 * The server refused the WebSocket upgrade with an HTTP status: {@code 401} (no or bad
 * credentials), {@code 403} (not allowed, or an {@code Origin} the server does not allow) or
 * {@code 503} (over capacity, usually with {@code Retry-After}).
 *
 * <p>Fails the future of {@link TetherClient#connect()}; after the client was connected once, a
 * {@code 403} on a reconnect, or a {@code 401} on two in a row (the second with a token asked
 * afresh from the token supplier), ends the client with this exception as the cause given to
 * {@link TetherClient.Listener#onClosed(TetherClient, Throwable)}, while a {@code 503} only
 * delays the next attempt. The message is {@code "unauthorized: "}, {@code "forbidden: "} or
 * {@code "unavailable: "} followed by the server's reason (the body of its answer, one line of
 * at most 200 characters).
 *
 * @since 0.1.0
 */
public final class HandshakeException extends IOException {

    private static final long serialVersionUID = 1L;

    /** The HTTP status of the refusal. */
    private final int statusCode;
    /** The server's {@code Retry-After}, or {@code null}. */
    private final Duration retryAfter;

    /**
     * Creates the exception.
     *
     * @param statusCode the HTTP status of the refusal
     * @param retryAfter the server's {@code Retry-After}, or {@code null} if it sent none
     * @param message    a description for humans
     */
    public HandshakeException(int statusCode, Duration retryAfter, String message) {
        super(message);
        this.statusCode = statusCode;
        this.retryAfter = retryAfter;
    }

    /** {@return the HTTP status of the refused upgrade, such as 401, 403 or 503} */
    public int statusCode() {
        return statusCode;
    }

    /** {@return the delay the server asked for with {@code Retry-After}, if it sent one} */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }
}
