package dev.tether.socketio.internal;

import dev.tether.core.SessionHandler;
import dev.tether.core.spi.engine.EngineSession;

/** The API layer's side of one socket. Implemented by {@code dev.tether.socketio.Socket}. */
public interface SocketEndpoint {

    /** The engine callbacks of the socket's session. */
    SessionHandler handler();

    /** The session was created for this socket. I/O thread, before it is attached. */
    void bind(EngineSession session);

    /**
     * A reconnecting client recovered the socket's session through {@code link}. I/O thread; the
     * API layer tells the application through the session's handler executor.
     */
    void recovered(SocketLink link);

    /** The socket lost its transport or was disconnected, for {@code reason}. I/O thread. */
    void detached(String reason);
}
