package dev.tether.core.internal;

import dev.tether.core.spi.TransportConnection;

/**
 * A connection the hub counts and drains when it closes: a native {@link Link}, or the
 * per-connection state machine of another wire protocol (Socket.IO's Engine.IO connection). The
 * hub picks each connection's reconnect delay (one jitter for every protocol, from
 * {@code TetherConfig.drainReconnectWindow}) and lets the protocol tell its client in its own way.
 * Public only so that the Socket.IO package can implement it; not an API.
 *
 * <p>Threading: every method may be called from any thread.
 */
public interface HubConnection {

    /** The transport underneath; the hub closes it with 4012 when the drain is over. */
    TransportConnection connection();

    /**
     * The hub is draining: the client should reconnect, to another server, about
     * {@code reconnectAfterMs} from now. The native protocol sends a {@code reconnect} frame and
     * the hub closes the connection once its queue is written and acknowledged; a protocol that
     * has no such frame writes what is queued and closes the transport itself at that time.
     */
    void goingAway(long reconnectAfterMs);
}
