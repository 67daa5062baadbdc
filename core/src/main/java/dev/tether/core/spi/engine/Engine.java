package dev.tether.core.spi.engine;

import dev.tether.core.Payload;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Protocol;
import java.security.Principal;
import java.util.Objects;

/**
 * The session engine of a hub, as a wire-protocol module drives it: {@code tether-socketio} runs
 * Engine.IO / Socket.IO on it, and another protocol could. The protocol owns its per-connection
 * state machine (handshake, framing, heartbeat, its own resume rules) and implements
 * {@link SessionLink} and {@link EngineConnection}; the engine owns sessions, topics, sequence
 * numbers, replay, the outbound queue and its single-writer drain, the cluster, admission and the
 * drain on shutdown. Applications never need this interface.
 *
 * <p>Threading: every method may be called from any thread unless it says otherwise.
 *
 * @since 0.1.0
 */
public interface Engine {

    /**
     * The engine side of a hub made by {@link Tether#create}.
     *
     * @param tether the hub
     * @return its engine
     * @throws IllegalArgumentException if {@code tether} is another implementation of {@link Tether}
     */
    static Engine of(Tether tether) {
        Objects.requireNonNull(tether, "tether");
        if (tether instanceof Engine engine) {
            return engine;
        }
        throw new IllegalArgumentException("a hub without a session engine: " + tether.getClass().getName()
                + " does not implement Engine");
    }

    /**
     * The hub's configuration.
     *
     * @return the configuration the hub was created with
     */
    TetherConfig config();

    /**
     * The timer every heartbeat and timeout of this hub runs on.
     *
     * @return the hub's timer
     */
    Scheduler timer();

    /**
     * What every heartbeat of this hub shares: its timer, and the configured interval and timeout.
     *
     * @return the hub's heartbeat schedule
     */
    Heartbeat.Schedule heartbeatSchedule();

    /**
     * The inbound message rate every connection's bucket shares, from the configuration.
     *
     * @return the rate, or {@code null} if inbound messages are not limited
     */
    TokenBucket.Rate inboundRate();

    /**
     * Whether this hub is a node of a cluster (it has a broker).
     *
     * @return whether sessions live in the broker as well
     */
    boolean clustered();

    /**
     * Takes the slot {@code TransportHub.admit()} reserved for {@code connection}, so that it
     * counts as a connection and is drained when the hub closes: told
     * {@link EngineConnection#goingAway}, then, if still open at the end of the drain, closed. The
     * hub waits for its {@link #unregister} within the drain timeout.
     *
     * @param connection the protocol's connection
     * @return false if the hub is closing: the caller closes the connection (and still unregisters it)
     */
    boolean register(EngineConnection connection);

    /**
     * The end of a connection {@linkplain #register registered}; gives its slot back. Idempotent.
     *
     * @param connection the connection
     * @param code       the close code it ended with, for the metrics
     */
    void unregister(EngineConnection connection, int code);

    /**
     * A new session with the protocol's own encoding and handler; attach it with
     * {@link EngineSession#attachNew}.
     *
     * @param principal whom the connection authenticated as
     * @param protocol  how the session's messages are encoded
     * @param handler   the session's callbacks
     * @param ackless   whether the client never acknowledges (see {@link EngineSession#isAckless})
     * @return the session, registered with the hub
     */
    EngineSession openSession(Principal principal, Protocol protocol, SessionHandler handler, boolean ackless);

    /**
     * The live session with this id on this node.
     *
     * @param id a session id
     * @return the session, or null
     */
    EngineSession findSession(String id);

    /**
     * Cluster: resumes a session through the broker for {@code link}, wherever it lived (this
     * node included): claims it, reads what the client missed and attaches it to the link. On the
     * link's I/O thread; so is the outcome.
     *
     * @param link    the resuming link
     * @param request what the client presented
     * @param outcome told the result, unless the link closed meanwhile
     * @throws IllegalStateException if the hub is not {@linkplain #clustered() clustered}
     */
    void resumeFromBroker(SessionLink link, ResumeRequest request, ResumeOutcome outcome);

    /**
     * Publishes to every subscriber of {@code topic} but {@code except}. Each wire protocol among
     * the subscribers encodes the message once.
     *
     * @param topic      the topic
     * @param event      the event name
     * @param payload    the payload
     * @param isVolatile whether subscribers that cannot keep up may miss it
     * @param except     a session that does not get it (the sender), or null
     * @return the number of local subscribers it was queued for; 0 on a clustered hub, where the
     *         broker delivers it on every node
     */
    int publish(String topic, String event, Payload payload, boolean isVolatile, Session except);

    /**
     * Runs an application callback now, on this thread, reporting and counting a throw to the
     * hub's error handler instead of letting it escape.
     *
     * @param context  names the callback in an error report
     * @param callback the callback
     */
    void guard(String context, Runnable callback);
}
