package dev.tether.spring.boot;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.TetherConfig;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.undertow.TetherUndertowConfig;
import java.time.Duration;
import java.util.Set;
import java.util.function.Consumer;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code tether.*} properties of a Spring Boot application. Every property is optional: one
 * left unset keeps the default of {@link TetherConfig.Builder} or {@link TetherUndertowConfig.Builder},
 * and every value set is checked by their {@code build()}, so an invalid value fails the
 * application's start with the builder's message. Durations take Spring's forms ({@code 25s},
 * {@code 2m}, {@code PT10S}).
 *
 * <pre>
 * tether.port=9090
 * tether.host=127.0.0.1
 * tether.heartbeat-interval=25s
 * tether.session-retention=2m
 * </pre>
 *
 * @param enabled whether to configure Tether at all (default {@code true})
 * @param port the port Tether's own Undertow listener binds, independent of the application's web
 *     server (default {@value TetherUndertowConfig#DEFAULT_PORT}; {@code 0} for an ephemeral port,
 *     read back from {@link dev.tether.undertow.TetherServer#port()})
 * @param host the address the listener binds (default {@value TetherUndertowConfig#DEFAULT_HOST})
 * @param path the WebSocket endpoint's path (default {@value TetherUndertowConfig#DEFAULT_PATH})
 * @param healthPath the path of the listener's own HTTP health endpoint, for a load balancer that
 *     probes the Tether port (default none); see {@link TetherUndertowConfig#healthPath()}
 * @param allowedOrigins the browser origins allowed besides the same origin (default none); see
 *     {@link TetherUndertowConfig#allowedOrigins()}
 * @param heartbeatInterval how often the server pings each connection; see
 *     {@link TetherConfig#heartbeatInterval()}
 * @param heartbeatTimeout how long an unanswered ping is waited for before the connection is
 *     closed; see {@link TetherConfig#heartbeatTimeout()}
 * @param sessionRetention how long a disconnected session is kept for its client to resume; see
 *     {@link TetherConfig#sessionRetention()}
 * @param maxConnections the most connections the hub admits at once; see
 *     {@link TetherConfig#maxConnections()}
 * @param outboundQueueCapacity the most messages queued for one connection; see
 *     {@link TetherConfig#outboundQueueCapacity()}
 * @param replayBufferMessages the most unacknowledged reliable messages kept per session for
 *     replay; see {@link TetherConfig#replayBufferMessages()}
 * @param replayBufferBytes the most bytes of unacknowledged reliable messages kept per session;
 *     see {@link TetherConfig#replayBufferBytes()}
 * @param maxMessageBytes the largest message a client may send; see
 *     {@link TetherConfig#maxMessageBytes()}
 * @param drainTimeout how long the drain on shutdown waits for the clients; see
 *     {@link TetherConfig#drainTimeout()}
 * @param socketio the {@code tether.socketio.*} properties: whether the listener speaks Socket.IO
 *     instead of Tether's own protocol
 * @since 0.1.0
 */
@ConfigurationProperties("tether")
public record TetherProperties(
        Boolean enabled,
        Integer port,
        String host,
        String path,
        String healthPath,
        Set<String> allowedOrigins,
        Duration heartbeatInterval,
        Duration heartbeatTimeout,
        Duration sessionRetention,
        Integer maxConnections,
        Integer outboundQueueCapacity,
        Integer replayBufferMessages,
        Long replayBufferBytes,
        Integer maxMessageBytes,
        Duration drainTimeout,
        SocketIoProperties socketio) {

    /**
     * The {@code tether.socketio.*} properties.
     *
     * <pre>
     * tether.socketio.enabled=true
     * tether.socketio.connection-state-recovery=true
     * </pre>
     *
     * @param enabled whether the listener serves Socket.IO clients (Engine.IO v4, at
     *     {@code path}) instead of Tether's own protocol (default {@code false}); the application
     *     then registers its listeners on the {@link dev.tether.socketio.SocketIo} bean
     * @param path the Engine.IO path (default
     *     {@value TetherUndertowConfig#DEFAULT_SOCKET_IO_PATH}); see
     *     {@link TetherUndertowConfig#socketIoPath()}
     * @param connectionStateRecovery whether a client that reconnects gets the packets it
     *     missed (default {@code false}); see {@link SocketIoConfig#connectionStateRecovery()}
     * @param connectTimeout how long a client may take to connect to a namespace; see
     *     {@link SocketIoConfig#connectTimeout()}
     * @since 0.1.0
     */
    public record SocketIoProperties(Boolean enabled, String path, Boolean connectionStateRecovery,
            Duration connectTimeout) {
    }

    /** {@return whether the listener speaks Socket.IO} */
    public boolean socketIoEnabled() {
        return socketio != null && Boolean.TRUE.equals(socketio.enabled());
    }

    /**
     * The Socket.IO configuration from these properties, mapping emitted objects with
     * {@code objectMapper} ({@link SocketIoConfig.Builder#objectMapper}).
     *
     * @param objectMapper the application's Jackson 2 mapper, or {@code null} for Tether's default
     * @return the validated configuration
     * @throws IllegalArgumentException if a value is invalid (the builder's message)
     */
    public SocketIoConfig socketIoConfig(ObjectMapper objectMapper) {
        SocketIoConfig.Builder b = SocketIoConfig.builder();
        ifSet(objectMapper, b::objectMapper);
        if (socketio != null) {
            ifSet(socketio.connectionStateRecovery(), b::connectionStateRecovery);
            ifSet(socketio.connectTimeout(), b::connectTimeout);
        }
        return b.build();
    }

    /**
     * Starts a hub configuration from these properties: every property set is applied, the rest
     * keep the builder's defaults. The caller adds the handler-independent collaborators
     * (authenticator, authorizer, metrics) and calls {@code build()}, which validates.
     *
     * @return a builder with these properties applied
     */
    public TetherConfig.Builder hubConfig() {
        TetherConfig.Builder b = TetherConfig.builder();
        ifSet(heartbeatInterval, b::heartbeatInterval);
        ifSet(heartbeatTimeout, b::heartbeatTimeout);
        ifSet(sessionRetention, b::sessionRetention);
        ifSet(maxConnections, b::maxConnections);
        ifSet(outboundQueueCapacity, b::outboundQueueCapacity);
        ifSet(replayBufferMessages, b::replayBufferMessages);
        ifSet(replayBufferBytes, b::replayBufferBytes);
        ifSet(maxMessageBytes, b::maxMessageBytes);
        ifSet(drainTimeout, b::drainTimeout);
        return b;
    }

    /**
     * The listener's configuration from these properties, validated by
     * {@link TetherUndertowConfig.Builder#build()}.
     *
     * @return the configuration of Tether's Undertow listener
     * @throws IllegalArgumentException if a value is invalid (the builder's message)
     */
    public TetherUndertowConfig serverConfig() {
        TetherUndertowConfig.Builder b = TetherUndertowConfig.builder();
        ifSet(port, b::port);
        ifSet(host, b::host);
        ifSet(path, b::path);
        ifSet(healthPath, b::healthPath);
        ifSet(allowedOrigins, b::allowedOrigins);
        if (socketio != null) {
            ifSet(socketio.path(), b::socketIoPath);
        }
        return b.build();
    }

    /** Applies {@code value} with {@code setter} when the property is set; unset keeps the builder's default. */
    private static <T> void ifSet(T value, Consumer<T> setter) {
        if (value != null) {
            setter.accept(value);
        }
    }
}
