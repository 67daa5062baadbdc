package dev.tether.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tether.core.Message;
import dev.tether.core.Responder;
import dev.tether.core.SendResult;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.spi.engine.MigrationListener;
import dev.tether.core.spi.engine.EngineSession;
import dev.tether.socketio.internal.SocketEndpoint;
import dev.tether.socketio.internal.SocketLink;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * One client connected to one namespace, like the server-side {@code socket} of Socket.IO. It is a
 * Tether {@link Session} underneath ({@link #session()}): emits are queued in its bounded outbound
 * queue, numbered and kept in its replay buffer for connection state recovery.
 *
 * <p>Threading: every method may be called from any thread. Event and disconnect handlers run on
 * the hub's handler executor, one at a time per socket and in order.
 *
 * @since 0.1.0
 */
public final class Socket {

    private static final AtomicReferenceFieldUpdater<Socket, Object[]> HANDLERS =
            AtomicReferenceFieldUpdater.newUpdater(Socket.class, Object[].class, "handlers");
    private static final Object[] NO_HANDLERS = {};
    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<Socket, List> DISCONNECT_LISTENERS =
            AtomicReferenceFieldUpdater.newUpdater(Socket.class, List.class, "disconnectListeners");

    private final Namespace namespace;
    private final ObjectNode auth;
    /*
     * The handlers and the disconnect listeners: immutable copies swapped by compare-and-set.
     * Registrations are rare (a few when the socket connects), reads come with every event. The
     * handlers are one array of (event, handler) pairs, looked up by a scan: a socket has a few,
     * and an array of them is half the size of an immutable map of them (a tenth of a concurrent
     * one).
     */
    private volatile Object[] handlers = NO_HANDLERS;
    private volatile List<Consumer<String>> disconnectListeners = List.of();
    private final Endpoint endpoint = new Endpoint();
    private volatile EngineSession session;
    private volatile SocketLink link;
    private volatile boolean recovered;
    /** Whether the application was told of a connection it has not been told the end of; callbacks only. */
    private boolean connectedToldApplication;

    Socket(Namespace namespace, SocketLink link, ObjectNode auth) {
        this.namespace = namespace;
        this.link = link;
        this.auth = auth;
    }

    SocketEndpoint endpoint() {
        return endpoint;
    }

    /** {@return the socket id ({@code socket.id} on the client): the session id} Not a secret. */
    public String id() {
        return session.id();
    }

    /** {@return the namespace this socket belongs to} */
    public Namespace namespace() {
        return namespace;
    }

    /** {@return the principal the middleware (or the transport's authenticator) accepted} */
    public Principal principal() {
        return session.principal();
    }

    /**
     * {@return a copy of the {@code auth} object the client sent with its CONNECT (may be empty),
     * without secrets of ours}
     */
    public JsonNode auth() {
        ObjectNode copy = auth == null ? JsonNodeFactory.instance.objectNode() : auth.deepCopy();
        copy.remove("pid");
        copy.remove("offset");
        return copy;
    }

    /**
     * {@return whether this connection recovered the socket's state (connection state recovery)}
     * Then the client missed nothing, its rooms are kept, and {@code connection} listeners run
     * again.
     */
    public boolean recovered() {
        return recovered;
    }

    /** {@return whether a transport is attached now} */
    public boolean connected() {
        return session.isConnected();
    }

    /** {@return the Tether session underneath} */
    public Session session() {
        return session;
    }

    /**
     * Handles a client event. One handler per event: a later call replaces the earlier one (so
     * that a {@code connection} listener that runs again after a recovery does not register
     * twice).
     *
     * @param event the event name, not empty
     * @param handler handles the event's arguments and acknowledgement
     * @return this socket
     */
    public Socket on(String event, EventHandler handler) {
        String name = BroadcastOperator.checkEvent(event);
        Objects.requireNonNull(handler, "handler");
        Object[] before;
        Object[] after;
        do {
            before = handlers;
            int at = indexOf(before, name);
            if (at >= 0) {
                after = before.clone();
            } else {
                after = Arrays.copyOf(before, before.length + 2);
                at = before.length;
                after[at] = name;
            }
            after[at + 1] = handler;
        } while (!HANDLERS.compareAndSet(this, before, after));
        return this;
    }

    /**
     * Adds a listener called with the reason when the socket loses its transport or is
     * disconnected.
     *
     * @param listener called with the reason
     * @return this socket
     */
    public Socket onDisconnect(Consumer<String> listener) {
        Objects.requireNonNull(listener, "listener");
        List<Consumer<String>> before;
        List<Consumer<String>> after;
        do {
            before = disconnectListeners;
            ArrayList<Consumer<String>> copy = new ArrayList<>(before);
            copy.add(listener);
            after = List.copyOf(copy);
        } while (!DISCONNECT_LISTENERS.compareAndSet(this, before, after));
        return this;
    }

    /**
     * Emits a reliable event to this client: queued, numbered, kept for recovery.
     *
     * @param event the event name, not empty
     * @param args the arguments: a {@link JsonNode} as is, {@code byte[]} as a binary attachment,
     *     anything else through Jackson's tree conversion
     * @return {@link SendResult#ENQUEUED}, {@link SendResult#OVERFLOW} or {@link SendResult#CLOSED}
     */
    public SendResult emit(String event, Object... args) {
        return session.send(BroadcastOperator.checkEvent(event), namespace.arguments().payload(args));
    }

    /**
     * Emits a volatile event: dropped when the client is backed up or disconnected.
     *
     * @param event the event name, not empty
     * @param args the arguments, as for {@link #emit}
     * @return {@link SendResult#ENQUEUED}, {@link SendResult#DROPPED} or {@link SendResult#CLOSED}
     */
    public SendResult emitVolatile(String event, Object... args) {
        return session.sendVolatile(BroadcastOperator.checkEvent(event), namespace.arguments().payload(args));
    }

    /**
     * Emits an event with an acknowledgement callback
     * ({@code socket.timeout(t).emitWithAck(...)}).
     *
     * @param event the event name, not empty
     * @param timeout how long to wait for the client's answer
     * @param args the arguments, as for {@link #emit}
     * @return the client's answer, or a failure with {@link dev.tether.core.RequestException}
     *     (code {@code timeout} when it did not answer in time)
     */
    public CompletableFuture<List<JsonNode>> emitWithAck(String event, Duration timeout, Object... args) {
        return session.request(BroadcastOperator.checkEvent(event), namespace.arguments().payload(args), timeout)
                .thenApply(Arguments::list);
    }

    /**
     * Joins a room of this namespace.
     *
     * @param room the room
     * @return {@code true} if the socket was not in it
     */
    public boolean join(String room) {
        return session.subscribe(namespace.roomTopic(Objects.requireNonNull(room, "room")));
    }

    /**
     * Leaves a room.
     *
     * @param room the room
     * @return {@code true} if the socket was in it
     */
    public boolean leave(String room) {
        return session.unsubscribe(namespace.roomTopic(Objects.requireNonNull(room, "room")));
    }

    /** {@return the rooms this socket is in, its own id among them} */
    public Set<String> rooms() {
        String prefix = namespace.roomTopic("");
        return session.topics().stream().filter(t -> t.startsWith(prefix))
                .map(t -> t.substring(prefix.length())).collect(Collectors.toUnmodifiableSet());
    }

    /**
     * Addresses every socket in a room but this one.
     *
     * @param room the room
     * @return a broadcast to every socket in {@code room} but this one
     */
    public BroadcastOperator to(String room) {
        return new BroadcastOperator(namespace, namespace.roomTopic(Objects.requireNonNull(room, "room")), session);
    }

    /** {@return a broadcast to every socket of the namespace but this one} */
    public BroadcastOperator broadcast() {
        return new BroadcastOperator(namespace, namespace.allTopic(), session);
    }

    /** Disconnects the socket: the client gets a DISCONNECT ({@code "io server disconnect"}) and the socket ends. */
    public void disconnect() {
        SocketLink l = link;
        if (l != null && session.isConnected()) {
            l.disconnect();
        } else {
            session.close("server namespace disconnect");
        }
    }

    @Override
    public String toString() {
        return "Socket[" + namespace.name() + ", " + (session == null ? "?" : session.id()) + "]";
    }

    private void connected(boolean recovery) {
        recovered = recovery;
        connectedToldApplication = true;
        namespace.fireConnection(this);
    }

    private void disconnected(String reason) {
        if (!connectedToldApplication) {
            return;
        }
        connectedToldApplication = false;
        for (Consumer<String> listener : disconnectListeners) {
            namespace.hub().guard("socketio.disconnect", () -> listener.accept(reason));
        }
    }

    private void dispatch(Message message, Ack ack) {
        Object[] pairs = handlers;
        int at = indexOf(pairs, message.event());
        if (at >= 0) {
            ((EventHandler) pairs[at + 1]).onEvent(Arguments.list(message.payload()), ack);
        }
    }

    /** Where {@code event}'s pair starts in {@code pairs}, or -1. */
    private static int indexOf(Object[] pairs, String event) {
        for (int i = 0; i < pairs.length; i += 2) {
            if (event.equals(pairs[i])) {
                return i;
            }
        }
        return -1;
    }

    /** The engine's side of the socket. */
    private final class Endpoint implements SocketEndpoint, SessionHandler, MigrationListener {

        @Override
        public SessionHandler handler() {
            return this;
        }

        @Override
        public void bind(EngineSession s) {
            session = s;
            namespace.added(Socket.this);
        }

        @Override
        public void recovered(SocketLink l) {
            link = l;
            session.runCallback("socketio.connection", () -> connected(true));
        }

        @Override
        public void detached(String reason) {
            session.runCallback("socketio.disconnect", () -> disconnected(reason));
        }

        @Override
        public void onOpen(Session s) {
            connected(false);
        }

        @Override
        public void onMessage(Session s, Message message) {
            dispatch(message, Ack.NONE);
        }

        @Override
        public void onRequest(Session s, Message message, Responder responder) {
            // An event nobody handles is not answered, as in Socket.IO: the client's callback times out.
            dispatch(message, new Ack() {
                @Override
                public void send(Object... args) {
                    responder.reply(namespace.arguments().payload(args));
                }

                @Override
                public boolean requested() {
                    return true;
                }
            });
        }

        @Override
        public void onClose(Session s, int code, String reason) {
            namespace.removed(Socket.this);
            disconnected(reason);
        }

        @Override
        public void onMigrated(EngineSession s) {
            // Another node serves the socket now (cluster): this one forgets it, without a close.
            // Unbound if it was being recovered here when another recovery took it.
            if (session != null) {
                namespace.removed(Socket.this);
            }
        }
    }
}
