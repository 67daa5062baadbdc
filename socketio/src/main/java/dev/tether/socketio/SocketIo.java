package dev.tether.socketio;

import dev.tether.core.Tether;
import dev.tether.core.spi.engine.Engine;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.TransportConnection;
import dev.tether.socketio.internal.EngineIoConnection;
import dev.tether.socketio.internal.EngineIoSettings;
import dev.tether.socketio.internal.NamespaceEndpoint;
import java.security.Principal;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * A Socket.IO v4 server (Engine.IO v4, Socket.IO protocol v5) on a Tether hub, the counterpart of
 * {@code new Server()} in Node:
 *
 * <pre>{@code
 * SocketIo io = SocketIo.create(tether, SocketIoConfig.builder().connectionStateRecovery(true).build());
 * io.on("connection", socket -> {
 *     socket.on("message", (args, ack) -> socket.emit("response", "Message received!"));
 * });
 * }</pre>
 *
 * A transport serves it (for Undertow: {@code dev.tether.undertow.SocketIoHandler}). Every socket
 * is a session of the hub, with the hub's limits: heartbeat (pingInterval/pingTimeout),
 * maxMessageBytes (maxPayload), outbound queue, replay buffer, session retention (the recovery
 * window), admission control and the slow-consumer policy. Native Tether clients and Socket.IO
 * clients can share one hub.
 *
 * <p>Threading: every method may be called from any thread.
 *
 * @since 0.1.0
 */
public final class SocketIo {

    private static final Base64.Encoder IDS = Base64.getUrlEncoder().withoutPadding();

    private final Tether tether;
    private final Engine hub;
    private final Arguments arguments;
    private final SocketIoConfig config;
    private final Map<String, Namespace> namespaces = new ConcurrentHashMap<>();
    private final EngineIoSettings settings;
    private final SecureRandom random = new SecureRandom();

    private SocketIo(Tether tether, SocketIoConfig config) {
        this.tether = tether;
        this.hub = Engine.of(tether);
        this.arguments = new Arguments(config.objectMapper());
        this.config = config;
        this.settings = new EngineIoSettings(this::endpoint, config.maxAttachments(), config.connectTimeout());
        of("/");
    }

    /**
     * A Socket.IO server with the default configuration on {@code tether}.
     *
     * @param tether a hub made by {@link Tether#create}
     * @return the server
     */
    public static SocketIo create(Tether tether) {
        return create(tether, SocketIoConfig.defaults());
    }

    /**
     * A Socket.IO server on {@code tether}.
     *
     * @param tether a hub made by {@link Tether#create}
     * @param config the Socket.IO settings
     * @return the server
     * @throws IllegalArgumentException if {@code tether} was not made by {@link Tether#create}
     */
    public static SocketIo create(Tether tether, SocketIoConfig config) {
        Objects.requireNonNull(tether, "tether");
        Objects.requireNonNull(config, "config");
        return new SocketIo(tether, config);
    }

    /** {@return the hub the sockets live in} */
    public Tether tether() {
        return tether;
    }

    /** {@return this server's configuration} */
    public SocketIoConfig config() {
        return config;
    }

    /**
     * The namespace of this name, created on first use. Clients may connect only to namespaces
     * created here; any other gets a {@code connect_error} "Invalid namespace".
     *
     * @param name the name, {@code "/"} or {@code "/something"}
     * @return the namespace
     * @throws IllegalArgumentException if the name does not start with '/' or contains ','
     */
    public Namespace of(String name) {
        Objects.requireNonNull(name, "name");
        if (!name.startsWith("/") || name.indexOf(',') >= 0 || name.length() > 200) {
            throw new IllegalArgumentException("a namespace starts with '/', has no ',' and at most 200 chars: " + name);
        }
        return namespaces.computeIfAbsent(name, n -> new Namespace(hub, n, config.connectionStateRecovery(), arguments));
    }

    /** {@return the main namespace {@code "/"}} */
    public Namespace sockets() {
        return of("/");
    }

