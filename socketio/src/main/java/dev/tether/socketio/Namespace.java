package dev.tether.socketio;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tether.core.spi.engine.Engine;
import dev.tether.core.spi.Authenticator;
import dev.tether.socketio.internal.NamespaceEndpoint;
import dev.tether.socketio.internal.SocketEndpoint;
import dev.tether.socketio.internal.SocketIoProtocol;
import dev.tether.socketio.internal.SocketLink;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A Socket.IO namespace ({@code io.of("/chat")}): its middleware, its {@code connection}
 * listeners, its rooms. Rooms are Tether topics named {@code sio:<namespace>#<room>}; every
 * socket is in the room of its own id and in the namespace topic {@code sio:<namespace>}, so a
 * native {@link dev.tether.core.Tether#publish} to those topics reaches Socket.IO clients too.
 *
 * <p>Threading: every method may be called from any thread. Listeners run on the hub's handler
 * executor; middleware is called on the connection's I/O thread and must return at once,
 * answering later if its check is slow (the {@link Authenticator} contract).
 *
 * @since 0.1.0
 */
public final class Namespace {

    private final Engine hub;
    private final String name;
    /** The topic every socket of the namespace subscribes to: one string, not a copy per socket. */
    private final String allTopic;
    private final boolean recovery;
    private final Arguments arguments;
    private final SocketIoProtocol protocol;
    private final List<Authenticator> middleware = new CopyOnWriteArrayList<>();
    private final List<Authenticator> middlewareView = Collections.unmodifiableList(middleware);
    private final List<Consumer<Socket>> connectionListeners = new CopyOnWriteArrayList<>();
    private final Map<String, Socket> sockets = new ConcurrentHashMap<>();
    private final Endpoint endpoint = new Endpoint();

    Namespace(Engine hub, String name, boolean recovery, Arguments arguments) {
        this.hub = hub;
        this.name = name;
        this.allTopic = "sio:" + name;
        this.recovery = recovery;
        this.arguments = arguments;
        this.protocol = new SocketIoProtocol(name, recovery);
    }

    /** {@return the name, {@code "/"} or {@code "/something"}} */
    public String name() {
        return name;
    }

    /**
     * Adds a listener; the only event is {@code "connection"} (alias {@code "connect"}): a socket
     * connected, or recovered its state ({@link Socket#recovered()}).
     *
     * @param event {@code "connection"} or {@code "connect"}
     * @param listener called with each socket that connected or recovered
     * @return this namespace
     * @throws IllegalArgumentException for another event
     */
    public Namespace on(String event, Consumer<Socket> listener) {
        if (!"connection".equals(event) && !"connect".equals(event)) {
            throw new IllegalArgumentException("a namespace only has 'connection' listeners: " + event);
        }
        connectionListeners.add(Objects.requireNonNull(listener, "listener"));
        return this;
    }

    /**
     * Adds middleware that runs at every CONNECT to this namespace, in the order added. It gets
     * the client's {@code auth} object as the request's query parameters and {@code auth.token}
     * as its bearer token. A refusal reaches the client as a {@code connect_error} whose message
     * is the refusal's reason; an acceptance names the socket's principal.
     *
     * <p>Middleware may answer later (see {@link Authenticator}): each is called on the
     * connection's I/O thread once the one before it has accepted, and the CONNECT is answered
     * when the last has. Packets the client sends to this namespace meanwhile are held, at most
     * 16 (more closes the connection), and delivered in order once the socket is connected, or
     * dropped if it is refused. A chain that has not finished within
     * {@link dev.tether.core.TetherConfig#authenticationTimeout()} gets a {@code connect_error}
     * "Authentication timed out", and its late answer is ignored. Middleware that throws, or whose
     * stage fails or completes with {@code null}, is reported to the error handler under
     * {@code "socketio.middleware"} and refused with "Unauthorized". Other namespaces of the same
     * connection do not wait.
     *
     * @param authenticator the middleware
     * @return this namespace
     */
    public Namespace use(Authenticator authenticator) {
        middleware.add(Objects.requireNonNull(authenticator, "authenticator"));
        return this;
    }

    /**
     * Addresses the sockets of a room.
     *
     * @param room the room
     * @return a broadcast to the sockets of {@code room}
     */
    public BroadcastOperator to(String room) {
        return new BroadcastOperator(this, roomTopic(Objects.requireNonNull(room, "room")), null);
    }

    /**
     * Emits a reliable event to every socket of the namespace.
     *
     * @param event the event name, not empty
     * @param args the arguments, as for {@link Socket#emit}
     * @return how many sockets it was queued for; 0 on a clustered hub
     */
    public int emit(String event, Object... args) {
        return new BroadcastOperator(this, allTopic(), null).emit(event, args);
    }

    /** {@return the live sockets of this namespace (a snapshot), connected or awaiting recovery} */
    public Collection<Socket> sockets() {
        return List.copyOf(sockets.values());
    }

    /**
     * Finds the socket with this id, if it is alive.
     *
     * @param id the socket id
     * @return the socket, or empty if no live socket has this id
     */
    public Optional<Socket> socket(String id) {
        return Optional.ofNullable(sockets.get(id));
    }

    @Override
    public String toString() {
        return "Namespace[" + name + "]";
    }

    Engine hub() {
        return hub;
    }

    Arguments arguments() {
        return arguments;
    }

    NamespaceEndpoint endpoint() {
        return endpoint;
    }

    String allTopic() {
        return allTopic;
    }

    String roomTopic(String room) {
        return "sio:" + name + "#" + room;
    }

    void fireConnection(Socket socket) {
        for (Consumer<Socket> listener : connectionListeners) {
            hub.guard("socketio.connection", () -> listener.accept(socket));
        }
    }

    void added(Socket socket) {
        sockets.put(socket.id(), socket);
    }

    void removed(Socket socket) {
        sockets.remove(socket.id(), socket);
    }

    private final class Endpoint implements NamespaceEndpoint {

        @Override
        public String name() {
            return name;
        }

        @Override
        public SocketIoProtocol protocol() {
            return protocol;
        }

        @Override
        public boolean recovery() {
            return recovery;
        }

        @Override
        public String allTopic() {
            return Namespace.this.allTopic();
        }

        @Override
        public String roomTopic(String room) {
            return Namespace.this.roomTopic(room);
        }

        @Override
        public List<Authenticator> middleware() {
            return middlewareView;
        }

        @Override
        public SocketEndpoint newSocket(SocketLink link, ObjectNode auth) {
            return new Socket(Namespace.this, link, auth).endpoint();
        }

        @Override
        public SocketEndpoint socket(String sessionId) {
            Socket s = sockets.get(sessionId);
            return s == null ? null : s.endpoint();
        }
    }
}
