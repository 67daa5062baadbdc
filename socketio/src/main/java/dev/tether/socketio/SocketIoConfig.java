package dev.tether.socketio;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.Objects;

/**
 * The Socket.IO layer's own settings; heartbeat ({@code pingInterval}/{@code pingTimeout}),
 * {@code maxPayload}, queue and replay limits and the recovery window come from the hub's
 * {@link dev.tether.core.TetherConfig} (heartbeatInterval, heartbeatTimeout, maxMessageBytes,
 * outboundQueueCapacity, replayBuffer*, sessionRetention). Immutable; built and validated by
 * {@link Builder#build()}.
 *
 * @since 0.1.0
 */
public final class SocketIoConfig {

    /** Default {@link #connectionStateRecovery()}: off, as in Socket.IO. */
    public static final boolean DEFAULT_CONNECTION_STATE_RECOVERY = false;
    /** Default {@link #maxAttachments()}: 10, as the reference parser. */
    public static final int DEFAULT_MAX_ATTACHMENTS = 10;
    /** Default {@link #connectTimeout()}: 45 s, as Socket.IO. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(45);

    /** Tether's own mapper, for a configuration that names none; never handed out to be changed. */
    private static final ObjectMapper DEFAULT_MAPPER = new ObjectMapper();
    private static final SocketIoConfig DEFAULTS = builder().build();

    private final boolean connectionStateRecovery;
    private final int maxAttachments;
    private final Duration connectTimeout;
    private final ObjectMapper objectMapper;

    private SocketIoConfig(Builder b) {
        this.connectionStateRecovery = b.connectionStateRecovery;
        this.maxAttachments = b.maxAttachments;
        this.connectTimeout = b.connectTimeout;
        this.objectMapper = b.objectMapper;
    }

    /** {@return a builder with every default} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the configuration with every default} */
    public static SocketIoConfig defaults() {
        return DEFAULTS;
    }

    /**
     * {@return whether connection state recovery (Socket.IO 4.6+) is on} Then events carry their
     * offset, the CONNECT reply carries a private session id, and a client that reconnects within
     * the hub's session retention gets what it missed ({@code socket.recovered === true}).
     */
    public boolean connectionStateRecovery() {
        return connectionStateRecovery;
    }

    /** {@return the most binary attachments one packet may carry} More closes the connection. */
    public int maxAttachments() {
        return maxAttachments;
    }

    /** {@return how long an Engine.IO connection may stay without any namespace connected} */
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /**
     * {@return the mapper that turns emitted arguments other than strings, byte arrays and
     * {@code JsonNode}s into JSON} The application's own (its modules, naming strategy, date
     * format) when it gave one, else a plain {@code ObjectMapper}. Jackson 2
     * ({@code com.fasterxml.jackson}).
     */
    public ObjectMapper objectMapper() {
        return objectMapper;
    }

    @Override
    public String toString() {
        return "SocketIoConfig[connectionStateRecovery=" + connectionStateRecovery
                + ", maxAttachments=" + maxAttachments + ", connectTimeout=" + connectTimeout + "]";
    }

    /** Builds a {@link SocketIoConfig}. Not thread-safe. */
    public static final class Builder {
        private boolean connectionStateRecovery = DEFAULT_CONNECTION_STATE_RECOVERY;
        private int maxAttachments = DEFAULT_MAX_ATTACHMENTS;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private ObjectMapper objectMapper = DEFAULT_MAPPER;

        private Builder() {
        }

        /**
         * See {@link SocketIoConfig#connectionStateRecovery()}.
         *
         * @param v whether connection state recovery is on
         * @return this builder
         */
        public Builder connectionStateRecovery(boolean v) {
            this.connectionStateRecovery = v;
            return this;
        }

        /**
         * See {@link SocketIoConfig#objectMapper()}. The mapper is used from many threads, as
         * Jackson allows once it is configured: do not change it afterwards.
         *
         * @param v the application's mapper
         * @return this builder
         */
        public Builder objectMapper(ObjectMapper v) {
            this.objectMapper = Objects.requireNonNull(v, "objectMapper");
            return this;
        }

        /**
         * See {@link SocketIoConfig#maxAttachments()}; 1 to 1000.
         *
         * @param v the most binary attachments one packet may carry
         * @return this builder
         */
        public Builder maxAttachments(int v) {
            this.maxAttachments = v;
            return this;
        }

        /**
         * See {@link SocketIoConfig#connectTimeout()}; positive.
         *
         * @param v how long a connection may stay without any namespace
         * @return this builder
         */
        public Builder connectTimeout(Duration v) {
            this.connectTimeout = v;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @return the configuration
         * @throws IllegalArgumentException naming the field that is out of range
         * @throws NullPointerException     naming the field that is null
         */
        public SocketIoConfig build() {
            if (maxAttachments < 1 || maxAttachments > 1000) {
                throw new IllegalArgumentException("maxAttachments must be 1..1000: " + maxAttachments);
            }
            Objects.requireNonNull(connectTimeout, "connectTimeout");
            if (connectTimeout.isNegative() || connectTimeout.isZero()) {
                throw new IllegalArgumentException("connectTimeout must be positive: " + connectTimeout);
            }
            return new SocketIoConfig(this);
        }
    }
}
