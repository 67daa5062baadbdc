package dev.tether.undertow;

import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.TransportConnection;
import dev.tether.core.spi.ErrorHandler;
import dev.tether.undertow.internal.ConnectionSettings;
import dev.tether.undertow.internal.OpenConnections;
import dev.tether.undertow.internal.OriginPolicy;
import dev.tether.undertow.internal.UpgradeRequest;
import dev.tether.undertow.internal.WebSocketUpgrade;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import java.security.Principal;
import java.util.Objects;
import java.util.function.BiFunction;

/**
 * The Undertow handler that turns WebSocket upgrade requests into Tether connections. Mount it in
 * an existing Undertow server at any path (for example with {@code Handlers.path()}), or let
 * {@link TetherServer} start a server around it.
 *
 * <p>For each request, in order, before anything is upgraded:
 * <ol>
 *   <li>a {@code Sec-WebSocket-Version} other than 13: 426 with {@code Sec-WebSocket-Version: 13};</li>
 *   <li>not a WebSocket upgrade (a GET with {@code Upgrade: websocket}, version 13 and a
 *       {@code Sec-WebSocket-Key} that is the base64 encoding of 16 bytes): handed to the
 *       {@code next} handler if there is one, otherwise answered 400;</li>
 *   <li>an {@code Origin} header that is not allowed (by default anything but the request's own
 *       origin; see {@link TetherUndertowConfig#allowedOrigins()}): 403 with a short plain-text
 *       body, and the reason logged at {@code DEBUG};</li>
 *   <li>the hub refuses admission ({@link Tether#admit()}: too many connections or handshakes
 *       per second, or closing): 503 with {@code Retry-After}, counted in the hub's
 *       {@code stats().refused()};</li>
 *   <li>the hub's {@link dev.tether.core.spi.Authenticator} refuses: its status (401 with
 *       {@code WWW-Authenticate: Bearer}, or 403) and its reason as a short plain-text body; an
 *       authenticator that throws is reported to the hub's error handler under
 *       {@code "authenticate"} and answered 401;</li>
 *   <li>otherwise the request is upgraded and the connection attached to the hub, on the
 *       connection's I/O thread, as the authenticated principal; if its credentials expire
 *       ({@link AuthResult#accept(Principal, java.time.Instant)}), the hub asks the client for a
 *       fresh token before then and closes the connection when none comes (PROTOCOL.md §12).</li>
 * </ol>
 * Refusals are reported to the hub's {@link dev.tether.core.spi.MetricsListener#refused(String)}
 * as {@code "handshake"}. The origin is checked before admission so that the requests another
 * site's pages make (a browser sends them wherever the page tells it to) never use up the
 * handshake rate that legitimate clients need; the check is as cheap as the admission. Origin
 * refusals are logged at {@code DEBUG} only, under this class's name, as they are a remote
 * party's doing. After the upgrade nothing of the HTTP request is kept by Tether: no exchange,
 * no headers, no query string.
 *
 * <p>Inbound messages larger than the hub's {@link TetherConfig#maxMessageBytes()}, whole or in
 * fragments, close the connection with 1009.
 *
 * <p>Embedding: the handler expects to run on the I/O thread (do not dispatch it to a worker: it
 * never blocks, and the authenticator is specified to be fast). A host that mounts it in its own
 * server should set what {@link TetherServer} sets for its standalone server: a handshake timeout
 * against slow clients ({@code UndertowOptions.REQUEST_PARSE_TIMEOUT} and
 * {@code UndertowOptions.NO_REQUEST_TIMEOUT}), a small {@code UndertowOptions.MAX_HEADER_SIZE}
 * and a listen backlog ({@code Options.BACKLOG}). Those options belong to the server, which the
 * handler does not own.
 *
 * <p>Threading: immutable and thread-safe; one instance serves every request.
 */
public final class TetherHandler implements HttpHandler {

    private static final System.Logger LOG = System.getLogger(TetherHandler.class.getName());
    private static final int MAX_BODY_CHARS = 200;

    private final Tether tether;
    private final TetherUndertowConfig config;
    private final HttpHandler next;
    private final OriginPolicy origins;
    private final WebSocketUpgrade upgrade;

