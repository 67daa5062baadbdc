package dev.tether.socketio.internal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tether.core.spi.Authenticator;
import java.util.List;

/**
 * What the connection state machine needs from the API layer for one namespace. Implemented by
 * {@code dev.tether.socketio.Namespace}.
 */
public interface NamespaceEndpoint {

    /** The namespace name, {@code "/"} or {@code "/name"}. */
    String name();

    /** The codec of this namespace. */
    SocketIoProtocol protocol();

    /** Whether connection state recovery is on. */
    boolean recovery();

    /** The topic every socket of the namespace subscribes to (broadcast to all). */
    String allTopic();

    /** The topic of a room of this namespace. */
    String roomTopic(String room);

    /**
     * The namespace's middleware, in the order added: a live view whose iterator is a snapshot
     * (a CONNECT runs the middleware there were when it arrived).
     */
    List<Authenticator> middleware();

    /** Creates the API object of a new socket (before its session exists). */
    SocketEndpoint newSocket(SocketLink link, ObjectNode auth);

    /** The API object of a live socket by session id, for recovery; {@code null} if none. */
    SocketEndpoint socket(String sessionId);
}
