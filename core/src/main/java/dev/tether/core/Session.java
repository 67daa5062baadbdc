package dev.tether.core;

import java.security.Principal;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A logical client. It outlives connections: when a connection dies the session is kept for the
 * retention window and resumed by a new connection that presents its resume token.
 *
 * <p>Threading: every method may be called from any thread. Sending never blocks; an expected
 * outcome (backed up, closed) is a {@link SendResult}.
 */
public interface Session {

    /** The public session id. Not a secret: the resume token is. */
    String id();

    /** The authenticated principal. */
    Principal principal();

    /** Whether a connection is currently attached. */
    boolean isConnected();

    /** Whether the session has ended. */
    boolean isClosed();

    /** Sends a reliable message: delivered in order, exactly once to the client application. */
    SendResult send(String event, Payload payload);

    /** Sends a volatile message: may be dropped under backpressure, never replayed. */
    SendResult sendVolatile(String event, Payload payload);

    /**
     * Sends a reliable request and waits for the client's reply.
     *
     * @return a future that completes with the reply, or exceptionally with a
     *     {@link RequestException} on timeout, refusal, or session close
     */
    CompletableFuture<Payload> request(String event, Payload payload, Duration timeout);

    /**
     * Subscribes this session to a topic. Returns false if it already was. The application may
     * subscribe a session to any topic: {@link TetherConfig#authorizer()} judges only what the
     * client asks for by itself.
     */
    boolean subscribe(String topic);

    /** Unsubscribes this session from a topic. Returns false if it was not subscribed. */
    boolean unsubscribe(String topic);

    /** The topics this session is subscribed to (a snapshot). */
    Set<String> topics();

    /** Ends the session and closes its connection with {@link CloseCodes#SESSION_CLOSED}. */
    void close(String reason);
}