    /** A handler for {@code tether} with the default configuration, answering non-upgrades with 400. */
    public TetherHandler(Tether tether) {
        this(tether, TetherUndertowConfig.defaults(), null);
    }

    /** A handler for {@code tether}, answering non-upgrades with 400. */
    public TetherHandler(Tether tether, TetherUndertowConfig config) {
        this(tether, config, null);
    }

    /**
     * A handler for {@code tether}.
     *
     * @param next receives requests that are not WebSocket upgrades; {@code null} answers them 400
     * @throws IllegalArgumentException if an explicit {@link TetherUndertowConfig#idleTimeout()}
     *                                  does not exceed the hub's heartbeat interval
     */
    public TetherHandler(Tether tether, TetherUndertowConfig config, HttpHandler next) {
        this(tether, config, next, null);
    }

    /** As the public constructor; {@code connector} attaches connections (null: the hub's native protocol). */
    TetherHandler(Tether tether, TetherUndertowConfig config, HttpHandler next,
                  BiFunction<TransportConnection, AuthResult.Accepted, ConnectionListener> connector) {
        this.tether = Objects.requireNonNull(tether, "tether");
        this.config = Objects.requireNonNull(config, "config");
        this.next = next;
        this.origins = OriginPolicy.of(config.allowedOrigins(), config.allowAnyOrigin());
        ConnectionSettings settings = ConnectionSettings.resolve(tether.config(), config);
        this.upgrade = new WebSocketUpgrade(tether, connector == null ? tether::connect : connector, settings);
    }

    /** The hub this handler attaches connections to. */
    public Tether tether() {
        return tether;
    }

    /** This handler's configuration. */
    public TetherUndertowConfig config() {
        return config;
    }

    /** The connections this handler attached to the hub whose sockets are still open. */
    OpenConnections openConnections() {
        return upgrade.openConnections();
    }

