package dev.tether.core;

import dev.tether.core.internal.protocol.JsonProtocol;
import dev.tether.core.spi.Authenticator;
import dev.tether.core.spi.Authorizer;
import dev.tether.core.spi.ErrorHandler;
import dev.tether.core.spi.MetricsListener;
import dev.tether.core.spi.Protocol;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Immutable configuration of a {@link Tether} hub. Built with {@link #builder()}, validated by
 * {@link Builder#build()}, which names the offending field. Every limit has a documented default.
 *
 * @since 0.1.0
 */
public final class TetherConfig {

    /** Default {@link Builder#heartbeatInterval(Duration)}: 25 s. */
    public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(25);
    /** Default {@link Builder#heartbeatTimeout(Duration)}: 20 s. */
    public static final Duration DEFAULT_HEARTBEAT_TIMEOUT = Duration.ofSeconds(20);
    /** Default {@link Builder#helloTimeout(Duration)}: 10 s. */
    public static final Duration DEFAULT_HELLO_TIMEOUT = Duration.ofSeconds(10);
    /** Default {@link Builder#sessionRetention(Duration)}: 2 minutes. */
    public static final Duration DEFAULT_SESSION_RETENTION = Duration.ofMinutes(2);
    /** Default {@link Builder#outboundQueueCapacity(int)}: 1024 messages. */
    public static final int DEFAULT_OUTBOUND_QUEUE_CAPACITY = 1024;
    /** Default {@link Builder#volatileQueueLimit(int)}: 512 messages. */
    public static final int DEFAULT_VOLATILE_QUEUE_LIMIT = 512;
    /** Default {@link Builder#replayBufferMessages(int)}: 1024 messages. */
    public static final int DEFAULT_REPLAY_BUFFER_MESSAGES = 1024;
    /** Default {@link Builder#replayBufferBytes(long)}: 1 MiB. */
    public static final long DEFAULT_REPLAY_BUFFER_BYTES = 1L << 20;
    /** Default {@link Builder#maxMessageBytes(int)}: 64 KiB. */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
    /** Default {@link Builder#drainBatch(int)}: 256 frames per drain. */
    public static final int DEFAULT_DRAIN_BATCH = 256;
    /** Default {@link Builder#ackEvery(int)}: 32 messages. */
    public static final int DEFAULT_ACK_EVERY = 32;
    /** Default {@link Builder#ackDelay(Duration)}: 200 ms. */
    public static final Duration DEFAULT_ACK_DELAY = Duration.ofMillis(200);
    /** Default {@link Builder#handlerPendingLimit(int)}: 64 callbacks per session. */
    public static final int DEFAULT_HANDLER_PENDING_LIMIT = 64;
    /** Default {@link Builder#timerTick(Duration)}: 10 ms. */
    public static final Duration DEFAULT_TIMER_TICK = Duration.ofMillis(10);
    /** Default {@link Builder#inboundRateLimit(int, int)}: 1000 messages per second per connection. */
    public static final int DEFAULT_INBOUND_MESSAGES_PER_SECOND = 1000;
    /** Default {@link Builder#inboundRateLimit(int, int)}: a burst of 4096 messages (above the client's resend window). */
    public static final int DEFAULT_INBOUND_BURST = 4096;
    /** Default {@link Builder#maxConnections(int)}: 100,000. */
    public static final int DEFAULT_MAX_CONNECTIONS = 100_000;
    /** Default {@link Builder#maxHandshakesPerSecond(int)}: 5,000. */
    public static final int DEFAULT_MAX_HANDSHAKES_PER_SECOND = 5_000;
    /**
     * Default {@link Builder#handshakeBurst(int)}, as a divisor of the handshake rate: a quarter
     * of a second's worth of handshakes (1,250 at the default rate), at least 1.
     */
    public static final int DEFAULT_HANDSHAKE_BURST_DIVISOR = 4;
    /** Default {@link Builder#handshakeMaxDelay(Duration)}: 1 s. */
    public static final Duration DEFAULT_HANDSHAKE_MAX_DELAY = Duration.ofSeconds(1);
    /** The most {@link Builder#handshakeMaxDelay(Duration)} may be: 10 s. */
    public static final Duration MAX_HANDSHAKE_MAX_DELAY = Duration.ofSeconds(10);
    /** Default {@link Builder#admissionRetryAfter(Duration)}: 2 s. */
    public static final Duration DEFAULT_ADMISSION_RETRY_AFTER = Duration.ofSeconds(2);
    /** Default {@link Builder#drainTimeout(Duration)}: 10 s. */
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(10);
    /** Default {@link Builder#authenticationTimeout(Duration)}: 5 s. */
    public static final Duration DEFAULT_AUTHENTICATION_TIMEOUT = Duration.ofSeconds(5);
    /** Default lower end of {@link Builder#drainReconnectWindow(Duration, Duration)}: 1 s. */
    public static final Duration DEFAULT_DRAIN_RECONNECT_MIN = Duration.ofSeconds(1);
    /** Default upper end of {@link Builder#drainReconnectWindow(Duration, Duration)}: 10 s. */
    public static final Duration DEFAULT_DRAIN_RECONNECT_MAX = Duration.ofSeconds(10);

    private final Duration heartbeatInterval;
    private final Duration heartbeatTimeout;
    private final Duration helloTimeout;
    private final Duration sessionRetention;
    private final int outboundQueueCapacity;
    private final int volatileQueueLimit;
    private final int replayBufferMessages;
    private final long replayBufferBytes;
    private final int maxMessageBytes;
    private final int drainBatch;
    private final int ackEvery;
    private final Duration ackDelay;
    private final int handlerPendingLimit;
    private final Duration timerTick;
    private final int inboundMessagesPerSecond;
    private final int inboundBurst;
    private final int maxConnections;
    private final int maxHandshakesPerSecond;
    private final int handshakeBurst;
    private final Duration handshakeMaxDelay;
    private final Duration admissionRetryAfter;
    private final Duration drainTimeout;
    private final Duration drainReconnectMin;
    private final Duration drainReconnectMax;
    private final Executor handlerExecutor;
    private final Protocol protocol;
    private final Authenticator authenticator;
    private final Duration authenticationTimeout;
    private final Authorizer authorizer;
    private final MetricsListener metrics;
    private final ErrorHandler errorHandler;
    private final dev.tether.core.spi.Broker broker;

    private TetherConfig(Builder b) {
        this.heartbeatInterval = b.heartbeatInterval;
        this.heartbeatTimeout = b.heartbeatTimeout;
        this.helloTimeout = b.helloTimeout;
        this.sessionRetention = b.sessionRetention;
        this.outboundQueueCapacity = b.outboundQueueCapacity;
        this.volatileQueueLimit = b.volatileQueueLimit;
        this.replayBufferMessages = b.replayBufferMessages;
        this.replayBufferBytes = b.replayBufferBytes;
        this.maxMessageBytes = b.maxMessageBytes;
        this.drainBatch = b.drainBatch;
        this.ackEvery = b.ackEvery;
        this.ackDelay = b.ackDelay;
        this.handlerPendingLimit = b.handlerPendingLimit;
        this.timerTick = b.timerTick;
        this.inboundMessagesPerSecond = b.inboundMessagesPerSecond;
        this.inboundBurst = b.inboundBurst;
        this.maxConnections = b.maxConnections;
        this.maxHandshakesPerSecond = b.maxHandshakesPerSecond;
        this.handshakeBurst = b.handshakeBurst != null ? b.handshakeBurst
                : Math.max(1, b.maxHandshakesPerSecond / DEFAULT_HANDSHAKE_BURST_DIVISOR);
        this.handshakeMaxDelay = b.handshakeMaxDelay;
        this.admissionRetryAfter = b.admissionRetryAfter;
        this.drainTimeout = b.drainTimeout;
        this.drainReconnectMin = b.drainReconnectMin;
        this.drainReconnectMax = b.drainReconnectMax;
        this.handlerExecutor = b.handlerExecutor;
        this.protocol = b.protocol;
        this.authenticator = b.authenticator;
        this.authenticationTimeout = b.authenticationTimeout;
        this.authorizer = b.authorizer;
        this.metrics = b.metrics;
        this.errorHandler = b.errorHandler;
        this.broker = b.broker;
    }

    /** {@return a builder with every field at its default} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the configuration with every field at its default} */
    public static TetherConfig defaults() {
        return builder().build();
    }

    /** {@return how often the server pings each connection} */
    public Duration heartbeatInterval() { return heartbeatInterval; }
    /** {@return how long after a ping without any inbound frame the connection is declared dead} */
    public Duration heartbeatTimeout() { return heartbeatTimeout; }
    /** {@return how long a new connection has to send its hello} */
    public Duration helloTimeout() { return helloTimeout; }
    /** {@return how long a detached session is kept for a resume} */
    public Duration sessionRetention() { return sessionRetention; }
    /**
     * {@return the number of messages a session's outbound queue holds (rounded up to a power of two)}
     */
    public int outboundQueueCapacity() { return outboundQueueCapacity; }
    /** {@return the queue depth above which volatile messages are dropped} */
    public int volatileQueueLimit() { return volatileQueueLimit; }
    /**
     * {@return the number of unacknowledged reliable messages a session keeps for replay (a power of two)}
     */
    public int replayBufferMessages() { return replayBufferMessages; }
    /** {@return the bytes of unacknowledged reliable messages a session keeps for replay} */
    public long replayBufferBytes() { return replayBufferBytes; }
    /**
     * {@return the largest inbound message accepted} Larger ones close the connection with 1009.
     */
    public int maxMessageBytes() { return maxMessageBytes; }
    /** {@return the number of frames written per drain before yielding the I/O thread} */
    public int drainBatch() { return drainBatch; }
    /** {@return the most client messages the server receives before it acknowledges them} */
    public int ackEvery() { return ackEvery; }
    /** {@return the longest the server waits before it acknowledges client messages} */
    public Duration ackDelay() { return ackDelay; }
    /**
     * {@return the pending callbacks per session above which reading from its connection is suspended}
     */
    public int handlerPendingLimit() { return handlerPendingLimit; }
    /** {@return the resolution of the hub's timer wheel} */
    public Duration timerTick() { return timerTick; }
    /**
     * {@return the sustained inbound frames per second per connection} 0 means unlimited. Beyond
     * the burst: close 4008.
     */
    public int inboundMessagesPerSecond() { return inboundMessagesPerSecond; }
    /** {@return the inbound frames a connection may send at once above the sustained rate} */
    public int inboundBurst() { return inboundBurst; }
    /**
     * {@return the connections admitted at once} More are refused before the upgrade (HTTP 503).
     */
    public int maxConnections() { return maxConnections; }
    /**
     * {@return the handshakes admitted per second, sustained} More wait for their turn, up to
     * {@link #handshakeMaxDelay()}, or are refused before the upgrade (HTTP 503). A token bucket:
     * it refills at this rate and holds at most {@link #handshakeBurst()}.
     */
    public int maxHandshakesPerSecond() { return maxHandshakesPerSecond; }
    /**
     * {@return the handshakes admitted at once after a quiet spell: the token bucket's size} Any
     * interval of {@code t} seconds admits at most
     * {@code handshakeBurst + t * maxHandshakesPerSecond}.
     */
    public int handshakeBurst() { return handshakeBurst; }
    /**
     * {@return the longest a handshake over the handshake rate waits for its turn} The turns
     * are a second's {@link #maxHandshakesPerSecond()} apart; a handshake whose turn would come
     * later is refused with 503 and {@code Retry-After} at once. Zero refuses every handshake over
     * the rate.
     */
    public Duration handshakeMaxDelay() { return handshakeMaxDelay; }
    /** {@return the Retry-After a refused handshake is given} Clients add jitter. */
    public Duration admissionRetryAfter() { return admissionRetryAfter; }
    /**
     * {@return how long {@link Tether#close()} drains} It waits for queued messages to be written
     * and acknowledged, and for Socket.IO transports to close at their delays.
     */
    public Duration drainTimeout() { return drainTimeout; }
    /**
     * {@return the shortest reconnect delay {@link Tether#close()} gives a client} A Socket.IO
     * client's delay is when its transport is closed.
     */
    public Duration drainReconnectMin() { return drainReconnectMin; }
    /**
     * {@return the longest reconnect delay {@link Tether#close()} tells a client} Each gets a
     * uniform random delay in between.
     */
    public Duration drainReconnectMax() { return drainReconnectMax; }
    /**
     * {@return the executor that runs handler callbacks} {@code null} means the hub creates and
     * owns a pool.
     */
    public Executor handlerExecutor() { return handlerExecutor; }
    /** {@return the wire protocol} */
    public Protocol protocol() { return protocol; }
    /** {@return the authenticator of handshakes} */
    public Authenticator authenticator() { return authenticator; }
    /**
     * {@return how long an authentication may take} A handshake waiting for the authenticator is
     * then refused with 503, a Socket.IO CONNECT waiting for its middleware gets a
     * {@code connect_error}, and a token refresh is refused as {@code unavailable} (PROTOCOL.md
     * §12).
     */
    public Duration authenticationTimeout() { return authenticationTimeout; }
    /** {@return the authoriser of a client's own subscribes and publishes} */
    public Authorizer authorizer() { return authorizer; }
    /** {@return the listener of engine events} */
    public MetricsListener metrics() { return metrics; }
    /** {@return the handler of failures with no caller to report to} */
    public ErrorHandler errorHandler() { return errorHandler; }
    /**
     * {@return the cluster broker this hub's node uses, or {@code null}} With {@code null}, the
     * default, sessions, topics and history live in this hub's memory only. See
     * {@link dev.tether.core.spi.Broker}.
     */
    public dev.tether.core.spi.Broker broker() { return broker; }

    /** Builds a {@link TetherConfig}. Not thread-safe. */
    public static final class Builder {
        private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
        private Duration heartbeatTimeout = DEFAULT_HEARTBEAT_TIMEOUT;
        private Duration helloTimeout = DEFAULT_HELLO_TIMEOUT;
        private Duration sessionRetention = DEFAULT_SESSION_RETENTION;
        private int outboundQueueCapacity = DEFAULT_OUTBOUND_QUEUE_CAPACITY;
        private int volatileQueueLimit = DEFAULT_VOLATILE_QUEUE_LIMIT;
        private int replayBufferMessages = DEFAULT_REPLAY_BUFFER_MESSAGES;
        private long replayBufferBytes = DEFAULT_REPLAY_BUFFER_BYTES;
        private int maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
        private int drainBatch = DEFAULT_DRAIN_BATCH;
        private int ackEvery = DEFAULT_ACK_EVERY;
        private Duration ackDelay = DEFAULT_ACK_DELAY;
        private int handlerPendingLimit = DEFAULT_HANDLER_PENDING_LIMIT;
        private Duration timerTick = DEFAULT_TIMER_TICK;
        private int inboundMessagesPerSecond = DEFAULT_INBOUND_MESSAGES_PER_SECOND;
        private int inboundBurst = DEFAULT_INBOUND_BURST;
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private int maxHandshakesPerSecond = DEFAULT_MAX_HANDSHAKES_PER_SECOND;
        /** Null: derived from the rate when built. */
        private Integer handshakeBurst;
        private Duration handshakeMaxDelay = DEFAULT_HANDSHAKE_MAX_DELAY;
        private Duration admissionRetryAfter = DEFAULT_ADMISSION_RETRY_AFTER;
        private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
        private Duration drainReconnectMin = DEFAULT_DRAIN_RECONNECT_MIN;
        private Duration drainReconnectMax = DEFAULT_DRAIN_RECONNECT_MAX;
        private Executor handlerExecutor;
        private Protocol protocol = JsonProtocol.INSTANCE;
        private Authenticator authenticator = Authenticator.ANONYMOUS;
        private Duration authenticationTimeout = DEFAULT_AUTHENTICATION_TIMEOUT;
        private Authorizer authorizer = Authorizer.SERVER_ONLY;
        private MetricsListener metrics = MetricsListener.NO_OP;
        private ErrorHandler errorHandler = ErrorHandler.LOGGING;
        private dev.tether.core.spi.Broker broker;

        private Builder() {
        }

        /**
         * Default 25 s.
         *
         * @param v how often the server pings each connection
         * @return this builder
         */
        public Builder heartbeatInterval(Duration v) { this.heartbeatInterval = v; return this; }
        /**
         * Default 20 s; must not exceed the interval.
         *
         * @param v how long after a ping without any inbound frame a connection is dead
         * @return this builder
         */
        public Builder heartbeatTimeout(Duration v) { this.heartbeatTimeout = v; return this; }
        /**
         * Default 10 s.
         *
         * @param v how long a new connection has to send its hello
         * @return this builder
         */
        public Builder helloTimeout(Duration v) { this.helloTimeout = v; return this; }
        /**
         * Default 2 minutes.
         *
         * @param v how long a detached session is kept for a resume
         * @return this builder
         */
        public Builder sessionRetention(Duration v) { this.sessionRetention = v; return this; }
        /**
         * Default 1024; at least 4.
         *
         * @param v the messages a session's outbound queue holds
         * @return this builder
         */
        public Builder outboundQueueCapacity(int v) { this.outboundQueueCapacity = v; return this; }
        /**
         * Default 512; at most the queue capacity.
         *
         * @param v the queue depth above which volatile messages are dropped
         * @return this builder
         */
        public Builder volatileQueueLimit(int v) { this.volatileQueueLimit = v; return this; }
        /**
         * Default 1024; a power of two, at least 2.
         *
         * @param v the unacknowledged reliable messages a session keeps for replay
         * @return this builder
         */
        public Builder replayBufferMessages(int v) { this.replayBufferMessages = v; return this; }
        /**
         * Default 1 MiB; at least 1024.
         *
         * @param v the bytes of unacknowledged reliable messages a session keeps for replay
         * @return this builder
         */
        public Builder replayBufferBytes(long v) { this.replayBufferBytes = v; return this; }
        /**
         * Default 64 KiB; at least 128.
         *
         * @param v the largest inbound message accepted
         * @return this builder
         */
        public Builder maxMessageBytes(int v) { this.maxMessageBytes = v; return this; }
        /**
         * Default 256; at least 1.
         *
         * @param v the frames written per drain before yielding the I/O thread
         * @return this builder
         */
        public Builder drainBatch(int v) { this.drainBatch = v; return this; }
        /**
         * Default 32; at least 1.
         *
         * @param v the server acknowledges client messages at least every this many
         * @return this builder
         */
        public Builder ackEvery(int v) { this.ackEvery = v; return this; }
        /**
         * Default 200 ms.
         *
         * @param v the longest the server waits before it acknowledges client messages
         * @return this builder
         */
        public Builder ackDelay(Duration v) { this.ackDelay = v; return this; }
        /**
         * Default 64; at least 2.
         *
         * @param v the pending callbacks per session above which reading is suspended
         * @return this builder
         */
        public Builder handlerPendingLimit(int v) { this.handlerPendingLimit = v; return this; }
        /**
         * Default 10 ms; between 1 ms and 1 s.
         *
         * @param v the resolution of the hub's timer wheel
         * @return this builder
         */
        public Builder timerTick(Duration v) { this.timerTick = v; return this; }
        /**
         * Default 1000 messages per second with a burst of 4096; {@code messagesPerSecond} 0 turns
         * the limit off. Keep the burst above the clients' resend window (the Java client's
         * {@code maxUnacked}, default 1024), or a resume that resends it all is closed.
         *
         * @param messagesPerSecond the sustained inbound frames per second per connection, 0 for no limit
         * @param burst the frames a connection may send at once above that rate
         * @return this builder
         */
        public Builder inboundRateLimit(int messagesPerSecond, int burst) {
            this.inboundMessagesPerSecond = messagesPerSecond;
            this.inboundBurst = burst;
            return this;
        }
        /**
         * Default 100,000; at least 1.
         *
         * @param v the connections admitted at once
         * @return this builder
         */
        public Builder maxConnections(int v) { this.maxConnections = v; return this; }
        /**
         * Default 5,000; at least 1. See {@link #handshakeBurst(int)} for how bursts are admitted.
         *
         * @param v the handshakes admitted per second, sustained
         * @return this builder
         */
        public Builder maxHandshakesPerSecond(int v) { this.maxHandshakesPerSecond = v; return this; }
        /**
         * Default a quarter of {@code maxHandshakesPerSecond} (1,250 at the default rate), at least
         * 1; between 1 and {@code maxHandshakesPerSecond}, so that no second admits more than
         * twice the rate. The burst absorbs arrivals that bunch up (a reconnect storm's first
         * jittered wave, a pause of the server); beyond it handshakes are admitted at the rate,
         * waiting for their turn up to {@link #handshakeMaxDelay(Duration)}, and the rest get 503
         * with {@code Retry-After: 1}, to come back with jitter.
         *
         * @param v the handshakes admitted at once after a quiet spell
         * @return this builder
         */
        public Builder handshakeBurst(int v) { this.handshakeBurst = v; return this; }
        /**
         * Default 1 s; zero to 10 s. A handshake that arrives when the bucket of
         * {@link #maxHandshakesPerSecond(int)} is empty is given the next free turn (turns are
         * {@code 1 / maxHandshakesPerSecond} apart) and waits for it, holding its connection slot
         * but no thread and no CPU, if the turn comes within this delay; otherwise it gets 503 at
         * once. A reconnect storm's clients then get in as fast as the rate allows rather than
         * after a refusal and their backoff (seconds, with socket.io-client's defaults), while the
         * server still does no more handshakes a second than the rate; as NGINX's
         * {@code limit_req} does with a {@code burst}. At most {@code maxHandshakesPerSecond *
         * handshakeMaxDelay} handshakes wait at once (5,000 by default).
         *
         * @param v the longest a handshake waits for its turn
         * @return this builder
         */
        public Builder handshakeMaxDelay(Duration v) { this.handshakeMaxDelay = v; return this; }
        /**
         * Default 2 s; whole seconds, at least 1 s.
         *
         * @param v the Retry-After a refused handshake is given
         * @return this builder
         */
        public Builder admissionRetryAfter(Duration v) { this.admissionRetryAfter = v; return this; }
        /**
         * Default 10 s; zero closes at once. Keep it at least {@code drainReconnectWindow}'s
         * maximum when Socket.IO clients connect: their closes are spread over that window, and
         * what is still open at the timeout is closed at once.
         *
         * @param v how long {@link Tether#close()} drains
         * @return this builder
         */
        public Builder drainTimeout(Duration v) { this.drainTimeout = v; return this; }
        /**
         * Default 1 s to 10 s; {@code min} at most {@code max}. Each client gets a uniform random
         * delay in it: a native client as its {@code reconnect} frame's delay, a Socket.IO client
         * as the time its transport is closed.
         *
         * @param min the shortest delay
         * @param max the longest delay
         * @return this builder
         */
        public Builder drainReconnectWindow(Duration min, Duration max) {
            this.drainReconnectMin = min;
            this.drainReconnectMax = max;
            return this;
        }
        /**
         * Default: a pool the hub creates (2 threads per core, at least 4) and shuts down on close.
         * {@code Runnable::run} runs callbacks on the connection's I/O thread: one thread hand-off
         * less per message (about half the server CPU per echoed message in the short echo
         * benchmark), for handlers that never block; a blocking one would stall every connection
         * on that thread.
         *
         * @param v runs handler callbacks, or {@code null} for a pool of the hub's own
         * @return this builder
         */
        public Builder handlerExecutor(Executor v) { this.handlerExecutor = v; return this; }
        /**
         * Default: the native JSON protocol of PROTOCOL.md.
         *
         * @param v the wire protocol
         * @return this builder
         */
        public Builder protocol(Protocol v) { this.protocol = v; return this; }
        /**
         * Default: {@link Authenticator#ANONYMOUS}.
         *
         * @param v authenticates handshakes
         * @return this builder
         */
        public Builder authenticator(Authenticator v) { this.authenticator = v; return this; }
        /**
         * Default 5 s; positive. How long a handshake waits for the {@link Authenticator}'s answer
         * before it is refused with 503 and {@code Retry-After}, a Socket.IO CONNECT for its
         * namespace's middleware before it gets a {@code connect_error}, and a fresh token sent
         * inside a live session for {@link Authenticator#refresh} before it is refused as
         * {@code unavailable} (the connection stays; see PROTOCOL.md §12).
         *
         * @param v how long an authentication may take
         * @return this builder
         */
        public Builder authenticationTimeout(Duration v) { this.authenticationTimeout = v; return this; }
        /**
         * Default: {@link Authorizer#SERVER_ONLY}, clients may neither subscribe nor publish (the
         * application's own {@link Session#subscribe} and {@link Tether#publish} are not
         * affected). {@link Authorizer#allowAll()} lets any client read and write any topic.
         *
         * @param v authorises a client's own subscribes and publishes
         * @return this builder
         */
        public Builder authorizer(Authorizer v) { this.authorizer = v; return this; }
        /**
         * Default: {@link MetricsListener#NO_OP}.
         *
         * @param v receives engine events
         * @return this builder
         */
        public Builder metrics(MetricsListener v) { this.metrics = v; return this; }
        /**
         * Default: {@link ErrorHandler#LOGGING}.
         *
         * @param v receives failures with no caller to report to
         * @return this builder
         */
        public Builder errorHandler(ErrorHandler v) { this.errorHandler = v; return this; }
        /**
         * Joins a cluster through {@code v} (one broker instance per hub; the hub starts and
         * closes it). Default {@code null}: a single node with everything in memory.
         *
         * @param v the cluster broker, or {@code null} for a single node
         * @return this builder
         */
        public Builder broker(dev.tether.core.spi.Broker v) { this.broker = v; return this; }

        /**
         * Validates and builds.
         *
         * @return the configuration
         * @throws IllegalArgumentException naming the first invalid field
         * @throws NullPointerException naming the first missing field
         */
        public TetherConfig build() {
            positive("heartbeatInterval", heartbeatInterval);
            positive("heartbeatTimeout", heartbeatTimeout);
            if (heartbeatTimeout.compareTo(heartbeatInterval) > 0) {
                throw new IllegalArgumentException("heartbeatTimeout must not exceed heartbeatInterval");
            }
            positive("helloTimeout", helloTimeout);
            positive("sessionRetention", sessionRetention);
            positive("ackDelay", ackDelay);
            positive("timerTick", timerTick);
            if (timerTick.compareTo(Duration.ofMillis(1)) < 0 || timerTick.compareTo(Duration.ofSeconds(1)) > 0) {
                throw new IllegalArgumentException("timerTick must be between 1 ms and 1 s: " + timerTick);
            }
            atLeast("outboundQueueCapacity", outboundQueueCapacity, 4);
            atLeast("volatileQueueLimit", volatileQueueLimit, 0);
            if (volatileQueueLimit > outboundQueueCapacity) {
                throw new IllegalArgumentException("volatileQueueLimit must not exceed outboundQueueCapacity");
            }
            atLeast("replayBufferMessages", replayBufferMessages, 2);
            if (Integer.bitCount(replayBufferMessages) != 1) {
                throw new IllegalArgumentException("replayBufferMessages must be a power of two: " + replayBufferMessages);
            }
            if (replayBufferBytes < 1024) {
                throw new IllegalArgumentException("replayBufferBytes must be at least 1024: " + replayBufferBytes);
            }
            atLeast("maxMessageBytes", maxMessageBytes, 128);
            atLeast("drainBatch", drainBatch, 1);
            atLeast("ackEvery", ackEvery, 1);
            atLeast("handlerPendingLimit", handlerPendingLimit, 2);
            atLeast("inboundMessagesPerSecond", inboundMessagesPerSecond, 0);
            atLeast("inboundBurst", inboundBurst, 1);
            atLeast("maxConnections", maxConnections, 1);
            atLeast("maxHandshakesPerSecond", maxHandshakesPerSecond, 1);
            if (handshakeBurst != null) {
                atLeast("handshakeBurst", handshakeBurst, 1);
            }
            if (handshakeBurst != null && handshakeBurst > maxHandshakesPerSecond) {
                throw new IllegalArgumentException("handshakeBurst must not exceed maxHandshakesPerSecond: "
                        + handshakeBurst + " > " + maxHandshakesPerSecond);
            }
            Objects.requireNonNull(handshakeMaxDelay, "handshakeMaxDelay");
            if (handshakeMaxDelay.isNegative() || handshakeMaxDelay.compareTo(MAX_HANDSHAKE_MAX_DELAY) > 0) {
                throw new IllegalArgumentException("handshakeMaxDelay must be between 0 and "
                        + MAX_HANDSHAKE_MAX_DELAY.toSeconds() + " s: " + handshakeMaxDelay);
            }
            Objects.requireNonNull(admissionRetryAfter, "admissionRetryAfter");
            if (admissionRetryAfter.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("admissionRetryAfter must be at least 1 s: " + admissionRetryAfter);
            }
            Objects.requireNonNull(drainTimeout, "drainTimeout");
            if (drainTimeout.isNegative()) {
                throw new IllegalArgumentException("drainTimeout must not be negative: " + drainTimeout);
            }
            Objects.requireNonNull(drainReconnectMin, "drainReconnectMin");
            Objects.requireNonNull(drainReconnectMax, "drainReconnectMax");
            if (drainReconnectMin.isNegative() || drainReconnectMin.compareTo(drainReconnectMax) > 0) {
                throw new IllegalArgumentException("drainReconnectMin must be between 0 and drainReconnectMax: "
                        + drainReconnectMin + " > " + drainReconnectMax);
            }
            Objects.requireNonNull(protocol, "protocol");
            Objects.requireNonNull(authenticator, "authenticator");
            positive("authenticationTimeout", authenticationTimeout);
            Objects.requireNonNull(authorizer, "authorizer");
            Objects.requireNonNull(metrics, "metrics");
            Objects.requireNonNull(errorHandler, "errorHandler");
            return new TetherConfig(this);
        }

        private static void positive(String name, Duration value) {
            Objects.requireNonNull(value, name);
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(name + " must be positive: " + value);
            }
        }

        private static void atLeast(String name, long value, long min) {
            if (value < min) {
                throw new IllegalArgumentException(name + " must be at least " + min + ": " + value);
            }
        }
    }
}
