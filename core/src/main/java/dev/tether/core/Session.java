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
 *
 * @since 0.1.0
 */
public interface Session {

    /** {@return the public session id} Not a secret: the resume token is. */
    String id();

    /** {@return the authenticated principal} */
    Principal principal();

    /** {@return whether a connection is currently attached} */
    boolean isConnected();

    /** {@return whether the session has ended} */
    boolean isClosed();

    /**
     * Sends a reliable message: delivered in order, exactly once to the client application.
     *
     * @param event the event name the client application sees
     * @param payload the message body
     * @return {@link SendResult#ENQUEUED}, {@link SendResult#OVERFLOW} (the connection closes as a slow
     *     consumer) or {@link SendResult#CLOSED}
     */
    SendResult send(String event, Payload payload);

    /**
     * Sends a volatile message: may be dropped under backpressure, never replayed.
     *
     * @param event the event name the client application sees
     * @param payload the message body
     * @return {@link SendResult#ENQUEUED}, {@link SendResult#DROPPED} or {@link SendResult#CLOSED}
     */
    SendResult sendVolatile(String event, Payload payload);

    /**
     * Sends a reliable request and waits for the client's reply.
     *
     * @param event the event name the client application sees
     * @param payload the request body
     * @param timeout how long to wait for the reply
     * @return a future that completes with the reply, or exceptionally with a
     *     {@link RequestException} on timeout, refusal, or session close
     */
    CompletableFuture<Payload> request(String event, Payload payload, Duration timeout);

    /**
     * Subscribes this session to a topic. The application may subscribe a session to any topic:
     * {@link TetherConfig#authorizer()} judges only what the client asks for by itself.
     *
     * @param topic the topic name
     * @return {@code true} if the session was not subscribed before
     */
    boolean subscribe(String topic);

    /**
     * Unsubscribes this session from a topic.
     *
     * @param topic the topic name
     * @return {@code true} if the session was subscribed
     */
    boolean unsubscribe(String topic);

    /** {@return the topics this session is subscribed to (a snapshot)} */
    Set<String> topics();

    /**
     * Ends the session and closes its connection with {@link CloseCodes#SESSION_CLOSED}.
     *
     * @param reason why, for the client and the logs
     */
    void close(String reason);
}
