package dev.tether.core.spi.engine;

import dev.tether.core.spi.TransportConnection;

/**
 * A connection the hub counts and drains when it closes: a native protocol connection, or the
 * per-connection state machine of another wire protocol (Socket.IO's Engine.IO connection),
 * {@linkplain Engine#register registered} by it. The hub picks each connection's reconnect delay
 * (one jitter for every protocol, from {@code TetherConfig.drainReconnectWindow}) and lets the
 * protocol tell its client in its own way.
 *
 * <p>Threading: every method may be called from any thread.
 *
 * @since 0.1.0
 */
public interface EngineConnection {

    /**
     * The transport underneath; the hub closes it with {@code CloseCodes.SERVER_RESTART} when the
     * drain is over.
     *
     * @return the transport
     */
    TransportConnection connection();

    /**
     * The hub is draining: the client should reconnect, to another server, about
     * {@code reconnectAfterMs} from now. The native protocol sends a {@code reconnect} frame and
     * the hub closes the connection once its queue is written and acknowledged; a protocol that
     * has no such frame writes what is queued and closes the transport itself at that time.
     *
     * @param reconnectAfterMs this connection's share of the drain window, in milliseconds
     */
    void goingAway(long reconnectAfterMs);
}
