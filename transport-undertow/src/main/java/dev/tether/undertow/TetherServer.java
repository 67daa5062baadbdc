package dev.tether.undertow;

import dev.tether.core.CloseCodes;
import dev.tether.core.Tether;
import dev.tether.socketio.SocketIo;
import dev.tether.undertow.internal.HttpListener;
import dev.tether.undertow.internal.OpenConnections;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpHandler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.xnio.OptionMap;

/**
 * A running standalone Undertow server with Tether mounted at {@link TetherUndertowConfig#path()}:
 * the one-line start for applications that have no server of their own.
 *
 * <pre>{@code
 * try (Tether tether = Tether.create(TetherConfig.defaults(), handler);
 *      TetherServer server = TetherServer.start(tether, 8080)) {
 *     ...
 * }
 * }</pre>
 *
 * <p>The server answers the Tether path with {@link TetherHandler}, the
 * {@linkplain TetherUndertowConfig#healthPath() health path} (if set) with a {@link HealthHandler}
 * for the hub, the {@linkplain TetherUndertowConfig#routes() routes} with their handlers, and
 * every other path with 404. It sets the handshake timeout ({@code UndertowOptions.REQUEST_PARSE_TIMEOUT} and
 * {@code NO_REQUEST_TIMEOUT} from {@link TetherUndertowConfig#requestParseTimeout()}), the
 * largest request head ({@code UndertowOptions.MAX_HEADER_SIZE}), the listen backlog
 * ({@code Options.BACKLOG}) and the number of I/O threads. Tether does its work on the I/O
 * threads, so the server's worker pool is kept small. After a WebSocket upgrade the server takes
 * the socket back from Undertow, which then keeps nothing of its HTTP connection for the
 * WebSocket's life (about 0.85 KB per connection that a {@link TetherHandler} mounted in a host's
 * own Undertow server does keep).
 *
 * <p>Ownership: the server does not own the hub. {@link #close()} closes every open WebSocket
 * with a close frame carrying 1001 (going away, which clients treat as "reconnect and resume")
 * and every Socket.IO long-polling session with the close packet, waits up to
 * {@link TetherUndertowConfig#closeTimeout()} for the clients to answer, then stops Undertow and
 * leaves the hub running. The hub sees those connections closed with 1001 and keeps their
 * sessions for resumption.
 *
 * <p>Shutdown: for a graceful one close the hub first, then the server; a try-with-resources
 * block that declares the hub before the server does exactly that. The hub drains
 * ({@link Tether#close()}): native clients are told to reconnect after a random delay and closed
 * with 4012; Socket.IO transports are closed at random times over the same window, so that
 * socket.io-client reconnects by itself, spread out. The server then waits for what those closes
 * still have in flight (a close frame's answer, a polling client's next GET for its close packet),
 * then stops.
 *
 * <p>Why a close frame and not just the socket: a peer learns of a socket closed under it only
 * by reading the end of the stream, and a client that holds reading back does not read it. The
 * JDK's {@code java.net.http.WebSocket} (17 at least) even loses an end of stream that arrives
 * while the application has not requested a message: it never calls {@code onClose} or
 * {@code onError}, and the client only notices when its heartbeat watchdog gives up. A close
 * frame waits in the client's buffer until the client reads again, and then reports the close.
 *
 * <p>Threading: every method may be called from any thread, except {@link #close()} from one of
 * this server's own I/O threads (it waits for their work).
 *
 * @since 0.1.0
 */
public final class TetherServer implements AutoCloseable {

    private final HttpListener listener;
    private final InetSocketAddress address;
    private final TetherHandler handler;
    /** The Socket.IO handler when this is a Socket.IO server, else null. */
    private final SocketIoHandler socketIo;
    private boolean closed;

    private TetherServer(HttpListener listener, TetherHandler handler, SocketIoHandler socketIo) {
        this.socketIo = socketIo;
        this.listener = listener;
        this.address = listener.address();
        this.handler = handler;
    }

    /**
     * Starts a server on {@code port} of every interface with the default configuration.
     *
     * @param tether the hub to serve
     * @param port 0 to 65535; 0 picks a free port, see {@link #port()}
     * @return the running server; close it after the hub
     * @throws IllegalArgumentException if the port is out of range
     * @throws UncheckedIOException     if the server cannot listen on the port (see
     *                                  {@link #start(Tether, TetherUndertowConfig)})
     */
    public static TetherServer start(Tether tether, int port) {
        return start(tether, TetherUndertowConfig.builder().port(port).build());
    }

    /**
     * Starts a server as configured.
     *
     * @param tether the hub to serve
     * @param config the transport's configuration
     * @return the running server; close it after the hub
     * @throws IllegalArgumentException if {@code config} does not fit the hub (see
     *                                  {@link TetherHandler#TetherHandler(Tether, TetherUndertowConfig, HttpHandler)})
     * @throws UncheckedIOException     if the server cannot listen, with a message that names the
     *                                  address and the reason, such as {@code "cannot listen on
     *                                  127.0.0.1:8080: address already in use"}, and the
     *                                  {@link IOException} (a {@link BindException} for a busy
     *                                  port) as its cause; nothing is left running
     */
    public static TetherServer start(Tether tether, TetherUndertowConfig config) {
        Objects.requireNonNull(tether, "tether");
        Objects.requireNonNull(config, "config");
        TetherHandler handler = new TetherHandler(tether, config);
        return start(config, config.path(), handler, handler, null);
    }