    /**
     * {@link Namespace#on} of the main namespace.
     *
     * @param event {@code "connection"} or {@code "connect"}
     * @param listener called with each socket that connected or recovered
     * @return this server
     */
    public SocketIo on(String event, Consumer<Socket> listener) {
        sockets().on(event, listener);
        return this;
    }

    /**
     * {@link Namespace#use} of the main namespace.
     *
     * @param middleware the middleware
     * @return this server
     */
    public SocketIo use(Authenticator middleware) {
        sockets().use(middleware);
        return this;
    }

    /**
     * {@link Namespace#to} of the main namespace.
     *
     * @param room the room
     * @return a broadcast to the sockets of {@code room}
     */
    public BroadcastOperator to(String room) {
        return sockets().to(room);
    }

    /**
     * {@link Namespace#emit} of the main namespace.
     *
     * @param event the event name, not empty
     * @param args the arguments, as for {@link Socket#emit}
     * @return how many sockets it was queued for; 0 on a clustered hub
     */
    public int emit(String event, Object... args) {
        return sockets().emit(event, args);
    }

    private NamespaceEndpoint endpoint(String name) {
        Namespace n = namespaces.get(name);
        return n == null ? null : n.endpoint();
    }

    // ------------------------------------------------------------ for transports

    /** {@return a new unguessable Engine.IO session id (120 random bits), for transports} */
    public String newEngineId() {
        byte[] b = new byte[15];
        random.nextBytes(b);
        return IDS.encodeToString(b);
    }

    /**
     * For transports: the Engine.IO upgrade of {@code connection} (a listener {@link #connect}
     * returned) to the transport {@code to} completed, see
     * {@link EngineIoConnection#upgrade(TransportConnection)}. On the connection's I/O thread.
     *
     * @param connection the listener {@link #connect} returned
     * @param to the transport the connection upgraded to
     * @throws IllegalArgumentException if {@code connection} did not come from {@link #connect}
     */
    public void upgrade(ConnectionListener connection, TransportConnection to) {
        if (!(connection instanceof EngineIoConnection engine)) {
            throw new IllegalArgumentException("not an Engine.IO connection of this server");
        }
        engine.upgrade(Objects.requireNonNull(to, "to"));
    }

    /**
     * For transports: a request of the client that carries no packet arrived (a long-polling
     * GET). Fails the connection with a ping timeout if its pong is overdue, even before the
     * shared timer's tick gets to it, so that the deadline is exact as the client sees it. On the
     * connection's I/O thread.
     *
     * @param connection the listener {@link #connect} returned
     * @return whether this call failed the connection: the request is then answered as for an
     *         unknown session, as the reference server does once a session timed out
     * @throws IllegalArgumentException if {@code connection} did not come from {@link #connect}
     */
    public boolean expireIfOverdue(ConnectionListener connection) {
        if (!(connection instanceof EngineIoConnection engine)) {
            throw new IllegalArgumentException("not an Engine.IO connection of this server");
        }
        return engine.expireIfOverdue();
    }

    /**
     * For transports: opens an Engine.IO connection on a transport whose slot {@link dev.tether.core.spi.TransportHub#admit()}
     * reserved, authenticated as {@code principal}: writes the open packet and starts the
     * heartbeat. Call on the connection's I/O thread; feed the returned listener every event of
     * the connection.
     *
     * @param connection the transport connection
     * @param principal who the transport's authenticator said the client is
     * @param engineId the id from {@link #newEngineId()}
     * @param upgrades the transports the client may upgrade to: {@code ["websocket"]} on
     *                 long-polling, empty on a WebSocket
     * @return the listener the transport feeds every event of the connection
     */
    public ConnectionListener connect(TransportConnection connection, Principal principal, String engineId,
                                      List<String> upgrades) {
        Objects.requireNonNull(connection, "connection");
        Objects.requireNonNull(principal, "principal");
        return EngineIoConnection.open(hub, settings, connection, principal, engineId, upgrades);
    }
}
