package dev.tether.core.spi;

import dev.tether.core.Stats;
import java.util.function.Supplier;

/**
 * Receives engine events that a metrics library can count. The engine keeps its own counters
 * for {@link dev.tether.core.Stats}; this listener exists so that a host can bind Tether to
 * Micrometer (module {@code tether-micrometer}), Prometheus or similar. Every event that
 * {@code Stats} counts is reported here too, where {@code Stats} counts it; a few more are
 * reported here only (handshake refusals, token refreshes refused, acknowledgements, timings).
 *
 * <p>Threading: methods are called from I/O threads, handler threads and the timer thread,
 * concurrently. Implementations must be thread-safe, cheap (a counter increment), must not block
 * and must not throw. Every method has an empty default.
 *
 * @since 0.1.0
 */
public interface MetricsListener {

    /** A listener that ignores every event. */
    MetricsListener NO_OP = new MetricsListener() { };

    /**
     * A hub that reports to this listener was created. {@code stats} reads that hub's
     * {@link dev.tether.core.Tether#stats()}, from any thread, in constant time: the way to its
     * gauges (connections, sessions, topics, queued, pending acks, oldest unacknowledged age).
     * Called once per hub, on the thread creating it, before the hub is returned; a listener
     * given to several hubs is told of each.
     *
     * @param stats reads the hub's statistics
     */
    default void hubStarted(Supplier<Stats> stats) { }

    /** A transport connection completed the Tether handshake. */
    default void connectionOpened() { }

    /**
     * A transport connection closed, for any reason.
     *
     * @param closeCode the WebSocket close code
     */
    default void connectionClosed(int closeCode) { }

    /**
     * A native connection's handshake completed: {@code nanos} from the moment the transport
     * attached the upgraded, authenticated connection to the hub to the welcome that opened or
     * resumed its session (the hello, and on a clustered hub the broker's claim). The HTTP upgrade
     * and authentication before it are not included.
     *
     * @param nanos the handshake's duration in nanoseconds
     */
    default void handshakeCompleted(long nanos) { }

    /**
     * A handshake over {@link dev.tether.core.TetherConfig#maxHandshakesPerSecond()} was admitted
     * to wait {@code nanos} for its turn ({@link dev.tether.core.TetherConfig#handshakeMaxDelay()})
     * rather than refused. Called from the thread handling the HTTP request, before the wait.
     *
     * @param nanos the wait in nanoseconds, at most {@code handshakeMaxDelay}
     */
    default void handshakeDelayed(long nanos) { }

    /** A new session was created. */
    default void sessionOpened() { }

    /** A session ended (expired, closed by either side). */
    default void sessionClosed() { }

    /** A session was resumed by a new connection ({@code Stats.resumed}). */
    default void sessionResumed() { }

    /** An application message from a client was accepted for its handler or topic ({@code Stats.messagesIn}). */
    default void messageReceived() { }

    /**
     * A client message was dropped as a duplicate: a resend after a resume of a message already
     * processed ({@code Stats.duplicatesIn}).
     */
    default void duplicateReceived() { }

    /**
     * {@code count} messages were enqueued for delivery to one session.
     *
     * @param count the number of messages
     */
    default void messagesQueued(int count) { }

    /**
     * {@code count} messages were written to one connection in one drain and flushed
     * ({@code Stats.messagesOut}).
     *
     * @param count the number of messages
     */
    default void messagesWritten(int count) { }

    /** A volatile message was dropped under backpressure ({@code Stats.volatileDropped}). */
    default void volatileDropped() { }

    /**
     * A reliable message did not fit the session's outbound queue; the client gets a gap
     * ({@code Stats.reliableOverflowed}).
     */
    default void reliableOverflowed() { }

    /**
     * The client acknowledged {@code count} reliable messages.
     *
     * @param count the number of messages
     */
    default void messagesAcked(int count) { }

    /**
     * {@code count} reliable messages were replayed after a resume ({@code Stats.replayed}).
     *
     * @param count the number of messages
     */
    default void messagesReplayed(int count) { }

    /**
     * A gap was reported: messages lost to a full queue, or a resume of a session that was gone
     * ({@code Stats.gaps}).
     */
    default void gapReported() { }

    /** A connection was closed because it could not keep up ({@code Stats.slowConsumerCloses}). */
    default void slowConsumerClosed() { }

    /**
     * The engine closed a connection for a malformed frame or an impossible sequence number, with
     * {@code closeCode} ({@link dev.tether.core.CloseCodes#BAD_REQUEST} or
     * {@link dev.tether.core.CloseCodes#INVALID_SEQUENCE}; {@code Stats.protocolErrors}).
     *
     * @param closeCode the close code the connection was closed with
     */
    default void protocolError(int closeCode) { }

    /**
     * Something was refused; {@code what} is one of a fixed set of reasons, fit for a metric tag:
     * <ul>
     *   <li>{@code "admission: connections"}, {@code "admission: handshake rate"},
     *       {@code "admission: closing"}: a handshake refused by admission control (503);</li>
     *   <li>{@code "handshake"}: a handshake refused by the transport for its {@code Origin} or
     *       by the authenticator;</li>
     *   <li>{@code "rate limit"}: a connection closed for its inbound rate (4008);</li>
     *   <li>{@code "resume"}: a resume refused (wrong token or principal);</li>
     *   <li>{@code "subscribe"}, {@code "publish"}: a client's subscribe or publish refused by
     *       the authorizer;</li>
     *   <li>{@code "refresh"}: a token refresh refused;</li>
     *   <li>{@code "socketio.connect"}: a Socket.IO namespace CONNECT refused by its middleware.</li>
     * </ul>
     * {@code Stats.refused} counts admissions, resumes, subscribes, publishes and native
     * rate-limit closes; the others are reported here only.
     *
     * @param what the reason, one of those above
     */
    default void refused(String what) { }

    /**
     * A handler finished; {@code nanos} is the time from dispatch to completion.
     *
     * @param nanos from dispatch to completion, in nanoseconds
     */
    default void handlerCompleted(long nanos) { }

    /**
     * An application callback threw ({@code Stats.handlerErrors}); {@code callback} names it, from
     * a fixed set fit for a metric tag ({@code "handler.onMessage"}, {@code "handler.onOpen"},
     * {@code "presence.onPresence"}, {@code "socketio.connection"}, ...), the context the error
     * handler is given.
     *
     * @param callback the callback that threw
     */
    default void handlerFailed(String callback) { }

    /**
     * A publish was handed to {@code recipients} local subscribers' queues (0 when the topic has
     * none on this node) in {@code nanos}: the fan-out, encoding once per wire protocol included.
     * On a clustered hub this is each node's delivery of the broker's entry.
     *
     * @param recipients the local subscribers it was queued for
     * @param nanos      the fan-out's duration in nanoseconds
     */
    default void published(int recipients, long nanos) { }
}
