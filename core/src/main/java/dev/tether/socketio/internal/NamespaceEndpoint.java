package dev.tether.socketio.internal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.HandshakeRequest;
import java.security.Principal;

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
     * Runs the namespace's middleware for one CONNECT (on the I/O thread; must be fast).
     *
     * @param transportPrincipal the principal the transport authenticated the handshake as
     * @return an acceptance with the socket's principal, or a refusal whose reason the client
     *     gets in its CONNECT_ERROR
     */
    AuthResult authenticate(HandshakeRequest request, Principal transportPrincipal);

    /** Creates the API object of a new socket (before its session exists). */
    SocketEndpoint newSocket(SocketLink link, ObjectNode auth);

    /** The API object of a live socket by session id, for recovery; {@code null} if none. */
    SocketEndpoint socket(String sessionId);
}
