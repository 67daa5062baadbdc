package dev.tether.socketio.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BinaryNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tether.core.CloseCodes;
import dev.tether.core.Payload;
import dev.tether.core.spi.engine.AuthAnswers;
import dev.tether.core.spi.engine.ResumeOutcome;
import dev.tether.core.spi.engine.ResumeRequest;
import dev.tether.core.spi.engine.Scheduler;
import dev.tether.core.spi.engine.Heartbeat;
import dev.tether.core.spi.engine.Engine;
import dev.tether.core.spi.engine.EngineConnection;
import dev.tether.core.spi.engine.EngineSession;
import dev.tether.core.spi.engine.TokenBucket;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.HandshakeRequest;
import dev.tether.core.spi.InboundFrame;
import dev.tether.core.spi.ProtocolException;
import dev.tether.core.spi.TransportConnection;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * One Engine.IO v4 connection (the Socket.IO counterpart of the native {@code Link}): the open
 * packet, the server-driven heartbeat ({@code 2} every ping interval, {@code 3} expected within
 * the ping timeout), the Socket.IO packets inside {@code 4} messages, binary attachments, and the
 * namespaces multiplexed on it, each a {@link SocketLink} to its own session.
 *
 * <p>Bad input (a malformed packet, an unexpected binary message, a client ping) closes this
 * connection with {@link CloseCodes#BAD_REQUEST} and a reason; an unknown namespace or a refusing
 * middleware gets a CONNECT_ERROR and the connection stays. Nothing else is affected.
 *
 * <p>A CONNECT runs its namespace's middleware in order; one that answers later makes the CONNECT
 * wait (see {@code Namespace.use}): packets for that namespace are held meanwhile, at most
 * {@link #MAX_HELD_PACKETS}, the wait ends at {@code authenticationTimeout}, and the connection's
 * connect deadline does not close it while a CONNECT waits.
 *
 * <p>Threading: every field is owned by the connection's I/O thread; timers hop onto it through
 * {@link TransportConnection#execute} (the heartbeat's own threading is in {@link Heartbeat}).
 */
public final class EngineIoConnection implements ConnectionListener, EngineConnection, Heartbeat.Owner {

    /** How soon a drain close looks again at sockets that still had something to write. */
    private static final long DRAIN_RECHECK_MS = 10;

    /** Names the middleware in the failure of a missing answer. */
    private static final String MIDDLEWARE = "middleware";

    /** Packets a client may send to a namespace whose CONNECT is being authenticated. */
    static final int MAX_HELD_PACKETS = 16;
    private static final AuthResult.Refused UNAUTHORIZED = new AuthResult.Refused(401, "Unauthorized");
    private static final AuthResult.Refused TIMED_OUT = new AuthResult.Refused(503, "Authentication timed out");

    private final Engine hub;
    private final EngineIoSettings settings;
    final EngineTransport out;
    private final Principal principal;
    private final String engineId;
    /*
     * The sockets, one per namespace. Most clients join one namespace: that socket is held here
     * alone, and a map (about 120 bytes with its table and entry) exists only from the second on,
     * when it takes them all and this field is null.
     */
    private SocketLink socket;
    private Map<String, SocketLink> sockets;
    /**
     * CONNECTs waiting for middleware that answers later, by namespace; null while none waits
     * (most connections never have one: a map's 48 bytes or more saved on each).
     */
    private Map<String, PendingConnect> connecting;
    private final TokenBucket inboundRate;

    private SioPacket pendingBinary;
    private List<byte[]> attachments;
    boolean closed;
    private boolean closing;
    private int readSuspensions;
    /** Only pongs count as an answer (the Engine.IO v4 rule). */
    private Heartbeat heartbeat;
    private Scheduler.Timeout connectTimer;
    /** The connect deadline passed while a CONNECT waited: decided when the waiting ends. */
    private boolean connectDeadlinePassed;

    private EngineIoConnection(Engine hub, EngineIoSettings settings, TransportConnection transport,
                               Principal principal, String engineId) {
        this.hub = hub;
        this.settings = settings;
        this.out = new EngineTransport(transport);
        this.principal = principal;
        this.engineId = engineId;
        this.inboundRate = hub.inboundRate() != null ? new TokenBucket(hub.inboundRate(), System.nanoTime()) : null;
    }

    /**
     * Opens an Engine.IO connection on a transport whose slot {@code TransportHub.admit()} reserved:
     * writes the open packet and starts the heartbeat and the connect deadline. On the
     * transport's I/O thread.
     *
     * @param engineId the Engine.IO session id ({@code sid}), unguessable
     * @param upgrades the transports the client may upgrade to ({@code ["websocket"]} on polling)
     */
    public static EngineIoConnection open(Engine hub, EngineIoSettings settings, TransportConnection transport,
                                          Principal principal, String engineId, List<String> upgrades) {
        EngineIoConnection c = new EngineIoConnection(hub, settings, transport, principal, engineId);
        c.start(upgrades);
        return c;
    }

    private void start(List<String> upgrades) {
        if (!hub.register(this)) {
            fail(CloseCodes.SERVER_RESTART, "server shutting down");
            return;
        }
        ObjectNode open = JsonNodeFactory.instance.objectNode();
        open.put("sid", engineId);
        ArrayNode up = open.putArray("upgrades");
        upgrades.forEach(up::add);
        open.put("pingInterval", hub.config().heartbeatInterval().toMillis());
        open.put("pingTimeout", hub.config().heartbeatTimeout().toMillis());
        open.put("maxPayload", hub.config().maxMessageBytes());
        out.write(Frame.text(ByteBuffer.wrap(new byte[] {'0'}), ByteBuffer.wrap(SocketIoProtocol.bytes(open))));
        out.flush();
        heartbeat = new Heartbeat(hub.heartbeatSchedule(), out, this);
        heartbeat.start(hub.config().heartbeatInterval().toNanos());
        connectTimer = hub.timer().scheduleIfOpen(() -> out.execute(this::connectDeadline),
                settings.connectTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }

    /** The heartbeat's ping: Engine.IO's {@code 2}. I/O thread. */
    @Override
    public boolean sendPing() {
        if (closing) {
            return false;
        }
        out.write(Frame.text(ByteBuffer.wrap(new byte[] {'2'})));
        out.flush();
        return true;
    }

    /** No pong within the timeout after a ping. I/O thread. */
    @Override
    public void timedOut() {
        fail(CloseCodes.HEARTBEAT_TIMEOUT, "ping timeout");
    }

    /**
     * The client looked without sending anything (a long-polling GET): if its pong is overdue,
     * the connection fails now with a ping timeout, as it would at the timer's next tick, so that
     * no request after the deadline finds the session alive. On the I/O thread.
     *
     * @return whether this call failed the connection
     */
    public boolean expireIfOverdue() {
        if (!closing && heartbeat != null && heartbeat.overdue(System.nanoTime())) {
            fail(CloseCodes.HEARTBEAT_TIMEOUT, "ping timeout");
            return true;
        }
        return false;
    }

    /** The Engine.IO session id. */
    public String engineId() {
        return engineId;
    }

    /**
     * The Engine.IO upgrade (long-polling to WebSocket) completed: writes go to {@code next} from
     * now on, and the transport reports this connection's events from it. On the I/O thread;
     * {@code next} must run its I/O thread-bound calls on this same thread. Packets the old
     * transport still buffered must have been moved to {@code next} first.
     */
    public void upgrade(TransportConnection next) {
        out.replace(next);
        out.flush();
        onWritable();
    }

    private void connectDeadline() {
        if (closing || !noSockets()) {
            return;
        }
        if (nothingConnecting()) {
            fail(CloseCodes.HELLO_TIMEOUT, "no namespace connected in time");
        } else {
            connectDeadlinePassed = true; // the client did send a CONNECT; its answer decides
        }
    }

    /** A CONNECT ended without a socket: the connect deadline applies now if it passed meanwhile. */
    private void connectAttemptEnded() {
        if (connectDeadlinePassed && noSockets() && nothingConnecting()) {
            fail(CloseCodes.HELLO_TIMEOUT, "no namespace connected in time");
        }
    }

    // ------------------------------------------------------------ inbound

    @Override
    public void onFrame(ByteBuffer data, boolean binary) {
        if (closing) {
            return;
        }
        if (inboundRate != null && !inboundRate.tryTake(System.nanoTime())) {
            hub.config().metrics().refused("rate limit");
            fail(CloseCodes.RATE_LIMITED, "inbound rate limit exceeded");
            return;
        }
        try {
            if (binary) {
                onAttachment(data);
            } else {
                onText(utf8(data));
            }
        } catch (ProtocolException e) {
            fail(e.closeCode(), e.getMessage());
        } catch (RuntimeException e) {
            hub.config().errorHandler().onError("socketio.decode", e);
            fail(CloseCodes.BAD_REQUEST, "malformed packet");
        }
    }

    private static String utf8(ByteBuffer data) throws ProtocolException {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(data).toString();
        } catch (CharacterCodingException e) {
            throw new ProtocolException(CloseCodes.INVALID_PAYLOAD, "invalid UTF-8");
        }
    }

    private void onText(String text) throws ProtocolException {
        if (pendingBinary != null) {
            throw SioPacket.bad("expected a binary attachment");
        }
        if (text.isEmpty()) {
            throw SioPacket.bad("empty packet");
        }
        switch (text.charAt(0)) {
            case '1' -> fail(CloseCodes.NORMAL, "transport close");
            case '2' -> throw SioPacket.bad("invalid heartbeat direction");
            case '3' -> heartbeat.heard(System.nanoTime());
            case '4' -> onPacket(SioPacket.parse(text, 1, settings.maxAttachments()));
            case '5', '6' -> {
                // upgrade and noop carry nothing once a transport is settled
            }
            default -> throw SioPacket.bad("unknown engine.io packet type");
        }
    }

    private void onPacket(SioPacket packet) throws ProtocolException {
        if (packet.attachments() > 0) {
            pendingBinary = packet;
            attachments = new ArrayList<>(packet.attachments());
            return;
        }
        dispatch(packet);
    }

    private void onAttachment(ByteBuffer data) throws ProtocolException {
        if (pendingBinary == null) {
            throw SioPacket.bad("unexpected binary message");
        }
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        attachments.add(bytes);
        if (attachments.size() == pendingBinary.attachments()) {
            SioPacket p = pendingBinary;
            JsonNode filled = fillPlaceholders(p.data(), attachments);
            pendingBinary = null;
            attachments = null;
            dispatch(new SioPacket(p.type(), p.namespace(), p.ackId(), 0, filled));
        }
    }

    /** Puts each attachment where its placeholder was. */
    static JsonNode fillPlaceholders(JsonNode node, List<byte[]> attachments) throws ProtocolException {
        if (node.isObject() && node.path("_placeholder").asBoolean(false)) {
            JsonNode num = node.get("num");
            if (num == null || !num.canConvertToInt() || num.intValue() < 0 || num.intValue() >= attachments.size()) {
                throw SioPacket.bad("illegal attachment placeholder");
            }
            return BinaryNode.valueOf(attachments.get(num.intValue()));
        }
        if (node.isArray()) {
            ArrayNode copy = JsonNodeFactory.instance.arrayNode(node.size());
            for (JsonNode element : node) {
                copy.add(fillPlaceholders(element, attachments));
            }
            return copy;
        }
        if (node.isObject()) {
            ObjectNode copy = JsonNodeFactory.instance.objectNode();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                copy.set(e.getKey(), fillPlaceholders(e.getValue(), attachments));
            }
            return copy;
        }
        return node;
    }

    private void dispatch(SioPacket p) throws ProtocolException {
        switch (p.type()) {
            case SioPacket.CONNECT -> onConnect(p.namespace(), (ObjectNode) p.data());
            case SioPacket.DISCONNECT -> {
                SocketLink link = socketOf(p.namespace());
                if (link != null) {
                    remove(link);
                    link.clientDisconnected();
                } else {
                    PendingConnect waiting = connecting(p.namespace());
                    if (waiting != null) {
                        // The client gave up on its CONNECT: its answer will find nobody.
                        finish(waiting);
                        connectAttemptEnded();
                    }
                }
            }
            case SioPacket.EVENT, SioPacket.BINARY_EVENT -> {
                SocketLink link = socketOf(p.namespace());
                if (link != null) {
                    ArrayNode args = JsonNodeFactory.instance.arrayNode(p.data().size() - 1);
                    for (int i = 1; i < p.data().size(); i++) {
                        args.add(p.data().get(i));
                    }
                    long requestId = p.ackId() >= 0 ? p.ackId() + 1 : 0;
                    link.deliver(new InboundFrame.Msg(0, requestId, p.eventName(), Payload.json(args), null));
                } else {
                    hold(p);
                }
            }
            case SioPacket.ACK, SioPacket.BINARY_ACK -> {
                SocketLink link = socketOf(p.namespace());
                if (link != null) {
                    link.deliver(new InboundFrame.Reply(p.ackId(), Payload.json(p.data()), null, null));
                } else {
                    hold(p);
                }
            }
            default -> throw SioPacket.bad("unexpected packet");
        }
    }

    // ------------------------------------------------------------ namespaces

    private void onConnect(String namespace, ObjectNode auth) {
        if (socketOf(namespace) != null || connecting(namespace) != null) {
            return; // already connected or connecting: the reference ignores it too
        }
        NamespaceEndpoint endpoint = settings.namespaces().apply(namespace);
        if (endpoint == null) {
            writeNow(new SocketIoProtocol(namespace, false).connectError("Invalid namespace"));
            return;
        }
        authenticate(new PendingConnect(namespace, endpoint, auth,
                new ConnectRequest(auth, namespace, out.remoteAddress()), endpoint.middleware().iterator(), principal));
    }

    // ------------------------------------------------------------ namespace middleware

    /** A CONNECT going through its namespace's middleware. I/O thread only. */
    private static final class PendingConnect {
        final String namespace;
        final NamespaceEndpoint endpoint;
        final ObjectNode auth;
        /** Dropped when the CONNECT is answered: a stage the application keeps must not keep the request. */
        HandshakeRequest request;
        Iterator<Authenticator> middleware;
        /** The principal the middleware so far accepted the socket as. */
        Principal principal;
        Scheduler.Timeout deadline;
        List<SioPacket> held;

        PendingConnect(String namespace, NamespaceEndpoint endpoint, ObjectNode auth, HandshakeRequest request,
                       Iterator<Authenticator> middleware, Principal principal) {
            this.namespace = namespace;
            this.endpoint = endpoint;
            this.auth = auth;
            this.request = request;
            this.middleware = middleware;
            this.principal = principal;
        }
    }

    /**
     * Runs the remaining middleware of {@code c} in order, then connects the socket. An answer
     * that is there when the middleware returns is taken at once (the usual case, with no hop);
     * otherwise {@code c} waits, and goes on on this thread when the answer comes.
     */
    private void authenticate(PendingConnect c) {
        while (c.middleware.hasNext()) {
            CompletionStage<AuthResult> stage;
            try {
                stage = c.middleware.next().authenticate(c.request);
            } catch (RuntimeException e) {
                refuse(c, failed(e));
                return;
            }
            if (stage == null) {
                refuse(c, failed(new IllegalStateException("middleware returned no stage")));
                return;
            }
            if (!(stage instanceof CompletableFuture<AuthResult> future) || !future.isDone()) {
                await(c, stage);
                return;
            }
            if (!accepted(c, AuthAnswers.settled(future, MIDDLEWARE, this::failed))) {
                return;
            }
        }
        connect(c);
    }

    private void await(PendingConnect c, CompletionStage<AuthResult> stage) {
        if (c.deadline == null) {
            if (connecting == null) {
                connecting = new HashMap<>(2);
            }
            connecting.put(c.namespace, c);
            c.deadline = hub.timer().schedule(() -> out.execute(() -> timedOut(c)),
                    hub.config().authenticationTimeout().toNanos(), TimeUnit.NANOSECONDS);
        }
        stage.whenComplete((result, failure) -> out.execute(() -> {
            if (connecting(c.namespace) != c) {
                return; // timed out, given up by the client, or the transport closed: too late
            }
            if (accepted(c, AuthAnswers.outcome(result, failure, MIDDLEWARE, this::failed))) {
                authenticate(c);
            }
        }));
    }

    private void timedOut(PendingConnect c) {
        if (connecting(c.namespace) == c) {
            refuse(c, TIMED_OUT);
        }
    }

    private AuthResult.Refused failed(Throwable failure) {
        hub.config().errorHandler().onError("socketio.middleware", failure);
        return UNAUTHORIZED;
    }

    /** Takes one middleware's answer: whether the chain goes on (a refusal is answered). */
    private boolean accepted(PendingConnect c, AuthResult result) {
        if (result instanceof AuthResult.Accepted accepted) {
            c.principal = accepted.principal();
            return true;
        }
        refuse(c, (AuthResult.Refused) result);
        return false;
    }

    private void refuse(PendingConnect c, AuthResult.Refused refusal) {
        finish(c);
        hub.config().metrics().refused("socketio.connect");
        writeNow(c.endpoint.protocol().connectError(refusal.reason()));
        connectAttemptEnded();
    }

    /** The CONNECT to {@code namespace} waiting for its middleware, or null. */
    private PendingConnect connecting(String namespace) {
        return connecting == null ? null : connecting.get(namespace);
    }

    private boolean nothingConnecting() {
        return connecting == null || connecting.isEmpty();
    }

    /** Ends the wait of {@code c}, if it waited; what it held is dropped. */
    private void finish(PendingConnect c) {
        if (connecting != null && connecting.remove(c.namespace, c) && connecting.isEmpty()) {
            connecting = null;
        }
        cancel(c.deadline);
        c.request = null;
        c.middleware = null;
        c.held = null;
    }

    /**
     * A packet for a namespace whose CONNECT waits for its middleware: kept for the socket. A
     * packet for a namespace the client is not connected to is ignored, as the reference does.
     */
    private void hold(SioPacket p) throws ProtocolException {
        PendingConnect c = connecting(p.namespace());
        if (c == null) {
            return;
        }
        if (c.held == null) {
            c.held = new ArrayList<>(4);
        } else if (c.held.size() == MAX_HELD_PACKETS) {
            throw SioPacket.bad("too many packets before the namespace connected");
        }
        c.held.add(p);
    }

    /** The middleware accepted: the socket connects, then gets the packets held for it, in order. */
    private void connect(PendingConnect c) {
        List<SioPacket> held = c.held;
        finish(c);
        if (closing) {
            return;
        }
        if (connectTimer != null) {
            connectTimer.cancel();
            connectTimer = null;
        }
        SocketLink link = new SocketLink(this, c.endpoint, c.principal, c.auth);
        add(link);
        open(link, c.auth);
        if (held != null) {
            try {
                for (SioPacket p : held) {
                    dispatch(p);
                }
            } catch (ProtocolException e) {
                fail(e.closeCode(), e.getMessage());
            }
        }
    }

    private void open(SocketLink link, ObjectNode auth) {
        if (link.endpoint.recovery() && auth != null && auth.path("pid").isTextual() && auth.path("offset").isTextual()) {
            String[] pid = PrivateSessionId.parse(auth.get("pid").textValue());
            long offset = parseOffset(auth.get("offset").textValue());
            if (pid != null && offset >= 0 && hub.clustered()) {
                recoverFromBroker(link, pid, offset);
                return;
            }
            if (pid != null && offset >= 0 && recover(link, pid, offset)) {
                return;
            }
        }
        openSocket(link);
    }

    /**
     * Cluster: recovers through the broker, wherever the session was (this node included), as a
     * native resume does; a recovery that cannot be honoured gets a new session, a broker that
     * cannot be reached closes the transport so that the client retries with the same pid.
     * Packets for the namespace before the CONNECT reply are dropped (the client sends none).
     */
    private void recoverFromBroker(SocketLink link, String[] pid, long offset) {
        SocketEndpoint socket = link.endpoint.newSocket(link, link.auth);
        ResumeRequest request = new ResumeRequest(pid[0], pid[1], link.principal, offset, 0,
                link.endpoint.protocol(), socket.handler(), true);
        hub.resumeFromBroker(link, request, new ResumeOutcome() {
            @Override
            public void claimed(EngineSession session) {
                socket.bind(session);
                link.bind(session, socket, true);
            }

            @Override
            public void failed(int why, String reason) {
                if (why == ResumeOutcome.UNAVAILABLE) {
                    fail(CloseCodes.TRY_AGAIN_LATER, reason);
                } else if (!closing) {
                    // Every refusal looks the same to the client (a new session): no oracle for guessed pids.
                    openSocket(link);
                }
            }
        });
    }

    /** Starts recovering the session the client names from this node's memory; false if it cannot be (then a new one). */
    private boolean recover(SocketLink link, String[] parts, long offset) {
        EngineSession old = hub.findSession(parts[0]);
        // Every refusal looks the same to the client (a new session): no oracle for guessed pids.
        if (old == null || !old.isAckless() || old.protocol() != link.endpoint.protocol()
                || !old.tokenMatches(parts[1]) || !old.principal().getName().equals(link.principal.getName())) {
            return false;
        }
        SocketEndpoint socket = link.endpoint.socket(old.id());
        if (socket == null) {
            return false;
        }
        link.bind(old, socket, true);
        return old.beginResume(link, offset, 0) == EngineSession.RESUMING;
    }

    private static long parseOffset(String text) {
        if (text.isEmpty() || text.length() > 18) {
            return -1;
        }
        for (int i = 0; i < text.length(); i++) {
            if (!Character.isDigit(text.charAt(i))) {
                return -1;
            }
        }
        return Long.parseLong(text);
    }

    /** A new session for {@code link}'s socket, attached at once. I/O thread. */
    void openSocket(SocketLink link) {
        NamespaceEndpoint endpoint = link.endpoint;
        SocketEndpoint socket = endpoint.newSocket(link, link.auth);
        EngineSession session = hub.openSession(link.principal, endpoint.protocol(), socket.handler(), true);
        socket.bind(session);
        link.bind(session, socket, false);
        session.subscribe(endpoint.allTopic());
        session.subscribe(endpoint.roomTopic(session.id()));
        session.attachNew(link, null, null);
    }

    /** The link of {@code namespace} is gone (taken over, or disconnected by the server). */
    void remove(SocketLink link) {
        if (socket == link) {
            socket = null;
        } else if (sockets != null) {
            sockets.remove(link.endpoint.name(), link);
        }
    }

    /** The socket of {@code namespace}, or null. */
    private SocketLink socketOf(String namespace) {
        if (sockets != null) {
            return sockets.get(namespace);
        }
        SocketLink only = socket;
        return only != null && only.endpoint.name().equals(namespace) ? only : null;
    }

    /** A socket for a namespace that has none on this connection. */
    private void add(SocketLink link) {
        if (sockets == null && socket == null) {
            socket = link;
            return;
        }
        if (sockets == null) {
            sockets = new HashMap<>(4);
            sockets.put(socket.endpoint.name(), socket);
            socket = null;
        }
        sockets.put(link.endpoint.name(), link);
    }

    private boolean noSockets() {
        return socket == null && (sockets == null || sockets.isEmpty());
    }

    /** The sockets now, a copy that their callbacks may change the sockets under. */
    private List<SocketLink> socketList() {
        if (sockets != null) {
            return List.copyOf(sockets.values());
        }
        return socket == null ? List.of() : List.of(socket);
    }

    // ------------------------------------------------------------ the hub's drain

    @Override
    public TransportConnection connection() {
        return out;
    }

    /**
     * Engine.IO has no "reconnect later" packet: the way to send a client elsewhere is to close
     * its transport ({@code 1} on long-polling, a close frame on a WebSocket), after which
     * socket.io-client reports "transport close" and reconnects with its own randomised backoff,
     * recovering its sessions if connection state recovery is on. So the close itself is what is
     * spread over the drain window: at {@code reconnectAfterMs}, once every socket's queue is
     * written.
     */
    @Override
    public void goingAway(long reconnectAfterMs) {
        scheduleDrainClose(reconnectAfterMs);
    }

    private void scheduleDrainClose(long delayMs) {
        try {
            hub.timer().schedule(() -> out.execute(this::closeWhenDrained), delayMs, TimeUnit.MILLISECONDS);
        } catch (IllegalStateException e) {
            // The timer is closed: the hub's drain is over and it closed every connection itself.
        }
    }

    /** I/O thread: closes the transport once nothing is left to write, else looks again shortly. */
    private void closeWhenDrained() {
        if (closing) {
            return;
        }
        boolean queued = false;
        for (SocketLink link : socketList()) {
            EngineSession session = link.session();
            if (session != null && session.isAttachedTo(link) && session.queued() > 0) {
                session.scheduleDrain();
                queued = true;
            }
        }
        if (queued) {
            // A blocked client may never take it all: the hub's drain timeout bounds the wait.
            scheduleDrainClose(DRAIN_RECHECK_MS);
        } else {
            fail(CloseCodes.SERVER_RESTART, "server restart");
        }
    }

    /** Whether {@code link} is still this connection's socket of its namespace. */
    boolean holds(SocketLink link) {
        return socketOf(link.endpoint.name()) == link;
    }

    // ------------------------------------------------------------ writes, closes, reads

    void writeNow(Frame frame) {
        if (!closing) {
            out.write(frame);
            out.flush();
        }
    }

    /** Closes the transport; the sessions stay for recovery. I/O thread. */
    void fail(int code, String reason) {
        if (closing) {
            return;
        }
        closing = true;
        out.close(code, reason);
    }

    boolean isClosing() {
        return closing;
    }

    void suspendReads() {
        if (readSuspensions++ == 0 && !closed) {
            out.suspendReads();
        }
    }

    void resumeReads() {
        if (readSuspensions > 0 && --readSuspensions == 0 && !closed) {
            out.resumeReads();
        }
    }

    @Override
    public void onWritable() {
        if (sockets == null) {
            if (socket != null) {
                socket.writable();
            }
            return;
        }
        for (SocketLink link : sockets.values()) {
            link.writable();
        }
    }

    @Override
    public void onClosed(int code, String reason) {
        if (closed) {
            return;
        }
        closed = true;
        closing = true;
        if (heartbeat != null) {
            heartbeat.cancel();
        }
        cancel(connectTimer);
        hub.unregister(this, code);
        if (connecting != null) {
            for (PendingConnect c : List.copyOf(connecting.values())) {
                finish(c); // its answer will find nobody
            }
        }
        String why = switch (code) {
            case CloseCodes.HEARTBEAT_TIMEOUT -> "ping timeout";
            case CloseCodes.SERVER_RESTART, CloseCodes.GOING_AWAY -> "server shutting down";
            case CloseCodes.NORMAL, CloseCodes.ABNORMAL, 1005 -> "transport close";
            default -> "transport error";
        };
        for (SocketLink link : socketList()) {
            link.transportClosed(why);
        }
        socket = null;
        sockets = null;
    }

    private static void cancel(Scheduler.Timeout t) {
        if (t != null) {
            t.cancel();
        }
    }
}
