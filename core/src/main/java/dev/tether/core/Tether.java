package dev.tether.core;

import dev.tether.core.internal.Hub;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.TransportConnection;
import java.security.Principal;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A Tether hub: the sessions, topics and engine of one server. A transport (such as the Undertow
 * handler) feeds it connections; the application sends and publishes through it.
 *
 * <pre>{@code
 * Tether tether = Tether.create(TetherConfig.defaults(), new SessionHandler() {
 *     public void onMessage(Session session, Message message) {
 *         session.send("response", Payload.text("Message received!"));
 *     }
 * });
 * }</pre>
 *
 * <p>Threading: every method may be called from any thread.
 *
 * @since 0.1.0
 */
public interface Tether extends AutoCloseable {

    /**
     * Creates a hub with its own timer thread and, unless configured, its own handler pool.
     *
     * @param config the hub's configuration
     * @param handler receives the sessions' events and messages
     * @return the running hub; {@link #close()} it on shutdown
     */
    static Tether create(TetherConfig config, SessionHandler handler) {
        return new Hub(config, handler);
    }

    /** {@return the configuration this hub was built with} */
    TetherConfig config();

    /**
     * Publishes a reliable message to every subscriber of {@code topic}. The message is encoded
     * once and the bytes shared between all subscribers. The application may publish on any
     * topic: {@link TetherConfig#authorizer()} judges only what clients publish by themselves.
     *
     * <p>In a cluster ({@link TetherConfig#broker()} set) the message goes through the broker to
     * the subscribers of every node, this one included, and this method returns 0 at once; a
     * failure goes to the error handler. Use {@link #publishAsync} to learn the outcome.
     *
     * @param topic the topic
     * @param event the event name the client applications see
     * @param payload the message body, encoded once for every subscriber
     * @return the number of sessions of this node it was queued for (0 in a cluster)
     */
    int publish(String topic, String event, Payload payload);

    /**
     * Publishes a volatile message (dropped for subscribers that are backed up).
     *
     * @param topic the topic
     * @param event the event name the client applications see
     * @param payload the message body, encoded once for every subscriber
     * @return the number of sessions of this node it was queued for (0 in a cluster)
     */
    int publishVolatile(String topic, String event, Payload payload);

    /**
     * Publishes a reliable message as {@link #publish} does, and says when it is safe. Without a
     * broker the future is complete on return. In a cluster it completes once the broker recorded
     * the message: the subscribers of every node then get it, and it is in their feeds for a
     * resume on any node. It completes exceptionally with a
     * {@link dev.tether.core.spi.BrokerException} when the broker cannot take the message:
     * {@code unavailable} within the broker's command timeout when it does not answer,
     * {@code overloaded} at once when its bounded queue is full; nothing waits without bound.
     * (Failures of {@link #publish} go to the error handler instead.) The future completes on
     * the handler executor, never on a broker thread.
     *
     * <p>Called while a handler of a client message runs, on the handler's thread, the publish is
     * part of that message's commit (docs/CLUSTER.md): the future completes when the message and
     * everything its handler sent are recorded together, which is retried while the broker does
     * not answer; it fails if the session leaves this node first (its client then resends the
     * message to the node it resumes on). Do not wait for it inside the handler: it completes only
     * after the handler returned.
     *
     * @param topic the topic
     * @param event the event name the client applications see
     * @param payload the message body, encoded once for every subscriber
     * @return a future that completes once the message is recorded, or exceptionally as described above
     */
    CompletableFuture<Void> publishAsync(String topic, String event, Payload payload);

    /**
     * The session with this id, if it is alive.
     *
     * @param id the public session id
     * @return the session, or empty if no live session has this id
     */
    Optional<Session> session(String id);

    /** {@return a snapshot of the live sessions} */
    Collection<Session> sessions();

    /**
     * Counts the sessions of this hub subscribed to {@code topic}.
     *
     * @param topic the topic
     * @return the number of this hub's sessions subscribed to it
     */
    int subscribers(String topic);

