package dev.tether.undertow;

import dev.tether.socketio.SocketIo;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.util.Deque;
import java.util.List;
import java.util.Objects;

/**
 * The Undertow handler of a Socket.IO server ({@link SocketIo}): the Engine.IO v4 endpoint that
 * stock {@code socket.io-client} 4.x connects to. Mount it at the client's path (default
 * {@code /socket.io/}), or let {@link TetherServer#start(SocketIo, TetherUndertowConfig)} do it.
 *
 * <p>Requests, in order:
 * <ol>
 *   <li>{@code EIO} other than 4: 400 {@code {"code":5,"message":"Unsupported protocol version"}};</li>
 *   <li>{@code transport=websocket} without {@code sid}: handled exactly like a native
 *       {@link TetherHandler} upgrade (version check, admission control with 503 and
 *       {@code Retry-After}, Origin allow-list with 403, the hub's authenticator with 401/403,
 *       the same frame limits, read deadline and write water marks), then the Engine.IO open
 *       packet; {@code maxPayload} is the hub's {@code maxMessageBytes} and a larger message
 *       closes the WebSocket with 1009;</li>
 *   <li>anything else (an unknown transport, a {@code sid} this server does not know, HTTP
 *       long-polling, which this handler does not serve yet): 400 with the Engine.IO error
 *       object.</li>
 * </ol>
 *
 * <p>Threading: immutable and thread-safe; one instance serves every request; never blocks.
 */
public final class SocketIoHandler implements HttpHandler {

    private final SocketIo io;
    private final TetherUndertowConfig config;
    private final TetherHandler webSocket;

    /** A handler for {@code io} with the default configuration. */
    public SocketIoHandler(SocketIo io) {
        this(io, TetherUndertowConfig.defaults());
    }

    /**
     * A handler for {@code io}.
     *
     * @throws IllegalArgumentException as {@link TetherHandler#TetherHandler(dev.tether.core.Tether,
     *                                  TetherUndertowConfig, HttpHandler)}
     */
    public SocketIoHandler(SocketIo io, TetherUndertowConfig config) {
        this.io = Objects.requireNonNull(io, "io");
        this.config = Objects.requireNonNull(config, "config");
        this.webSocket = new TetherHandler(io.tether(), config,
                exchange -> error(exchange, 3, "Bad request"),
                (connection, principal) -> io.connect(connection, principal, io.newEngineId(), List.of()));
    }

    /** The Socket.IO server this handler serves. */
    public SocketIo socketIo() {
        return io;
    }

    /** This handler's configuration. */
    public TetherUndertowConfig config() {
        return config;
    }

    /** The handler of the WebSocket upgrades (for the connections it keeps open). */
    TetherHandler webSocketHandler() {
        return webSocket;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        String eio = query(exchange, "EIO");
        if (!"4".equals(eio)) {
            error(exchange, 5, "Unsupported protocol version");
            return;
        }
        String transport = query(exchange, "transport");
        String sid = query(exchange, "sid");
        if ("websocket".equals(transport) && sid == null) {
            webSocket.handleRequest(exchange);
        } else if (sid != null) {
            error(exchange, 1, "Session ID unknown");
        } else {
            error(exchange, 0, "Transport unknown");
        }
    }

    private static String query(HttpServerExchange exchange, String name) {
        Deque<String> values = exchange.getQueryParameters().get(name);
        return values == null || values.isEmpty() ? null : values.getFirst();
    }

    /** An Engine.IO error answer: 400 with {@code {"code":N,"message":"..."}} (constant texts). */
    static void error(HttpServerExchange exchange, int code, String message) {
        exchange.setStatusCode(400);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
        exchange.getResponseSender().send("{\"code\":" + code + ",\"message\":\"" + message + "\"}");
    }
}