    /**
     * Refuses or upgrades one request, as described in the class documentation. Never blocks.
     */
    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        if (!WebSocketUpgrade.isUpgradeRequest(exchange)) {
            if (refusedVersion(exchange)) {
                return;
            }
            if (next != null) {
                next.handleRequest(exchange);
            } else {
                respond(exchange, 400, "Expected a WebSocket upgrade request.", false);
            }
            return;
        }
        if (!checkOrigin(exchange).allowed()) {
            return;
        }
        int retryAfter = tether.admit();
        if (retryAfter != Tether.ADMITTED) {
            // Cheap, before any work: under a storm this is most of what we do.
            exchange.getResponseHeaders().put(Headers.RETRY_AFTER, Integer.toString(retryAfter));
            respond(exchange, 503, "Over capacity; retry later.", false);
            return;
        }
        upgrade.holdAdmission(exchange);
        AuthResult.Accepted credentials = authenticate(exchange);
        if (credentials != null) {
            upgrade.upgrade(exchange, credentials);
        }
    }

    /**
     * Answers 426 with {@code Sec-WebSocket-Version: 13} if the request names a WebSocket version
     * other than 13; whether it did. For a request that is not a valid upgrade.
     */
    static boolean refusedVersion(HttpServerExchange exchange) {
        String version = exchange.getRequestHeaders().getFirst(Headers.SEC_WEB_SOCKET_VERSION);
        if (version == null || version.trim().equals("13")) {
            return false;
        }
        // RFC 6455 4.4: name the versions we speak so that the client can retry with one.
        exchange.getResponseHeaders().put(Headers.SEC_WEB_SOCKET_VERSION, "13");
        respond(exchange, 426, "Unsupported WebSocket version; this server speaks 13.", false);
        return true;
    }

    /**
     * The verdict on the request's {@code Origin}; a refused one has been answered 403, counted
     * and logged at {@code DEBUG}.
     */
    OriginPolicy.Verdict checkOrigin(HttpServerExchange exchange) {
        String origin = origin(exchange);
        String host = exchange.getRequestHeaders().getFirst(Headers.HOST);
        OriginPolicy.Verdict verdict = origins.check(origin, host);
        if (!verdict.allowed()) {
            if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
                LOG.log(System.Logger.Level.DEBUG, "Origin {0} refused for Host {1} ({2})",
                        plain(origin, "?"), host == null ? "(none)" : plain(host, "?"), why(verdict));
            }
            refused(exchange, 403, "Origin not allowed.", false);
        }
        return verdict;
    }

    /** The {@code Origin} header; several are joined, which no origin matches. */
    static String origin(HttpServerExchange exchange) {
        HeaderValues values = exchange.getRequestHeaders().get(Headers.ORIGIN);
        if (values == null || values.isEmpty()) {
            return null;
        }
        return values.size() == 1 ? values.getFirst() : String.join(", ", values);
    }

    private String why(OriginPolicy.Verdict verdict) {
        if (verdict == OriginPolicy.Verdict.MALFORMED) {
            return "not a well-formed origin, such as the opaque null of sandboxed frames and local files;"
                    + " never allowed unless allowAnyOrigin";
        }
        return (origins.entries().isEmpty() ? "same-origin policy" : "same-origin policy and allowedOrigins "
                + origins.entries()) + "; allow it with TetherUndertowConfig.Builder.allowedOrigins";
    }

    /** What the authenticator accepted (principal and expiry), or {@code null} after answering the refusal. */
    AuthResult.Accepted authenticate(HttpServerExchange exchange) {
        UpgradeRequest request = new UpgradeRequest(exchange);
        AuthResult result;
        try {
            // Interim: only an authenticator that answers at once is supported here until the
            // handshake waits for a later answer (issue 13, asynchronous authentication).
            result = tether.config().authenticator().authenticate(request).toCompletableFuture().getNow(null);
            if (result == null) {
                throw new IllegalStateException("the authenticator returned null");
            }
        } catch (RuntimeException e) {
            report(tether.config().errorHandler(), e);
            result = AuthResult.unauthorized("Unauthorized.");
        } finally {
            request.invalidate();
        }
        if (result instanceof AuthResult.Accepted accepted) {
            return accepted;
        }
        AuthResult.Refused refusal = (AuthResult.Refused) result;
        String fallback = switch (refusal.status()) {
            case 401 -> "Unauthorized.";
            case 403 -> "Forbidden.";
            default -> "Authentication unavailable; retry later.";
        };
        if (refusal.status() == 503) {
            exchange.getResponseHeaders().put(Headers.RETRY_AFTER,
                    Long.toString(tether.config().admissionRetryAfter().toSeconds()));
        }
        refused(exchange, refusal.status(), plain(refusal.reason(), fallback), refusal.status() == 401);
        return null;
    }

    /** Answers a refusal and gives back the admission the exchange holds, if any. */
    void refused(HttpServerExchange exchange, int status, String body, boolean bearer) {
        upgrade.releaseAdmission(exchange);
        try {
            tether.config().metrics().refused("handshake");
        } catch (RuntimeException ignored) {
            // A metrics listener must not throw; a refusal is answered regardless.
        }
        respond(exchange, status, body, bearer);
    }

    private static void respond(HttpServerExchange exchange, int status, String body, boolean bearer) {
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
        if (bearer) {
            exchange.getResponseHeaders().put(Headers.WWW_AUTHENTICATE, "Bearer");
        }
        exchange.getResponseSender().send(body);
    }

    /** A short single-line body: the refusal's reason without control characters. */
    private static String plain(String reason, String fallback) {
        StringBuilder b = new StringBuilder(Math.min(reason.length(), MAX_BODY_CHARS));
        for (int i = 0; i < reason.length() && b.length() < MAX_BODY_CHARS; i++) {
            char c = reason.charAt(i);
            b.append(Character.isISOControl(c) ? ' ' : c);
        }
        String text = b.toString().trim();
        return text.isEmpty() ? fallback : text;
    }

    private static void report(ErrorHandler handler, RuntimeException e) {
        try {
            handler.onError("authenticate", e);
        } catch (RuntimeException ignored) {
            // An error handler must not throw; the handshake is refused regardless.
        }
    }
}
