package dev.tether.undertow;

import dev.tether.core.CloseCodes;
import dev.tether.core.spi.TransportHub;
import dev.tether.core.Tether;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.TransportConnection;
import dev.tether.socketio.SocketIo;
import dev.tether.undertow.internal.ConnectionSettings;
import dev.tether.undertow.internal.OpenConnections;
import dev.tether.undertow.internal.OriginPolicy;
import dev.tether.undertow.internal.PollingTransport;
import dev.tether.undertow.internal.SocketIoErrors;
import dev.tether.undertow.internal.UndertowConnection;
import dev.tether.undertow.internal.UpgradeProbe;
import dev.tether.undertow.internal.WebSocketUpgrade;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RequestTooBigException;
import io.undertow.util.HttpString;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import io.undertow.util.SameThreadExecutor;
import java.nio.ByteBuffer;
import java.security.Principal;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The Undertow handler of a Socket.IO server ({@link SocketIo}): the Engine.IO v4 endpoint that
 * stock {@code socket.io-client} 4.x connects to, with its default options (long-polling, then
 * the upgrade to WebSocket) or {@code transports: ["websocket"]}. Mount it at the client's path
 * (default {@code /socket.io/}), or let {@link TetherServer#start(SocketIo, TetherUndertowConfig)}
 * do it.
 *
 * <p>Requests, in order:
 * <ol>
 *   <li>an {@code Origin} that is not allowed (by default anything but the request's own origin;
 *       see {@link TetherUndertowConfig#allowedOrigins()}): 403, on every request, polling and
 *       preflights included, without CORS headers. The answers to an allowed foreign origin
 *       carry {@code Access-Control-Allow-Origin} (the request's origin),
 *       {@code Access-Control-Allow-Credentials: true} and {@code Vary: Origin}, its preflight
 *       ({@code OPTIONS}) 204 with the allowed methods and headers; same-origin requests and
 *       requests without {@code Origin} need no CORS headers and get none;</li>
 *   <li>{@code EIO} other than 4: 400 {@code {"code":5,"message":"Unsupported protocol version"}};</li>
 *   <li>a new session ({@code transport=websocket} or {@code polling} without {@code sid}):
 *       admission control ({@link dev.tether.core.spi.TransportHub#admitOrDelay()}: 503 with {@code Retry-After}, or a wait for its turn) and the hub's
 *       authenticator (its 401, 403 or 503; 503 if it has not answered within
 *       {@link dev.tether.core.TetherConfig#authenticationTimeout()}), exactly as a native
 *       {@link TetherHandler} upgrade, including the wait for an asynchronous answer, which
 *       holds the admission slot; a WebSocket gets the same frame limits, read deadline and water
 *       marks, a polling session the open packet in answer to its first GET (once the
 *       authenticator has answered);</li>
 *   <li>{@code transport=polling} with a known {@code sid}: a GET waits for packets (one at a
 *       time: a second closes the session), a POST delivers the client's packets; a body larger
 *       than {@code maxPayload} (the hub's {@code maxMessageBytes}) gets 413 and closes the
 *       session;</li>
 *   <li>{@code transport=websocket} with a known polling {@code sid}: the upgrade (probe
 *       {@code 2probe}/{@code 3probe}, the pending GET released with a noop, {@code 5}), after
 *       which the session runs on the WebSocket; a request that is not a valid upgrade is
 *       refused as a new session's would be (426 naming version 13 for another
 *       {@code Sec-WebSocket-Version}, otherwise 400);</li>
 *   <li>anything else (an unknown transport or {@code sid}, a bad method): 400 with the
 *       Engine.IO error object.</li>
 * </ol>
 * {@code maxPayload} is the hub's {@code maxMessageBytes}: a larger WebSocket message closes
 * with 1009.
 *
 * <p>Closing: a closed polling session (by the engine, a draining hub or a stopping server) keeps
 * its {@code sid} until a GET has carried the close packet to the client, alone in its answer, at
 * most {@link TetherUndertowConfig#closeTimeout()}; see {@link PollingTransport}.
 *
 * <p>Threading: thread-safe; one instance serves every request; never blocks. A polling session
 * runs on the I/O thread of the request that opened it (see {@link PollingTransport}).
 *
 * @since 0.1.0
 */
public final class SocketIoHandler implements HttpHandler {

    private static final HttpString ALLOW_ORIGIN = new HttpString("Access-Control-Allow-Origin");
    private static final HttpString ALLOW_CREDENTIALS = new HttpString("Access-Control-Allow-Credentials");
    private static final HttpString ALLOW_METHODS = new HttpString("Access-Control-Allow-Methods");
    private static final HttpString ALLOW_HEADERS = new HttpString("Access-Control-Allow-Headers");
    private static final HttpString VARY = new HttpString("Vary");

    private final SocketIo io;
    private final Tether tether;
    private final TetherUndertowConfig config;
    private final TetherHandler webSocket;
    private final WebSocketUpgrade upgrades;
    private final ConnectionSettings settings;
    private final Map<String, PollingTransport> polling = new ConcurrentHashMap<>();
    private final BiConsumer<HttpServerExchange, AuthResult.Accepted> openAccepted = this::openSession;
    private final Consumer<HttpServerExchange> pollingAdmitted = this::authenticatePolling;
    /** Polling sessions open, or closed with the close packet not yet handed to their client. */
    private final OpenConnections pollingSessions = new OpenConnections();

    /**
     * A handler for {@code io} with the default configuration.
     *
     * @param io the Socket.IO server to serve
     */
    public SocketIoHandler(SocketIo io) {
        this(io, TetherUndertowConfig.defaults());
    }

    /**
     * A handler for {@code io}.
     *
     * @param io the Socket.IO server to serve
     * @param config the transport's configuration
     * @throws IllegalArgumentException as {@link TetherHandler#TetherHandler(Tether,
     *                                  TetherUndertowConfig, HttpHandler)}
     */
    public SocketIoHandler(SocketIo io, TetherUndertowConfig config) {
        this.io = Objects.requireNonNull(io, "io");
        this.tether = io.tether();
        this.config = Objects.requireNonNull(config, "config");
        this.webSocket = new TetherHandler(tether, config,
                exchange -> SocketIoErrors.badRequest(exchange, 3, "Bad request"),
                (connection, credentials) -> io.connect(connection, credentials.principal(), io.newEngineId(), List.of()));
        this.settings = ConnectionSettings.resolve(tether.config(), config);
        this.upgrades = new WebSocketUpgrade(tether, this::attachUpgrade, settings);
    }

    /** {@return the Socket.IO server this handler serves} */
    public SocketIo socketIo() {
        return io;
    }

    /** {@return this handler's configuration} */
    public TetherUndertowConfig config() {
        return config;
    }

    /**
     * Closes every long-polling session (its client gets the close packet) and every WebSocket
     * a polling session upgraded to, with {@code code}, as well as those opened from now on. For
     * a server that stops.
     */
    void closeSessions(int code, String reason) {
        pollingSessions.closeAll(code, reason);
        upgrades.openConnections().closeAll(code, reason);
    }

    /**
     * Waits until every polling session's client has been handed its close packet and every
     * upgraded WebSocket is closed, at most until {@code deadlineNs} ({@link System#nanoTime()}).
     * Not on an I/O thread.
     */
    boolean awaitSessionsClosed(long deadlineNs) throws InterruptedException {
        boolean pollingDone = pollingSessions.awaitEmpty(Math.max(0, deadlineNs - System.nanoTime()));
        return upgrades.openConnections().awaitEmpty(Math.max(0, deadlineNs - System.nanoTime())) && pollingDone;
    }

    /** The handler of the WebSocket upgrades (for the connections it keeps open). */
    TetherHandler webSocketHandler() {
        return webSocket;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        OriginPolicy.Verdict origin = webSocket.checkOrigin(exchange);
        if (!origin.allowed()) {
            return;
        }
        if (origin.cors()) {
            cors(exchange);
        }
        if (Methods.OPTIONS.equals(exchange.getRequestMethod())) {
            if (origin.cors()) {
                exchange.getResponseHeaders().put(ALLOW_METHODS, "GET, POST");
                exchange.getResponseHeaders().put(ALLOW_HEADERS, "content-type");
            }
            exchange.setStatusCode(204);
            exchange.endExchange();
            return;
        }
        if (!"4".equals(query(exchange, "EIO"))) {
            SocketIoErrors.badRequest(exchange, 5, "Unsupported protocol version");
            return;
        }
        String transport = query(exchange, "transport");
        String sid = query(exchange, "sid");
        if ("websocket".equals(transport)) {
            if (sid == null) {
                webSocket.handleRequest(exchange);
            } else {
                upgrade(exchange, sid);
            }
        } else if ("polling".equals(transport)) {
            if (sid == null) {
                openPolling(exchange);
            } else {
                poll(exchange, sid);
            }
        } else {
            SocketIoErrors.badRequest(exchange, 0, "Transport unknown");
        }
    }

    /** For an allowed foreign origin, which is a well-formed one: reflecting it is safe. */
    private static void cors(HttpServerExchange exchange) {
        exchange.getResponseHeaders().put(ALLOW_ORIGIN, TetherHandler.origin(exchange).trim());
        exchange.getResponseHeaders().put(ALLOW_CREDENTIALS, "true");
        exchange.getResponseHeaders().add(VARY, "Origin");
    }

    private static String query(HttpServerExchange exchange, String name) {
        Deque<String> values = exchange.getQueryParameters().get(name);
        return values == null || values.isEmpty() ? null : values.getFirst();
    }

    // ------------------------------------------------------------ long-polling

    private void openPolling(HttpServerExchange exchange) {
        if (!Methods.GET.equals(exchange.getRequestMethod())) {
            SocketIoErrors.badRequest(exchange, 2, "Bad handshake method");
            return;
        }
        webSocket.admit(exchange, pollingAdmitted);
    }

    private void authenticatePolling(HttpServerExchange exchange) {
        webSocket.authenticate(exchange, openAccepted);
    }

    /** The polling handshake is authenticated: the session takes the slot, its GET gets the open packet. */
    private void openSession(HttpServerExchange exchange, AuthResult.Accepted accepted) {
        if (!WebSocketUpgrade.takeAdmission(exchange)) {
            // Only an exchange that already ended another way gives its slot back before this.
            throw new IllegalStateException("polling handshake without its admission slot");
        }
        String sid = io.newEngineId();
        PollingTransport transport = new PollingTransport(sid, exchange.getIoThread(),
                exchange.getSourceAddress(), config.writeWaterMark().highBytes(), settings.closeTimeoutMs(),
                pollingSessions, gone -> polling.remove(gone.sid(), gone));
        polling.put(sid, transport);
        // The handler runs on this I/O thread, which becomes the session's.
        ConnectionListener listener = io.connect(transport, accepted.principal(), sid, List.of("websocket"));
        transport.listener(listener);
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> transport.onGet(exchange));
    }

    private void poll(HttpServerExchange exchange, String sid) {
        PollingTransport transport = polling.get(sid);
        if (transport == null) {
            SocketIoErrors.badRequest(exchange, 1, "Session ID unknown");
            return;
        }
        if (transport.upgraded()) {
            SocketIoErrors.badRequest(exchange, 3, "Bad request"); // the session went on over its WebSocket
            return;
        }
        if (Methods.GET.equals(exchange.getRequestMethod())) {
            exchange.dispatch(SameThreadExecutor.INSTANCE, () -> transport.execute(() -> {
                // A client that polls after its pong deadline finds the session gone, whatever the timer's tick.
                if (transport.isOpen() && io.expireIfOverdue(transport.listener())) {
                    SocketIoErrors.badRequest(exchange, 1, "Session ID unknown");
                    return;
                }
                transport.onGet(exchange);
            }));
        } else if (Methods.POST.equals(exchange.getRequestMethod())) {
            int maxPayload = tether.config().maxMessageBytes();
            if (exchange.getRequestContentLength() > maxPayload) {
                tooBig(exchange, transport);
                return;
            }
            exchange.setMaxEntitySize(maxPayload);
            // Answered from the session's thread once its packets were taken: the exchange stays open.
            exchange.getRequestReceiver().receiveFullBytes((done, body) -> done.dispatch(SameThreadExecutor.INSTANCE,
                    () -> transport.execute(() -> {
                transport.onPost(body);
                // After the close a malformed packet caused, if it did: that POST gets 400, as in the
                // reference server, and the session is gone.
                transport.execute(() -> {
                    if (transport.refusedPackets()) {
                        SocketIoErrors.badRequest(done, 3, "Bad request");
                    } else {
                        done.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/html");
                        done.getResponseSender().send("ok");
                    }
                });
            })), (failed, error) -> {
                if (error instanceof RequestTooBigException) {
                    tooBig(failed, transport);
                } else {
                    failed.setStatusCode(400);
                    failed.endExchange();
                }
            });
        } else {
            SocketIoErrors.badRequest(exchange, 2, "Bad handshake method");
        }
    }

    private static void tooBig(HttpServerExchange exchange, PollingTransport transport) {
        exchange.setStatusCode(413);
        exchange.getResponseHeaders().put(Headers.CONNECTION, "close");
        exchange.endExchange();
        transport.close(dev.tether.core.CloseCodes.MESSAGE_TOO_BIG, "payload too large");
    }

    // ------------------------------------------------------------ upgrade

    /** The listener of a WebSocket closed as soon as it opened: it has nothing to hear. */
    private static final ConnectionListener ALREADY_UPGRADED = new ConnectionListener() {
        @Override
        public void onFrame(ByteBuffer data, boolean binary) {
        }

        @Override
        public void onWritable() {
        }

        @Override
        public void onClosed(int code, String reason) {
        }
    };

    /**
     * Carries the polling session a WebSocket upgrades through the upgrade listener; {@code
     * duplicate} when another WebSocket is probing or has upgraded it.
     */
    private record Upgrading(PollingTransport transport, boolean duplicate) implements Principal {
        @Override
        public String getName() {
            return "upgrade";
        }
    }

    private void upgrade(HttpServerExchange exchange, String sid) {
        PollingTransport transport = polling.get(sid);
        if (transport == null) {
            SocketIoErrors.badRequest(exchange, 1, "Session ID unknown");
            return;
        }
        if (!WebSocketUpgrade.isUpgradeRequest(exchange)) {
            // The same answers as a new session's upgrade: 426 for another version, else 400.
            if (!TetherHandler.refusedVersion(exchange)) {
                SocketIoErrors.badRequest(exchange, 3, "Bad request");
            }
            return;
        }
        // The session holds its admission slot and was authenticated when it opened. A second
        // WebSocket for it is accepted and closed at once, as the reference server does.
        upgrades.upgrade(exchange, new AuthResult.Accepted(new Upgrading(transport, !transport.claimUpgrade()), null));
    }

    private ConnectionListener attachUpgrade(TransportConnection connection, AuthResult.Accepted credentials) {
        TransportHub.of(tether).cancelAdmission(); // the upgrade took a slot; the session already holds one
        Upgrading upgrading = (Upgrading) credentials.principal();
        if (upgrading.duplicate()) {
            connection.execute(() -> connection.close(CloseCodes.NORMAL, "session already upgraded"));
            return ALREADY_UPGRADED;
        }
        return new UpgradeProbe(io, upgrading.transport(), (UndertowConnection) connection, config.writeWaterMark().highBytes());
    }
}
