package dev.tether.redis;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link RedisBroker} reaches Redis and how much it keeps there. Immutable; built by
 * {@link #builder()}, validated in {@link Builder#build()}. Every setting has a documented
 * default; only the Redis URI is required.
 *
 * <p>One Redis is one shard: every node of a cluster must use the same URI and key prefix.
 * Redis Cluster and client-side sharding over several Redis instances are not supported yet.
 * Run Redis without persistence ({@code save ""}, {@code appendonly no}) or with AOF
 * {@code appendfsync always}: a restart from a stale snapshot would reuse positions.
 *
 * @since 0.1.0
 */
public final class RedisBrokerConfig {

    /** Default {@link Builder#keyPrefix}: {@value}. */
    public static final String DEFAULT_KEY_PREFIX = "tether:";
    /** Default {@link Builder#topicMaxLength}: {@value} entries per topic. */
    public static final long DEFAULT_TOPIC_MAX_LENGTH = 10_000;
    /** Default {@link Builder#historyTtl}: 10 minutes. */
    public static final Duration DEFAULT_HISTORY_TTL = Duration.ofMinutes(10);
    /** Default {@link Builder#commandTimeout}: 2 seconds. */
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(2);
    /** Default {@link Builder#maxPendingCommands}: {@value}. */
    public static final int DEFAULT_MAX_PENDING_COMMANDS = 10_000;
    /** Default {@link Builder#heartbeatInterval}: 1 second. */
    public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(1);
    /** Default {@link Builder#nodeTimeout}: 5 seconds. */
    public static final Duration DEFAULT_NODE_TIMEOUT = Duration.ofSeconds(5);
    /** Default {@link Builder#deliveryQueueCapacity}: {@value} live messages. */
    public static final int DEFAULT_DELIVERY_QUEUE_CAPACITY = 100_000;
    /** Default {@link Builder#publishBatchSize}: {@value} publishes per script call. */
    public static final int DEFAULT_PUBLISH_BATCH_SIZE = 64;

    /** Topic meta keys (the trim and last positions) live at least this long. */
    private static final Duration MIN_META_TTL = Duration.ofHours(1);

    private final URI uri;
    private final String keyPrefix;
    private final long topicMaxLength;
    private final Duration historyTtl;
    private final Duration commandTimeout;
    private final int maxPendingCommands;
    private final Duration heartbeatInterval;
    private final Duration nodeTimeout;
    private final int deliveryQueueCapacity;
    private final int publishBatchSize;

    private RedisBrokerConfig(Builder b) {
        this.uri = b.uri;
        this.keyPrefix = b.keyPrefix;
        this.topicMaxLength = b.topicMaxLength;
        this.historyTtl = b.historyTtl;
        this.commandTimeout = b.commandTimeout;
        this.maxPendingCommands = b.maxPendingCommands;
        this.heartbeatInterval = b.heartbeatInterval;
        this.nodeTimeout = b.nodeTimeout;
        this.deliveryQueueCapacity = b.deliveryQueueCapacity;
        this.publishBatchSize = b.publishBatchSize;
    }

    /**
     * A builder with every default set and no URI.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A configuration with every default and {@code uri}, such as {@code redis://localhost:6379}.
     *
     * @param uri the Redis server
     * @return the configuration
     */
    public static RedisBrokerConfig of(String uri) {
        return builder().uri(uri).build();
    }

    /** {@return the Redis server: {@code redis://} or {@code rediss://} (TLS), with an optional password} */
    public URI uri() {
        return uri;
    }

    /** {@return the prefix of every key and channel this broker uses} */
    public String keyPrefix() {
        return keyPrefix;
    }

    /** {@return the number of entries kept per topic; older entries are trimmed (a read over them is incomplete)} */
    public long topicMaxLength() {
        return topicMaxLength;
    }

    /** {@return how long a topic's history outlives its last publish} */
    public Duration historyTtl() {
        return historyTtl;
    }

    /** {@return how long a topic's meta key (highest trimmed and last position) outlives its last publish} */
    public Duration metaTtl() {
        return historyTtl.compareTo(MIN_META_TTL) > 0 ? historyTtl : MIN_META_TTL;
    }

    /** {@return how long a Redis command may take before its future fails as {@code unavailable}} */
    public Duration commandTimeout() {
        return commandTimeout;
    }

    /** {@return the most commands waiting for Redis; beyond it an operation fails as {@code overloaded}} */
    public int maxPendingCommands() {
        return maxPendingCommands;
    }

    /** {@return how often a node refreshes its liveness, connection count and sweeps dead nodes} */
    public Duration heartbeatInterval() {
        return heartbeatInterval;
    }

    /** {@return how long after its last heartbeat a node counts as dead} */
    public Duration nodeTimeout() {
        return nodeTimeout;
    }

    /**
     * The most live messages waiting for the listener; beyond it live messages are dropped and
     * the listener hears {@code onInterrupted} (it then re-reads the feeds from history).
     *
     * @return the value
     */
    public int deliveryQueueCapacity() {
        return deliveryQueueCapacity;
    }

    /** {@return the most publishes sent to Redis in one script call when publishes queue up} */
    public int publishBatchSize() {
        return publishBatchSize;
    }

    @Override
    public String toString() {
        return "RedisBrokerConfig[uri=" + redactedUri() + ", keyPrefix=" + keyPrefix
                + ", topicMaxLength=" + topicMaxLength + ", historyTtl=" + historyTtl
                + ", commandTimeout=" + commandTimeout + ", maxPendingCommands=" + maxPendingCommands
                + ", heartbeatInterval=" + heartbeatInterval + ", nodeTimeout=" + nodeTimeout
                + ", deliveryQueueCapacity=" + deliveryQueueCapacity
                + ", publishBatchSize=" + publishBatchSize + "]";
    }

    /** The URI without its user information, for logs. */
    String redactedUri() {
        return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort())
                + (uri.getRawPath() == null ? "" : uri.getRawPath());
    }

    /** Builds a {@link RedisBrokerConfig}. Not thread-safe. */
    public static final class Builder {
        private URI uri;
        private String keyPrefix = DEFAULT_KEY_PREFIX;
        private long topicMaxLength = DEFAULT_TOPIC_MAX_LENGTH;
        private Duration historyTtl = DEFAULT_HISTORY_TTL;
        private Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
        private int maxPendingCommands = DEFAULT_MAX_PENDING_COMMANDS;
        private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
        private Duration nodeTimeout = DEFAULT_NODE_TIMEOUT;
        private int deliveryQueueCapacity = DEFAULT_DELIVERY_QUEUE_CAPACITY;
        private int publishBatchSize = DEFAULT_PUBLISH_BATCH_SIZE;

        private Builder() {
        }

        /**
         * The Redis server, e.g. {@code redis://:secret@host:6379/0} or {@code rediss://host}. Required.
         *
         * @param uri the Redis server
         * @return this builder
         */
        public Builder uri(String uri) {
            this.uri = URI.create(Objects.requireNonNull(uri, "uri"));
            return this;
        }

        /**
         * The Redis server. Required.
         *
         * @param uri the Redis server
         * @return this builder
         */
        public Builder uri(URI uri) {
            this.uri = Objects.requireNonNull(uri, "uri");
            return this;
        }

        /**
         * The prefix of every key and channel. Default {@value #DEFAULT_KEY_PREFIX}.
         *
         * @param keyPrefix the prefix
         * @return this builder
         */
        public Builder keyPrefix(String keyPrefix) {
            this.keyPrefix = keyPrefix;
            return this;
        }

        /**
         * Entries kept per topic, and per session of the direct messages it has not yet been
         * checkpointed past (a resume that needs trimmed entries gets an explicit gap). Default
         * {@value #DEFAULT_TOPIC_MAX_LENGTH}.
         *
         * @param topicMaxLength entries, at least 1
         * @return this builder
         */
        public Builder topicMaxLength(long topicMaxLength) {
            this.topicMaxLength = topicMaxLength;
            return this;
        }

        /**
         * How long a topic's history outlives its last publish. Default 10 minutes.
         *
         * @param historyTtl a positive duration
         * @return this builder
         */
        public Builder historyTtl(Duration historyTtl) {
            this.historyTtl = historyTtl;
            return this;
        }

        /**
         * Timeout of every Redis command (and of the connect). Default 2 seconds.
         *
         * @param commandTimeout a positive duration
         * @return this builder
         */
        public Builder commandTimeout(Duration commandTimeout) {
            this.commandTimeout = commandTimeout;
            return this;
        }

        /**
         * Commands waiting for Redis before operations are refused. Default {@value #DEFAULT_MAX_PENDING_COMMANDS}.
         *
         * @param maxPendingCommands at least 1
         * @return this builder
         */
        public Builder maxPendingCommands(int maxPendingCommands) {
            this.maxPendingCommands = maxPendingCommands;
            return this;
        }

        /**
         * How often a node heartbeats. Default 1 second.
         *
         * @param heartbeatInterval a positive duration
         * @return this builder
         */
        public Builder heartbeatInterval(Duration heartbeatInterval) {
            this.heartbeatInterval = heartbeatInterval;
            return this;
        }

        /**
         * How long after its last heartbeat a node counts as dead. Default 5 seconds.
         *
         * @param nodeTimeout a positive duration, longer than the heartbeat interval
         * @return this builder
         */
        public Builder nodeTimeout(Duration nodeTimeout) {
            this.nodeTimeout = nodeTimeout;
            return this;
        }

        /**
         * Live messages waiting for the listener. Default {@value #DEFAULT_DELIVERY_QUEUE_CAPACITY}.
         *
         * @param deliveryQueueCapacity at least 1
         * @return this builder
         */
        public Builder deliveryQueueCapacity(int deliveryQueueCapacity) {
            this.deliveryQueueCapacity = deliveryQueueCapacity;
            return this;
        }

        /**
         * Publishes per script call. Default {@value #DEFAULT_PUBLISH_BATCH_SIZE}.
         *
         * @param publishBatchSize at least 1
         * @return this builder
         */
        public Builder publishBatchSize(int publishBatchSize) {
            this.publishBatchSize = publishBatchSize;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @return the configuration
         * @throws IllegalArgumentException naming the first invalid field
         * @throws NullPointerException     naming a missing field
         */
        public RedisBrokerConfig build() {
            Objects.requireNonNull(uri, "uri");
            String scheme = uri.getScheme();
            if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
                throw new IllegalArgumentException("uri must be redis:// or rediss://: " + scheme + "://...");
            }
            if (uri.getHost() == null) {
                throw new IllegalArgumentException("uri has no host");
            }
            Objects.requireNonNull(keyPrefix, "keyPrefix");
            if (keyPrefix.isEmpty()) {
                throw new IllegalArgumentException("keyPrefix must not be empty");
            }
            if (topicMaxLength < 1) {
                throw new IllegalArgumentException("topicMaxLength must be positive: " + topicMaxLength);
            }
            positive(historyTtl, "historyTtl");
            positive(commandTimeout, "commandTimeout");
            positive(heartbeatInterval, "heartbeatInterval");
            positive(nodeTimeout, "nodeTimeout");
            if (maxPendingCommands < 1) {
                throw new IllegalArgumentException("maxPendingCommands must be positive: " + maxPendingCommands);
            }
            if (nodeTimeout.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
                throw new IllegalArgumentException("nodeTimeout must be at least twice heartbeatInterval: "
                        + nodeTimeout + " < 2 x " + heartbeatInterval);
            }
            if (deliveryQueueCapacity < 1) {
                throw new IllegalArgumentException("deliveryQueueCapacity must be positive: " + deliveryQueueCapacity);
            }
            if (publishBatchSize < 1 || publishBatchSize > 1024) {
                throw new IllegalArgumentException("publishBatchSize must be in 1..1024: " + publishBatchSize);
            }
            return new RedisBrokerConfig(this);
        }

        private static void positive(Duration d, String field) {
            Objects.requireNonNull(d, field);
            if (d.isNegative() || d.isZero() || d.toMillis() < 1) {
                throw new IllegalArgumentException(field + " must be at least 1 ms: " + d);
            }
        }
    }
}