    /**
     * Starts a Socket.IO server: {@link SocketIoHandler} at
     * {@link TetherUndertowConfig#socketIoPath()} (default {@code /socket.io/}), 404 elsewhere,
     * with the same server options as {@link #start(Tether, TetherUndertowConfig)}.
     *
     * @param io the Socket.IO server to serve
     * @param config the transport's configuration
     * @return the running server; close it after the hub
     * @throws IllegalArgumentException if {@code config} does not fit the hub
     * @throws UncheckedIOException     if the server cannot listen, as
     *                                  {@link #start(Tether, TetherUndertowConfig)}
     */
    public static TetherServer start(SocketIo io, TetherUndertowConfig config) {
        Objects.requireNonNull(io, "io");
        Objects.requireNonNull(config, "config");
        SocketIoHandler handler = new SocketIoHandler(io, config);
        return start(config, config.socketIoPath(), handler, handler.webSocketHandler(), handler);
    }

    private static TetherServer start(TetherUndertowConfig config, String path, HttpHandler mounted,
                                      TetherHandler handler, SocketIoHandler socketIo) {
        Map<String, HttpHandler> routes = new HashMap<>(config.routes());
        if (config.healthPath() != null) {
            routes.put(config.healthPath(), new HealthHandler(handler.tether()));
        }
        HttpHandler root = exchange -> {
            HttpHandler route;
            if (path.equals(exchange.getRequestPath())) {
                mounted.handleRequest(exchange);
            } else if ((route = routes.get(exchange.getRequestPath())) != null) {
                route.handleRequest(exchange);
            } else {
                exchange.setStatusCode(404);
                exchange.endExchange();
            }
        };
        int ioThreads = config.ioThreads() == 0 ? Runtime.getRuntime().availableProcessors() : config.ioThreads();
        int timeoutMs = (int) config.requestParseTimeout().toMillis();
        OptionMap serverOptions = OptionMap.builder()
                .set(UndertowOptions.REQUEST_PARSE_TIMEOUT, timeoutMs)
                .set(UndertowOptions.NO_REQUEST_TIMEOUT, timeoutMs)
                .set(UndertowOptions.MAX_HEADER_SIZE, config.maxHeaderBytes())
                .getMap();
        HttpListener listener;
        try {
            // Nothing of Tether runs on the worker pool; it only serves Undertow's own rare tasks.
            listener = HttpListener.start(new InetSocketAddress(InetAddress.getByName(config.host()), config.port()),
                    ioThreads, Math.max(2, ioThreads / 2), serverOptions, config.backlog(), root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + hostPort(config.host(), config.port()) + ": "
                    + reason(e), e);
        }
        return new TetherServer(listener, handler, socketIo);
    }

    private static String hostPort(String host, int port) {
        return (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }

    /** "address already in use" from the JDK's "Address already in use". */
    private static String reason(IOException e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        return m.length() > 1 && Character.isUpperCase(m.charAt(0)) && Character.isLowerCase(m.charAt(1))
                ? m.substring(0, 1).toLowerCase(Locale.ROOT) + m.substring(1) : m;
    }

    /**
     * {@return the port the server listens on, the one the system picked when configured with 0}
     */
    public int port() {
        return address.getPort();
    }

    /** {@return the address the server listens on} */
    public InetSocketAddress address() {
        return address;
    }

    /** {@return the handler mounted at the configured path} */
    public TetherHandler handler() {
        return handler;
    }

    /**
     * Stops the server. In order: sends every open WebSocket a close frame with 1001
     * ({@link CloseCodes#GOING_AWAY}, resumable) and reports each to the hub as closed with 1001,
     * as well as any WebSocket upgraded from then on; closes every Socket.IO long-polling session
     * (and any opened from then on), whose client gets the close packet on its pending or next
     * GET; waits until every client has answered and its socket is closed and every polling
     * client has been handed its close packet, at most {@link TetherUndertowConfig#closeTimeout()};
     * then stops Undertow: the listening socket first, then the I/O threads, which drops the
     * sockets of clients that did not answer in time. Does not close the hub.
     *
     * <p>Idempotent; blocks until Undertow has stopped. If the calling thread is interrupted while
     * waiting for the clients, the server stops at once and the interrupt is kept. Must not be
     * called from one of this server's I/O threads.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        // Not ListenerInfo.suspend(): besides no longer accepting, it drops every open connection
        // without a close frame. The server keeps accepting until Undertow stops; a connection
        // upgraded meanwhile is closed with 1001 as soon as it is attached.
        OpenConnections open = handler.openConnections();
        open.closeAll(CloseCodes.GOING_AWAY, "server shutting down");
        if (socketIo != null) {
            socketIo.closeSessions(CloseCodes.GOING_AWAY, "server shutting down");
        }
        boolean interrupted = false;
        try {
            long deadline = System.nanoTime() + handler.config().closeTimeout().toNanos();
            open.awaitEmpty(handler.config().closeTimeout().toNanos());
            if (socketIo != null) {
                // Before Undertow stops: a polling client's close packet goes out on its next GET.
                socketIo.awaitSessionsClosed(deadline);
            }
        } catch (InterruptedException e) {
            interrupted = true;
        }
        try {
            listener.stop();
        } catch (InterruptedException e) {
            interrupted = true;
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "TetherServer[" + address + handler.config().path() + "]";
    }
}