    /**
     * The sessions subscribed to {@code topic}: session id to principal name. With a
     * {@linkplain TetherConfig#broker() broker}, those of every live node (one broker round trip);
     * without one, this hub's. A session is present from its subscribe until it unsubscribes or
     * ends: closed, or expired because its retention passed without a connection. A session
     * whose connection dropped stays present while it may resume; the sessions of a node that
     * died are gone within the broker's node timeout (see docs/CLUSTER.md).
     *
     * @param topic the topic
     * @return a future that completes on the handler executor with an unmodifiable map, or fails
     *     with a {@link dev.tether.core.spi.BrokerException} when the broker cannot answer
     */
    CompletableFuture<Map<String, String>> presence(String topic);

    /**
     * Open connections: with a broker, the sum over every live node as each last reported it
     * (each reports with its heartbeat); without one, this hub's ({@link Stats#connections()}).
     *
     * @return a future that completes on the handler executor, or fails with a
     *     {@link dev.tether.core.spi.BrokerException} when the broker cannot answer
     */
    CompletableFuture<Long> connectionCount();

    /**
     * Calls {@code listener} when a session joins or leaves {@code topic}, whichever node it is
     * on, whether or not a session of this hub subscribes to the topic. A session joins when it
     * subscribes; it leaves when it unsubscribes, is closed, or expires, and when its node leaves
     * the cluster or dies (within the broker's node timeout). A session resumed on another node
     * neither leaves nor joins, unless it had left with its dead node: it then joins again.
     *
     * <p>To keep a view of a topic's presence, register first and then read {@link #presence};
     * apply events idempotently, as the snapshot may already reflect one. With a broker, this
     * hub hears events once the broker has registered its interest (a round trip; a failure
     * goes to the error handler); when events may have been missed (the broker reconnected or
     * lost its data) the listener hears {@link PresenceListener#onGap}. Events stop when this
     * hub closes. Threading and errors: see {@link PresenceListener}.
     *
     * @param topic the topic to watch
     * @param listener hears the joins, leaves and gaps
     * @return the registration: close it to remove the listener
     */
    Registration onPresence(String topic, PresenceListener listener);

    /**
     * A snapshot of this node's counters and gauges. Constant time whatever the number of
     * connections and sessions (every field is kept as its events happen), so a metrics library
     * may read it on every scrape; any thread.
     *
     * @return the snapshot
     */
    Stats stats();

    /**
     * Where this hub is in its life: {@link State#RUNNING} until {@link #close()} is called,
     * {@link State#DRAINING} from the moment {@code close()} begins (before any client is told to
     * go) until it returns, then {@link State#CLOSED}. A readiness check is
     * {@code state() == State.RUNNING}: a load balancer that polls it stops sending new clients
     * as soon as the drain starts.
     *
     * <p>Cheap (one volatile read) and callable from any thread, including an I/O thread.
     *
     * @return the hub's state now
     * @since 0.1.0
     */
    State state();

    /**
     * The life of a hub, in order; it never goes back.
     *
     * @since 0.1.0
     */
    enum State {
        /** Admitting connections and serving sessions. */
        RUNNING,
        /**
         * {@link Tether#close()} has begun: new connections are refused, clients are being told
         * to reconnect elsewhere and what is queued is being written.
         */
        DRAINING,
        /** {@link Tether#close()} has returned: every session ended and the hub's threads stopped. */
        CLOSED
    }

    /**
     * Drains and stops the hub, blocking up to {@link TetherConfig#drainTimeout()}: refuses new
     * connections, gives every client a random delay within
     * {@link TetherConfig#drainReconnectMin()}..{@link TetherConfig#drainReconnectMax()} (so
     * that they do not come back in lock-step) and keeps writing what is queued. A native client
     * is told its delay in a {@code reconnect} frame and closed with
     * {@link CloseCodes#SERVER_RESTART} once what was queued is written and acknowledged. A
     * Socket.IO client, whose protocol has no such frame, has its transport closed at its delay,
     * after what was queued for it is written (long-polling: the close packet on its next poll;
     * WebSocket: a close frame with 4012); socket.io-client then reports "transport close" and
     * reconnects with its own backoff, recovering its sessions elsewhere if connection state
     * recovery is on and a cluster holds them. Whatever is still open at the drain timeout is
     * closed with {@link CloseCodes#SERVER_RESTART}. Then every session ends and the timer and
     * the pool it created stop; the closes transports report later change nothing and log
     * nothing. Idempotent. Call it from an application thread: on a transport I/O thread it
     * cannot wait for the connections it serves, so it skips the wait. Close the hub before the
     * server that carries its connections.
     */
    @Override
    void close();
}
