package dev.tether.undertow;

import dev.tether.undertow.internal.OriginPolicy;
import io.undertow.server.HttpHandler;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Immutable configuration of the Undertow transport: what {@link TetherHandler} checks before the
 * upgrade and, for {@link TetherServer}, how the standalone server listens. Built with
 * {@link #builder()} and validated by {@link Builder#build()}, which names the offending field.
 * Every limit has a documented default.
 *
 * <p>The limits against hostile or broken peers, with their defaults and what a peer that passes
 * them gets:
 * <table>
 *   <caption>Limits on inbound traffic</caption>
 *   <tr><th>limit</th><th>default</th><th>beyond it</th></tr>
 *   <tr><td>{@link #requestParseTimeout()}: the whole upgrade request head</td><td>10 s</td>
 *       <td>socket closed, no response (slow-loris)</td></tr>
 *   <tr><td>{@link #maxHeaderBytes()}: size of the upgrade request head</td><td>16 KiB</td>
 *       <td>400 (so do more than 200 headers: Undertow's {@code MAX_HEADERS})</td></tr>
 *   <tr><td>the hub's {@link dev.tether.core.TetherConfig#maxMessageBytes()}: one inbound
 *       message, however fragmented</td><td>64 KiB</td>
 *       <td>close 1009, as soon as a frame header declares a length that takes the message over
 *       the limit, before its payload is read</td></tr>
 *   <tr><td>{@link #messageReadTimeout()}: one inbound message from its first frame header to
 *       its last byte</td><td>10 s</td><td>close 1002</td></tr>
 *   <tr><td>{@link #maxPingsPerMinute()}: WebSocket pings from one connection, counted in
 *       windows of one minute</td><td>300</td><td>close 1008</td></tr>
 *   <tr><td>{@link #idleTimeout()}: no traffic at all on an upgraded socket</td>
 *       <td>heartbeat interval + timeout + 10 s</td><td>socket closed</td></tr>
 *   <tr><td>{@link #closeTimeout()}: wait for the peer's close frame (or a polling client's next
 *       GET for its close packet)</td><td>5 s</td>
 *       <td>socket closed</td></tr>
 * </table>
 * RFC 6455 violations are refused whatever the configuration: reserved bits or opcodes, bad
 * control frames, continuation errors, unmasked frames, invalid close codes or an unparsable
 * header close with 1002, text (or a close reason) that is not UTF-8 with 1007; an upgrade
 * request without a valid {@code Sec-WebSocket-Key} gets 400, one for another WebSocket version
 * 426 with {@code Sec-WebSocket-Version: 13}. A ping is answered with a pong carrying its payload;
 * while a pong waits to be written, only the latest ping is kept for the next pong (RFC 6455
 * section 5.5.3), so a client that pings and never reads holds at most one pong and one ping
 * payload on the server.
 *
 * <p>Which pages may connect, checked on the {@code Origin} header of every upgrade request and
 * every Socket.IO request (see {@link #allowedOrigins()}): by default only the server's own
 * origin and clients that send no {@code Origin}; {@link Builder#allowedOrigins(Set)} adds
 * origins, {@link Builder#allowAnyOrigin(boolean)} allows all.
 *
 * <p>Fields that only the standalone server uses ({@link #host()}, {@link #port()},
 * {@link #ioThreads()}, {@link #backlog()}, {@link #requestParseTimeout()},
 * {@link #maxHeaderBytes()}, {@link #healthPath()}, {@link #routes()}) are ignored by a {@link TetherHandler} mounted in a host's own
 * server; such a host sets the equivalent Undertow options itself (see {@link TetherHandler}).
 *
 * @since 0.1.0
 */
public final class TetherUndertowConfig {

    /** Default {@link Builder#path(String)}: {@code /tether}. */
    public static final String DEFAULT_PATH = "/tether";
    /** Default {@link Builder#socketIoPath(String)}: {@code /socket.io/}, as Socket.IO. */
    public static final String DEFAULT_SOCKET_IO_PATH = "/socket.io/";
    /** Default {@link Builder#host(String)}: {@code 0.0.0.0}, every interface. */
    public static final String DEFAULT_HOST = "0.0.0.0";
    /** Default {@link Builder#port(int)}: 8080. */
    public static final int DEFAULT_PORT = 8080;
    /** Default {@link Builder#ioThreads(int)}: 0, meaning one per available processor. */
    public static final int DEFAULT_IO_THREADS = 0;
    /** Default {@link Builder#backlog(int)}: 4096 pending connections. */
    public static final int DEFAULT_BACKLOG = 4096;
    /** Default {@link Builder#requestParseTimeout(Duration)}: 10 s. */
    public static final Duration DEFAULT_REQUEST_PARSE_TIMEOUT = Duration.ofSeconds(10);
    /**
     * Default {@link Builder#idleTimeout(Duration)}: zero, meaning the hub's heartbeat interval
     * plus its heartbeat timeout plus {@link #IDLE_TIMEOUT_MARGIN}.
     */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ZERO;
    /** What the automatic idle timeout adds to the hub's heartbeat interval and timeout: 10 s. */
    public static final Duration IDLE_TIMEOUT_MARGIN = Duration.ofSeconds(10);
    /** Default {@link Builder#closeTimeout(Duration)}: 5 s. */
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(5);
    /** Default {@link Builder#messageReadTimeout(Duration)}: 10 s. */
    public static final Duration DEFAULT_MESSAGE_READ_TIMEOUT = Duration.ofSeconds(10);
    /**
     * Default {@link Builder#maxPingsPerMinute(int)}: 300, Undertow's own default, far above any
     * keep-alive (browsers never ping; other clients ping every few seconds at most).
     */
    public static final int DEFAULT_MAX_PINGS_PER_MINUTE = 300;
    /** Default {@link Builder#maxHeaderBytes(int)}: 16 KiB. */
    public static final int DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

    private final String path;
    private final String socketIoPath;
    private final Set<String> allowedOrigins;
    private final boolean allowAnyOrigin;
    private final String host;
    private final int port;
    private final int ioThreads;
    private final int backlog;
    private final Duration requestParseTimeout;
    private final Duration idleTimeout;
    private final Duration closeTimeout;
    private final Duration messageReadTimeout;
    private final int maxHeaderBytes;
    private final int maxPingsPerMinute;
    private final WriteWaterMark writeWaterMark;
    private final String healthPath;
    private final Map<String, HttpHandler> routes;

    private TetherUndertowConfig(Builder b) {
        this.path = b.path;
        this.socketIoPath = b.socketIoPath;
        this.allowedOrigins = b.allowedOrigins;
        this.allowAnyOrigin = b.allowAnyOrigin;
        this.host = b.host;
        this.port = b.port;
        this.ioThreads = b.ioThreads;
        this.backlog = b.backlog;
        this.requestParseTimeout = b.requestParseTimeout;
        this.idleTimeout = b.idleTimeout;
        this.closeTimeout = b.closeTimeout;
        this.messageReadTimeout = b.messageReadTimeout;
        this.maxHeaderBytes = b.maxHeaderBytes;
        this.maxPingsPerMinute = b.maxPingsPerMinute;
        this.writeWaterMark = b.writeWaterMark;
        this.healthPath = b.healthPath;
        this.routes = b.builtRoutes;
    }

    /** {@return a builder with every field at its default} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the configuration with every field at its default} */
    public static TetherUndertowConfig defaults() {
        return builder().build();
    }

    /** {@return the path the standalone server mounts the handler on} */
    public String path() {
        return path;
    }

    /**
     * The path a standalone Socket.IO server ({@link TetherServer#start(dev.tether.socketio.SocketIo,
     * TetherUndertowConfig)}) serves Engine.IO on; Socket.IO clients use {@code /socket.io/}
     * unless told otherwise ({@code io(url, {path: ...})}).
     *
     * @return the Engine.IO path of a standalone Socket.IO server
     */
    public String socketIoPath() {
        return socketIoPath;
    }

    /**
     * The origins allowed in addition to the server's own, in normal form (lower case, default
     * port omitted); empty by default. Browsers send {@code Origin} with every WebSocket upgrade,
     * and this is what stops another site's page from opening a connection with its visitors'
     * cookies (cross-site WebSocket hijacking). A request is allowed if:
     * <ul>
     *   <li>it has no {@code Origin} header: not a browser (the Java client, Node's
     *       {@code socket.io-client}, curl), and a client that can forge headers needs no browser
     *       to attack with;</li>
     *   <li>its {@code Origin} is the same origin: the same host (case-insensitively, IPv6 in
     *       brackets) and port as its {@code Host} header. The scheme is not compared, because
     *       {@code Host} has none and behind a TLS-terminating proxy the request is {@code http}
     *       for an {@code https} page; a {@code Host} without a port stands for the default port
     *       of the {@code Origin}'s scheme (80 for {@code http}, 443 for {@code https}), which a
     *       browser omits from both. {@code X-Forwarded-Host} is not read: Tether cannot tell
     *       whether a trusted proxy set it or the client did, so a proxy in front should pass the
     *       public {@code Host} (NGINX {@code proxy_set_header Host $host}, or {@code $http_host}
     *       for a public port other than 80 or 443) or the page's origin should be listed here;</li>
     *   <li>its {@code Origin} matches an entry of this set: an exact origin such as
     *       {@code https://app.example.com} or {@code http://localhost:8080}, or a pattern whose
     *       first label is the wildcard, {@code https://*.example.com}, which stands for one or
     *       more labels ({@code a.example.com}, {@code a.b.example.com}) but never
     *       {@code example.com} itself nor {@code evil-example.com}. Scheme and port must match,
     *       the port explicit or the scheme's default;</li>
     *   <li>or {@link #allowAnyOrigin()} is set.</li>
     * </ul>
     * Any other {@code Origin} (including the opaque {@code null} of sandboxed frames and local
     * files, and anything that is not {@code scheme://host[:port]}) is refused with 403 before
     * the upgrade, before admission control, and counted as a refused handshake. Entries are
     * therefore additions: setting them never refuses the same origin.
     *
     * <p>Socket.IO polling responses to an allowed foreign origin carry
     * {@code Access-Control-Allow-Origin} (that origin), {@code Access-Control-Allow-Credentials:
     * true} and {@code Vary: Origin}; same-origin responses need and get none, and a refused
     * origin never sees them.
     *
     * @return the origins allowed in addition to the same origin
     */
    public Set<String> allowedOrigins() {
        return allowedOrigins;
    }

    /**
     * Whether every origin is allowed, default {@code false}. <strong>This turns off the
     * protection against cross-site WebSocket hijacking</strong>: any site's page can then open
     * connections with its visitors' cookies, and Socket.IO polling reflects any well-formed
     * {@code Origin} with {@code Access-Control-Allow-Credentials: true} (the opt-in means
     * exactly that). Safe only if authentication never relies on what a browser sends by itself
     * (cookies, HTTP authentication, client certificates), for example a bearer token the page
     * has to pass explicitly. An {@code Origin} that is not well-formed ({@code null}) is
     * allowed too but never reflected.
     *
     * @return whether every origin is allowed
     */
    public boolean allowAnyOrigin() {
        return allowAnyOrigin;
    }

    /** {@return the address the standalone server binds to} */
    public String host() {
        return host;
    }

    /**
     * {@return the port the standalone server binds to} 0 picks a free one (see
     * {@link TetherServer#port()}).
     */
    public int port() {
        return port;
    }

    /** {@return the standalone server's I/O threads} 0 means one per available processor. */
    public int ioThreads() {
        return ioThreads;
    }

    /** {@return the standalone server's listen backlog ({@code Options.BACKLOG})} */
    public int backlog() {
        return backlog;
    }

    /**
     * How long the standalone server waits for a complete request head, and for the first request
     * on a new socket ({@code UndertowOptions.REQUEST_PARSE_TIMEOUT} and
     * {@code NO_REQUEST_TIMEOUT}): the handshake timeout that stops slow-loris clients. The time
     * runs from the start of the request, not from its last byte, so a client that sends a byte
     * now and then is closed all the same (without a response). Default
     * {@link #DEFAULT_REQUEST_PARSE_TIMEOUT}, 10 s.
     *
     * @return the timeout of a request head
     */
    public Duration requestParseTimeout() {
        return requestParseTimeout;
    }

    /**
     * How long an upgraded connection may see no traffic at all before the socket is closed; zero
     * means automatic (the hub's heartbeat interval plus its heartbeat timeout plus
     * {@link #IDLE_TIMEOUT_MARGIN}). A backstop only: the hub's heartbeat detects dead peers
     * first. An explicit value must exceed the hub's heartbeat interval (checked by
     * {@link TetherHandler}), otherwise healthy connections would be cut between two pings.
     * Each I/O thread looks at its connections every eighth of the timeout rather than keeping a
     * timer per connection, so a connection is closed up to that much after its timeout.
     *
     * @return the idle timeout, or zero for automatic
     */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /**
     * How long a connection that sent a close frame waits for the peer's close frame before the
     * socket is closed anyway, and how long a closed Socket.IO long-polling session waits for a
     * GET to carry its close packet to the client. Also the longest {@link TetherServer#close()}
     * waits for both before it stops Undertow. Default {@link #DEFAULT_CLOSE_TIMEOUT}, 5 s.
     *
     * @return the longest wait for a peer's close
     */
    public Duration closeTimeout() {
        return closeTimeout;
    }

    /**
     * How long one inbound message may take from its first frame header to its last byte. A peer
     * that trickles a message, stops half-way through a frame, or keeps a fragmented message open
     * (even with empty fragments) is closed with 1002 when it passes. A header that declares more
     * than the hub's {@code maxMessageBytes} does not wait for it: it is refused at once with
     * 1009. The clock starts once a frame header is complete; before that the hub's hello timeout
     * and heartbeat bound a connection that sends only part of a header. Default
     * {@link #DEFAULT_MESSAGE_READ_TIMEOUT}, 10 s.
     *
     * @return the longest time one inbound message may take
     */
    public Duration messageReadTimeout() {
        return messageReadTimeout;
    }

    /**
     * The largest request head the standalone server accepts ({@code UndertowOptions.MAX_HEADER_SIZE});
     * a larger one is answered 400 and never upgraded. Default {@link #DEFAULT_MAX_HEADER_BYTES},
     * 16 KiB.
     *
     * @return the largest request head, in bytes
     */
    public int maxHeaderBytes() {
        return maxHeaderBytes;
    }

    /**
     * How many WebSocket pings one connection may send within a minute; 0 means no limit. The
     * minutes are fixed windows, the first starting with the connection's first ping. The ping
     * that passes the limit closes the connection with 1008 (policy violation), reason
     * {@code "too many pings"}. Pings are control frames that the hub never sees, so its
     * {@link dev.tether.core.TetherConfig#inboundMessagesPerSecond() inbound rate limit} does not
     * count them. For the connections of this handler it replaces Undertow's own limit (the
     * system properties {@code io.undertow.websockets.core.WEB_SOCKETS_PING_MAX_PER_WINDOW} and
     * {@code WEB_SOCKETS_PING_WINDOW}, 300 a minute by default, with a close reason carrying
     * Undertow's message id). Default {@link #DEFAULT_MAX_PINGS_PER_MINUTE}, 300.
     *
     * @return the pings one connection may send within a minute, or 0 for no limit
     */
    public int maxPingsPerMinute() {
        return maxPingsPerMinute;
    }

    /** {@return when a connection stops and restarts the engine's drain} */
    public WriteWaterMark writeWaterMark() {
        return writeWaterMark;
    }

    /**
     * The path at which the standalone server answers a {@link HealthHandler} for its hub
     * (JSON, 200 while the hub runs, 503 from the moment its drain starts), or {@code null}, the
     * default: no health endpoint. Off by default because the server then answers nothing but
     * the Tether path, and the health document tells whoever can reach the port how many
     * clients are connected; a host that puts the server behind a load balancer turns it on with
     * {@code healthPath("/health")}.
     *
     * @return the path, or {@code null}
     * @since 0.1.0
     */
    public String healthPath() {
        return healthPath;
    }

    /**
     * The standalone server's extra HTTP routes, exact path to handler, in the order they were
     * added; empty by default. Requests to a path that is neither the Tether path,
     * {@link #healthPath()} nor one of these are answered 404. Unmodifiable.
     *
     * @return exact path to handler
     * @since 0.1.0
     */
    public Map<String, HttpHandler> routes() {
        return routes;
    }

    @Override
    public String toString() {
        return "TetherUndertowConfig[path=" + path + ", allowedOrigins=" + allowedOrigins
                + ", allowAnyOrigin=" + allowAnyOrigin + ", host=" + host + ", port=" + port + ", ioThreads=" + ioThreads
                + ", backlog=" + backlog + ", requestParseTimeout=" + requestParseTimeout
                + ", idleTimeout=" + idleTimeout + ", closeTimeout=" + closeTimeout
                + ", messageReadTimeout=" + messageReadTimeout + ", maxHeaderBytes=" + maxHeaderBytes
                + ", maxPingsPerMinute=" + maxPingsPerMinute
                + ", writeWaterMark=" + writeWaterMark + ", healthPath=" + healthPath
                + ", routes=" + routes.keySet() + "]";
    }

    /** Builds a {@link TetherUndertowConfig}. Not thread-safe. */
    public static final class Builder {
        private String path = DEFAULT_PATH;
        private String socketIoPath = DEFAULT_SOCKET_IO_PATH;
        private Set<String> allowedOrigins = Set.of();
        private boolean allowAnyOrigin;
        private String host = DEFAULT_HOST;
        private int port = DEFAULT_PORT;
        private int ioThreads = DEFAULT_IO_THREADS;
        private int backlog = DEFAULT_BACKLOG;
        private Duration requestParseTimeout = DEFAULT_REQUEST_PARSE_TIMEOUT;
        private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
        private Duration closeTimeout = DEFAULT_CLOSE_TIMEOUT;
        private Duration messageReadTimeout = DEFAULT_MESSAGE_READ_TIMEOUT;
        private int maxHeaderBytes = DEFAULT_MAX_HEADER_BYTES;
        private int maxPingsPerMinute = DEFAULT_MAX_PINGS_PER_MINUTE;
        private WriteWaterMark writeWaterMark = WriteWaterMark.DEFAULT;
        private String healthPath;
        private final List<Map.Entry<String, HttpHandler>> routes = new ArrayList<>();
        /** Set on the copy that {@link #build()} hands to the config. */
        private Map<String, HttpHandler> builtRoutes = Map.of();

        private Builder() {
        }

        /**
         * Default {@value TetherUndertowConfig#DEFAULT_SOCKET_IO_PATH}; must start with {@code /}.
         *
         * @param v the Engine.IO path of a standalone Socket.IO server
         * @return this builder
         */
        public Builder socketIoPath(String v) {
            this.socketIoPath = v;
            return this;
        }

        /**
         * Default {@value TetherUndertowConfig#DEFAULT_PATH}; must start with {@code /}.
         *
         * @param v the path the standalone server mounts the handler on
         * @return this builder
         */
        public Builder path(String v) {
            this.path = v;
            return this;
        }

        /**
         * Default empty: the same origin only (see {@link TetherUndertowConfig#allowedOrigins()}).
         * Entries are origins, {@code scheme://host[:port]}, such as {@code https://app.example.com},
         * or patterns with a wildcard first label, {@code https://*.example.com}; compared
         * case-insensitively; the set is copied. An entry with a path (even a trailing
         * {@code /}), a query, a fragment or userinfo, a wildcard anywhere but as the whole first
         * label or over a single label ({@code https://*.com}), or {@code null} is refused by
         * {@link #build()}.
         *
         * @param v the origins and origin patterns allowed in addition to the same origin
         * @return this builder
         */
        public Builder allowedOrigins(Set<String> v) {
            this.allowedOrigins = v;
            return this;
        }

        /**
         * Default {@code false}. {@code true} allows every origin and turns off the protection
         * against cross-site WebSocket hijacking; read {@link TetherUndertowConfig#allowAnyOrigin()}
         * first. Cannot be combined with {@link #allowedOrigins(Set)}.
         *
         * @param v whether every origin is allowed
         * @return this builder
         */
        public Builder allowAnyOrigin(boolean v) {
            this.allowAnyOrigin = v;
            return this;
        }

        /**
         * Default {@value TetherUndertowConfig#DEFAULT_HOST}.
         *
         * @param v the address the standalone server binds to
         * @return this builder
         */
        public Builder host(String v) {
            this.host = v;
            return this;
        }

        /**
         * Default {@value TetherUndertowConfig#DEFAULT_PORT}; 0 to 65535, 0 picks a free port.
         *
         * @param v the port the standalone server binds to
         * @return this builder
         */
        public Builder port(int v) {
            this.port = v;
            return this;
        }

        /**
         * Default 0 (one per available processor); 0 to 1024.
         *
         * @param v the standalone server's I/O threads, or 0 for one per processor
         * @return this builder
         */
        public Builder ioThreads(int v) {
            this.ioThreads = v;
            return this;
        }

        /**
         * Default {@value TetherUndertowConfig#DEFAULT_BACKLOG}; at least 1.
         *
         * @param v the standalone server's listen backlog
         * @return this builder
         */
        public Builder backlog(int v) {
            this.backlog = v;
            return this;
        }

        /**
         * Default 10 s; at least 1 ms and at most {@link Integer#MAX_VALUE} ms.
         *
         * @param v the timeout of a request head
         * @return this builder
         */
        public Builder requestParseTimeout(Duration v) {
            this.requestParseTimeout = v;
            return this;
        }

        /**
         * Default zero (automatic); not negative, at most {@link Integer#MAX_VALUE} ms.
         *
         * @param v the idle timeout, or zero for automatic
         * @return this builder
         */
        public Builder idleTimeout(Duration v) {
            this.idleTimeout = v;
            return this;
        }

        /**
         * Default 5 s; at least 1 ms and at most {@link Integer#MAX_VALUE} ms.
         *
         * @param v the longest wait for a peer's close
         * @return this builder
         */
        public Builder closeTimeout(Duration v) {
            this.closeTimeout = v;
            return this;
        }

        /**
         * Default 10 s; at least 1 ms and at most {@link Integer#MAX_VALUE} ms.
         *
         * @param v the longest time one inbound message may take
         * @return this builder
         */
        public Builder messageReadTimeout(Duration v) {
            this.messageReadTimeout = v;
            return this;
        }

        /**
         * Default 16 KiB; at least 1024.
         *
         * @param v the largest request head, in bytes
         * @return this builder
         */
        public Builder maxHeaderBytes(int v) {
            this.maxHeaderBytes = v;
            return this;
        }

        /**
         * Default {@value TetherUndertowConfig#DEFAULT_MAX_PINGS_PER_MINUTE}; not negative, 0 means no limit.
         *
         * @param v the pings one connection may send within a minute, or 0 for no limit
         * @return this builder
         */
        public Builder maxPingsPerMinute(int v) {
            this.maxPingsPerMinute = v;
            return this;
        }

        /**
         * Default {@link WriteWaterMark#DEFAULT}.
         *
         * @param v when a connection stops and restarts the engine's drain
         * @return this builder
         */
        public Builder writeWaterMark(WriteWaterMark v) {
            this.writeWaterMark = v;
            return this;
        }

        /**
         * Default {@code null}: no health endpoint (see {@link TetherUndertowConfig#healthPath()}).
         * An exact path that starts with {@code /}, is neither {@link #path(String)} nor
         * {@link #socketIoPath(String)} nor a {@linkplain #route route}; checked by {@link #build()}.
         *
         * @param v the path, or {@code null} for none
         * @return this builder
         * @since 0.1.0
         */
        public Builder healthPath(String v) {
            this.healthPath = v;
            return this;
        }

        /**
         * Adds an HTTP route to the standalone server: a request whose path is exactly
         * {@code path} (no prefix matching, no query string in it) is handed to {@code handler},
         * on the I/O thread as Undertow calls every handler (a handler that blocks must
         * {@code exchange.dispatch(...)} to the worker pool). For small operational endpoints next
         * to Tether, such as metrics; an application with real HTTP needs mounts
         * {@link TetherHandler} in its own server instead. {@link #build()} refuses a path that does
         * not start with {@code /}, that is {@link #path(String)}, {@link #socketIoPath(String)} or
         * {@link #healthPath(String)}, or that was added before, and a {@code null} handler.
         *
         * @param path    the exact path
         * @param handler what answers it
         * @return this builder
         * @since 0.1.0
         */
        public Builder route(String path, HttpHandler handler) {
            routes.add(new AbstractMap.SimpleEntry<>(path, handler));
            return this;
        }

        /**
         * Validates and builds.
         *
         * @return the configuration
         * @throws IllegalArgumentException naming the first invalid field
         * @throws NullPointerException naming the first missing field
         */
        public TetherUndertowConfig build() {
            Objects.requireNonNull(path, "path");
            if (!path.startsWith("/")) {
                throw new IllegalArgumentException("path must start with '/': " + path);
            }
            Objects.requireNonNull(socketIoPath, "socketIoPath");
            if (!socketIoPath.startsWith("/")) {
                throw new IllegalArgumentException("socketIoPath must start with '/': " + socketIoPath);
            }
            Set<String> origins = OriginPolicy.of(allowedOrigins, allowAnyOrigin).entries();
            if (allowAnyOrigin && !origins.isEmpty()) {
                throw new IllegalArgumentException("allowAnyOrigin cannot be combined with allowedOrigins "
                        + origins + ": every origin is allowed already");
            }
            Objects.requireNonNull(host, "host");
            if (host.isBlank()) {
                throw new IllegalArgumentException("host must not be blank");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be between 0 and 65535: " + port);
            }
            if (ioThreads < 0 || ioThreads > 1024) {
                throw new IllegalArgumentException("ioThreads must be between 0 and 1024: " + ioThreads);
            }
            if (backlog < 1) {
                throw new IllegalArgumentException("backlog must be at least 1: " + backlog);
            }
            millis("requestParseTimeout", requestParseTimeout, false);
            millis("idleTimeout", idleTimeout, true);
            millis("closeTimeout", closeTimeout, false);
            millis("messageReadTimeout", messageReadTimeout, false);
            if (maxHeaderBytes < 1024) {
                throw new IllegalArgumentException("maxHeaderBytes must be at least 1024: " + maxHeaderBytes);
            }
            if (maxPingsPerMinute < 0) {
                throw new IllegalArgumentException("maxPingsPerMinute must be zero or positive: " + maxPingsPerMinute);
            }
            Objects.requireNonNull(writeWaterMark, "writeWaterMark");
            if (healthPath != null) {
                extraPath("healthPath", healthPath);
            }
            Map<String, HttpHandler> checkedRoutes = new LinkedHashMap<>();
            for (Map.Entry<String, HttpHandler> route : routes) {
                String p = route.getKey();
                Objects.requireNonNull(p, "route path");
                extraPath("route", p);
                Objects.requireNonNull(route.getValue(), "route handler for " + p);
                if (p.equals(healthPath) || checkedRoutes.containsKey(p)) {
                    throw new IllegalArgumentException("route " + p + " is taken already"
                            + (p.equals(healthPath) ? " by healthPath" : ""));
                }
                checkedRoutes.put(p, route.getValue());
            }
            Builder copy = new Builder();
            copy.path = path;
            copy.socketIoPath = socketIoPath;
            copy.allowedOrigins = origins;
            copy.allowAnyOrigin = allowAnyOrigin;
            copy.host = host;
            copy.port = port;
            copy.ioThreads = ioThreads;
            copy.backlog = backlog;
            copy.requestParseTimeout = requestParseTimeout;
            copy.idleTimeout = idleTimeout;
            copy.closeTimeout = closeTimeout;
            copy.messageReadTimeout = messageReadTimeout;
            copy.maxHeaderBytes = maxHeaderBytes;
            copy.maxPingsPerMinute = maxPingsPerMinute;
            copy.writeWaterMark = writeWaterMark;
            copy.healthPath = healthPath;
            copy.builtRoutes = Collections.unmodifiableMap(checkedRoutes);
            return new TetherUndertowConfig(copy);
        }

        /** A path the standalone server serves besides Tether's: absolute and not Tether's own. */
        private void extraPath(String name, String p) {
            if (!p.startsWith("/")) {
                throw new IllegalArgumentException(name + " must start with '/': " + p);
            }
            if (p.equals(path) || p.equals(socketIoPath)) {
                throw new IllegalArgumentException(name + " " + p + " is the Tether endpoint's path");
            }
        }

        private static void millis(String name, Duration value, boolean zeroAllowed) {
            Objects.requireNonNull(value, name);
            if (value.isNegative() || (!zeroAllowed && value.toMillis() < 1)) {
                throw new IllegalArgumentException(
                        name + " must be " + (zeroAllowed ? "zero or positive" : "at least 1 ms") + ": " + value);
            }
            if (value.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) > 0) {
                throw new IllegalArgumentException(name + " must be at most " + Integer.MAX_VALUE + " ms: " + value);
            }
        }
    }
}
