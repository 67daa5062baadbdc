package dev.tether.redis;

import dev.tether.core.spi.Broker;
import dev.tether.core.spi.BrokerException;
import dev.tether.core.spi.BrokerListener;
import dev.tether.core.spi.BrokerMessage;
import dev.tether.core.spi.Claim;
import dev.tether.core.spi.Feed;
import dev.tether.core.spi.SessionRecord;
import dev.tether.redis.internal.Delivery;
import dev.tether.redis.internal.Marker;
import dev.tether.redis.internal.Script;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KillArgs;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.RedisClient;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link Broker} on one Redis (7.0 or newer): every node of a Tether cluster gets its own
 * {@code RedisBroker} with the same {@link RedisBrokerConfig#uri() URI} and
 * {@link RedisBrokerConfig#keyPrefix() key prefix}.
 *
 * <p>Threading: every method returns at once and never blocks its caller except
 * {@link #close()}, which waits a bounded time (about the command timeout) to leave the
 * cluster cleanly. Returned futures complete on Lettuce's event-loop threads, so their
 * dependants must hand work off rather than block. The {@link BrokerListener} is called on one
 * thread of this broker, {@code tether-redis-delivery-<nodeId>}, in position order; no Lettuce
 * or Netty thread ever calls it.
 *
 * <h2>How it uses Redis</h2>
 * Every operation is one Lua script ({@code EVALSHA}, or {@code EVAL} after a Redis restart
 * forgot the scripts), so each is atomic. One counter gives every reliable entry and every
 * subscription or ownership change its position. Each node subscribes to one channel of its
 * own; scripts {@code PUBLISH} to the channels of the nodes concerned, and since Redis
 * delivers a connection's messages in execution order, each node sees its entries and markers
 * in position order. Topic history is a Redis stream per topic (trimmed to
 * {@link RedisBrokerConfig#topicMaxLength()}, expiring after
 * {@link RedisBrokerConfig#historyTtl()}); direct messages are a stream per session, trimmed
 * by checkpoints. An epoch key names Redis's history: when it changes (Redis lost its data)
 * the listener hears {@link BrokerListener#onReset()}.
 *
 * <h2>Failures</h2>
 * Redis unreachable: futures fail with {@link BrokerException#UNAVAILABLE} within the command
 * timeout (at once while disconnected); more than {@link RedisBrokerConfig#maxPendingCommands()}
 * commands waiting: {@link BrokerException#OVERLOADED}. Nothing is buffered without bound.
 * After the pub/sub connection reconnects (Lettuce reconnects and re-subscribes by itself), or
 * when it stops hearing its own heartbeat pings, the listener hears
 * {@link BrokerListener#onInterrupted()}.
 *
 * <p>Not supported yet: Redis Cluster, and sharding over several Redis instances.
 *
 * @since 0.1.0
 */
public final class RedisBroker implements Broker {

    private static final System.Logger LOG = System.getLogger(RedisBroker.class.getName());

    private static final byte[][] NO_KEYS = new byte[0][];
    private static final byte[] ONE = bytes("1");
    private static final byte[] ZERO = bytes("0");
    private static final byte[] MAX = bytes("max");
    private static final int MAX_READ_ENTRIES = 10_000;
    private static final int TOUCH_BATCH = 1_000;
    private static final int MAX_PUBLISH_CALLS = 16;

    private static final Script PUBLISH = Script.load("publish");
    private static final Script CREATE = Script.load("create");
    private static final Script CLAIM = Script.load("claim");
    private static final Script SUBSCRIBE = Script.load("subscribe");
    private static final Script UNSUBSCRIBE = Script.load("unsubscribe");
    private static final Script SEND = Script.load("send");
    private static final Script CHECKPOINT = Script.load("checkpoint");
    private static final Script COMMIT = Script.load("commit");
    private static final byte[] PUBLISH_EFFECT = {'P'};
    private static final byte[] SEND_EFFECT = {'S'};
    private static final byte[] SUBSCRIBE_EFFECT = {'U'};
    private static final byte[] UNSUBSCRIBE_EFFECT = {'N'};
    private static final Script TOUCH = Script.load("touch");
    private static final Script END = Script.load("end");
    private static final Script READ = Script.load("read");
    private static final Script HEARTBEAT = Script.load("heartbeat");
    private static final Script LEAVE = Script.load("leave");
    private static final Script REATTACH = Script.load("reattach");
    private static final Script PRESENCE = Script.load("presence");
    private static final Script CONNECTIONS = Script.load("connections");
    private static final Script WATCH = Script.load("watch");
    private static final Script EXPIRE = Script.load("expire");
    private static final List<Script> SCRIPTS = List.of(PUBLISH, CREATE, CLAIM, SUBSCRIBE, UNSUBSCRIBE, SEND,
            CHECKPOINT, TOUCH, END, READ, HEARTBEAT, LEAVE, REATTACH, PRESENCE, CONNECTIONS, WATCH, EXPIRE);

    private final RedisBrokerConfig config;
    private final String nodeId;
    private final byte[] me;
    private final byte[] prefix;
    private final long commandTimeoutMs;
    private final long heartbeatIntervalMs;
    private final long nodeTimeoutMs;

    /** Sessions this node owns, as the markers on its channel said: attached ones are kept alive. */
    private final ConcurrentHashMap<String, Owned> owned = new ConcurrentHashMap<>();
    /** Topics whose presence this node watches: registered again when Redis forgot them. */
    private final Set<String> watched = ConcurrentHashMap.newKeySet();
    /** A watch could not be registered: the next successful heartbeat registers them all again. */
    private volatile boolean rewatchWanted;
    private final ConcurrentLinkedQueue<PendingPublish> publishQueue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger publishQueued = new AtomicInteger();
    private final Object publishLock = new Object();
    private int publishCalls; // guarded by publishLock
    private final Object connectLock = new Object();
    private final java.util.ArrayDeque<Waiting> waiting = new java.util.ArrayDeque<>(); // guarded by connectLock
    /** Script calls sent and not yet answered (or timed out); bounded by maxPendingCommands. */
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean subscribedOnce = new AtomicBoolean();
    private final AtomicBoolean started = new AtomicBoolean();

    private volatile Broker.Node node;
    private volatile BrokerListener listener;
    private volatile boolean closed;
    private volatile ClientResources resources;
    private volatile RedisClient client;
    private volatile StatefulRedisPubSubConnection<byte[], byte[]> pubsub;
    private volatile RedisAsyncCommands<byte[], byte[]> commands;
    private volatile Delivery delivery;
    private volatile ScheduledThreadPoolExecutor timer;
    private volatile boolean firstBeat = true;
    private volatile String lastBeatEpoch;
    private volatile long lastPingNanos;
    private volatile long lastBeatOkNanos;
    private volatile long refreshIntervalMs;

    /** A reattach after a sweep is under way. */
    private final AtomicBoolean reattaching = new AtomicBoolean();
    /** The epoch this node knows; written only on the delivery thread. */
    private volatile String epoch;
    /** Epochs this node has left behind; delivery thread only. */
    private final Set<String> retiredEpochs = new HashSet<>();

    /** A session this node owns: the position of its claim, and whether it is attached. */
    private record Owned(long claimedAt, boolean attached) { }

    private record PendingPublish(byte[] topic, boolean reliable, byte[] message, CompletableFuture<Void> future) { }

    /**
     * A broker with {@code config}; nothing connects before {@link #start}.
     *
     * @param config its configuration
     */
    public RedisBroker(RedisBrokerConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        byte[] id = new byte[9];
        new SecureRandom().nextBytes(id);
        this.nodeId = Base64.getUrlEncoder().withoutPadding().encodeToString(id);
        this.me = bytes(nodeId);
        this.prefix = bytes(config.keyPrefix());
        this.commandTimeoutMs = config.commandTimeout().toMillis();
        this.heartbeatIntervalMs = config.heartbeatInterval().toMillis();
        this.nodeTimeoutMs = config.nodeTimeout().toMillis();
    }

    /** {@return this broker's configuration} */
    public RedisBrokerConfig config() {
        return config;
    }

    /**
     * Starts connecting to Redis and returns at once; operations called before the connection
     * is up wait for it (within the command timeout). If Redis cannot be reached, the broker
     * keeps trying every heartbeat interval and operations fail as {@code unavailable}.
     *
     * @throws IllegalStateException if called twice
     */
    @Override
    public void start(Broker.Node node) {
        Objects.requireNonNull(node, "node");
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("RedisBroker " + nodeId + " already started");
        }
        this.node = node;
        this.listener = node.listener();
        long retention = node.sessionRetentionMs();
        this.refreshIntervalMs = Math.max(50, Math.min(retention / 3, 60_000));
        this.delivery = new Delivery("tether-redis-delivery-" + nodeId, config.deliveryQueueCapacity(),
                this::deliver, this::interrupted);
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "tether-redis-timer-" + nodeId);
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        this.timer = t;
        this.resources = DefaultClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2).build();
        RedisClient c = RedisClient.create(resources);
        c.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                // Twice our own bound: room for commands that timed out here but that Redis has yet
                // to answer, which Lettuce keeps until it does.
                .requestQueueSize(2 * config.maxPendingCommands())
                .timeoutOptions(TimeoutOptions.enabled(config.commandTimeout()))
                .socketOptions(SocketOptions.builder().connectTimeout(config.commandTimeout()).keepAlive(true).build())
                .build());
        c.addListener(new ConnectionLog());
        this.client = c;
        LOG.log(System.Logger.Level.INFO, "node {0} joining the cluster on {1}", nodeId, config.redactedUri());
        connect();
        t.scheduleWithFixedDelay(this::beat, heartbeatIntervalMs, heartbeatIntervalMs, TimeUnit.MILLISECONDS);
        t.scheduleWithFixedDelay(this::refresh, refreshIntervalMs, refreshIntervalMs, TimeUnit.MILLISECONDS);
    }

    private RedisURI redisUri(String clientName) {
        RedisURI uri = RedisURI.create(config.uri());
        uri.setTimeout(config.commandTimeout());
        uri.setClientName(clientName);
        return uri;
    }

    private void connect() {
        RedisClient c = client;
        CompletableFuture<StatefulRedisConnection<byte[], byte[]>> cf =
                c.connectAsync(ByteArrayCodec.INSTANCE, redisUri("tether-" + nodeId)).toCompletableFuture();
        CompletableFuture<StatefulRedisPubSubConnection<byte[], byte[]>> pf =
                c.connectPubSubAsync(ByteArrayCodec.INSTANCE, redisUri(subscriberName())).toCompletableFuture();
        cf.thenCombine(pf, (conn, sub) -> {
            if (closed) {
                conn.closeAsync();
                sub.closeAsync();
                return null;
            }
            pubsub = sub;
            sub.addListener(new Subscriber());
            RedisAsyncCommands<byte[], byte[]> cmd = conn.async();
            for (Script s : SCRIPTS) {
                cmd.scriptLoad(s.body()); // best effort: EVALSHA falls back to EVAL
            }
            lastPingNanos = System.nanoTime();
            return sub.async().subscribe(channel(nodeId)).toCompletableFuture().thenRun(() -> {
                // Only now: what a script publishes to this node from here on reaches it.
                connected(cmd);
                beat();
            });
        }).thenCompose(f -> f == null ? CompletableFuture.completedFuture(null) : f).whenComplete((v, t) -> {
            if (t == null) {
                return;
            }
            cf.thenAccept(StatefulRedisConnection::closeAsync);
            pf.thenAccept(StatefulRedisPubSubConnection::closeAsync);
            LOG.log(System.Logger.Level.WARNING, "node {0} cannot reach Redis at {1} ({2}); retrying every {3} ms",
                    nodeId, config.redactedUri(), rootMessage(t), heartbeatIntervalMs);
            failWaiting(unavailable(t));
            ScheduledThreadPoolExecutor tm = timer;
            if (!closed && tm != null) {
                try {
                    tm.schedule(this::connect, heartbeatIntervalMs, TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.RejectedExecutionException shutDown) {
                    // closing
                }
            }
        });
    }

    private String subscriberName() {
        return "tether-" + nodeId + "-sub";
    }

    private byte[] channel(String node) {
        return bytes(config.keyPrefix() + "node:" + node);
    }

    @Override
    public String nodeId() {
        return nodeId;
    }

    @Override
    public long nodeTimeoutMs() {
        return nodeTimeoutMs;
    }

    // ---------------------------------------------------------------- publish, batched

    @Override
    public CompletableFuture<Void> publish(String topic, BrokerMessage message) {
        Objects.requireNonNull(topic, "topic");
        Objects.requireNonNull(message, "message");
        if (closed) {
            return CompletableFuture.failedFuture(closedException());
        }
        if (publishQueued.incrementAndGet() > config.maxPendingCommands()) {
            publishQueued.decrementAndGet();
            return CompletableFuture.failedFuture(new BrokerException(BrokerException.OVERLOADED,
                    "too many publishes waiting for Redis (" + config.maxPendingCommands() + ")"));
        }
        PendingPublish p = new PendingPublish(bytes(topic), message.reliable(), message.toBytes(), new CompletableFuture<>());
        publishQueue.offer(p);
        drainPublishes();
        return p.future();
    }

    /**
     * Sends what is queued, in queue order, as script calls of up to
     * {@link RedisBrokerConfig#publishBatchSize()} publishes with at most
     * {@value #MAX_PUBLISH_CALLS} calls in flight: publishes that queue up while the calls are
     * out go together in the next. Dispatch holds a lock so that calls leave in queue order
     * (Lettuce then keeps that order on the one connection); the lock is never held across I/O.
     */
    private void drainPublishes() {
        synchronized (publishLock) {
            while (publishCalls < MAX_PUBLISH_CALLS && !publishQueue.isEmpty()) {
                List<PendingPublish> batch = new ArrayList<>();
                PendingPublish p;
                while (batch.size() < config.publishBatchSize() && (p = publishQueue.poll()) != null) {
                    batch.add(p);
                }
                publishQueued.addAndGet(-batch.size());
                byte[][] args = new byte[3 + batch.size() * 3][];
                args[0] = bytes(config.topicMaxLength());
                args[1] = bytes(config.historyTtl().toMillis());
                args[2] = bytes(config.metaTtl().toMillis());
                int i = 3;
                for (PendingPublish b : batch) {
                    args[i++] = b.topic();
                    args[i++] = b.reliable() ? ONE : ZERO;
                    args[i++] = b.message();
                }
                publishCalls++;
                run(PUBLISH, args).whenComplete((r, t) -> published(batch, t));
            }
        }
    }

    private void published(List<PendingPublish> batch, Throwable t) {
        Throwable failure = t == null ? null : unwrap(t);
        for (PendingPublish b : batch) {
            if (failure == null) {
                b.future().complete(null);
            } else {
                b.future().completeExceptionally(failure);
            }
        }
        if (failure instanceof BrokerException e && BrokerException.UNAVAILABLE.equals(e.code())) {
            // Redis does not answer: what waits behind this call would only time out later.
            PendingPublish p;
            while ((p = publishQueue.poll()) != null) {
                publishQueued.decrementAndGet();
                p.future().completeExceptionally(failure);
            }
        }
        synchronized (publishLock) {
            publishCalls--;
        }
        drainPublishes();
    }

    // ---------------------------------------------------------------- sessions

    @Override
    public CompletableFuture<Void> send(String sessionId, BrokerMessage message) {
        Objects.requireNonNull(sessionId, "sessionId");
        Objects.requireNonNull(message, "message");
        return run(SEND, bytes(sessionId), message.reliable() ? ONE : ZERO, message.toBytes(), bytes(config.topicMaxLength()))
                .thenApply(r -> {
                    requireSession(r, sessionId);
                    return null;
                });
    }

    @Override
    public CompletableFuture<Long> create(SessionRecord record) {
        Objects.requireNonNull(record, "record");
        List<byte[]> args = new ArrayList<>();
        args.add(me);
        args.add(bytes(record.sessionId()));
        args.add(bytes(record.principal()));
        args.add(record.tokenHash());
        args.add(bytes(record.protocol()));
        args.add(bytes(attachedTtlMs()));
        args.add(bytes(record.checkpointSeq()));
        args.add(bytes(record.clientSeq()));
        for (SessionRecord.Subscription s : record.subscriptions()) {
            args.add(bytes(s.topic()));
            args.add(bytes(s.from()));
            args.add(s.current() ? MAX : bytes(s.to()));
        }
        return run(CREATE, args.toArray(new byte[0][])).thenApply(r -> (Long) r.get(1));
    }

    @Override
    public CompletableFuture<Claim> claim(String sessionId, byte[] tokenHash, long attempt) {
        Objects.requireNonNull(sessionId, "sessionId");
        Objects.requireNonNull(tokenHash, "tokenHash");
        return run(CLAIM, me, bytes(sessionId), tokenHash.clone(), bytes(attachedTtlMs()), bytes(attempt)).thenApply(r -> {
            int status = ((Long) r.get(1)).intValue();
            return switch (status) {
                case 0 -> Claim.claimed(record(sessionId, list(r.get(3))), (Long) r.get(2));
                case 1 -> Claim.missing();
                case 2 -> Claim.ended();
                case 3 -> Claim.forbidden();
                case 4 -> Claim.stale();
                default -> throw new BrokerException(BrokerException.INTERNAL, "claim script answered " + status);
            };
        });
    }

    private static SessionRecord record(String sessionId, List<Object> flat) {
        String principal = "";
        byte[] tokenHash = new byte[0];
        String protocol = "";
        long seq = 0;
        long position = 0;
        long clientSeq = 0;
        List<SessionRecord.Subscription> subs = new ArrayList<>();
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            byte[] f = (byte[]) flat.get(i);
            byte[] v = (byte[]) flat.get(i + 1);
            String name = string(f);
            if (name.startsWith("s\0")) {
                subs.add(new SessionRecord.Subscription(name.substring(2), Long.parseLong(string(v)), Long.MAX_VALUE));
            } else if (name.startsWith("u\0")) {
                int sep = name.indexOf('\0', 2);
                subs.add(new SessionRecord.Subscription(name.substring(sep + 1),
                        Long.parseLong(name.substring(2, sep)), Long.parseLong(string(v))));
            } else {
                switch (name) {
                    case "pr" -> principal = string(v);
                    case "th" -> tokenHash = v;
                    case "pc" -> protocol = string(v);
                    case "cs" -> seq = Long.parseLong(string(v));
                    case "cp" -> position = Long.parseLong(string(v));
                    case "ci" -> clientSeq = Long.parseLong(string(v));
                    default -> { } // owner, epoch, flags: not part of the record
                }
            }
        }
        subs.sort(Comparator.comparingLong(SessionRecord.Subscription::from));
        return new SessionRecord(sessionId, principal, tokenHash, protocol, subs, seq, position, clientSeq);
    }

    @Override
    public CompletableFuture<Feed> read(SessionRecord record, long after, long upTo) {
        Objects.requireNonNull(record, "record");
        if (upTo <= after) {
            return CompletableFuture.completedFuture(Feed.of(List.of()));
        }
        List<byte[]> args = new ArrayList<>();
        args.add(bytes(record.sessionId()));
        args.add(bytes(after));
        args.add(bytes(upTo));
        String known = epoch;
        args.add(bytes(known == null ? "" : known));
        args.add(bytes(MAX_READ_ENTRIES));
        for (SessionRecord.Subscription s : record.subscriptions()) {
            args.add(bytes(s.topic()));
            args.add(bytes(s.from()));
            args.add(s.current() ? MAX : bytes(s.to()));
        }
        return run(READ, args.toArray(new byte[0][])).thenApply(RedisBroker::feed);
    }

    private static Feed feed(List<Object> r) {
        String reason = string((byte[]) r.get(1));
        if (!reason.isEmpty()) {
            return Feed.incomplete(reason);
        }
        List<Feed.Entry> entries = new ArrayList<>();
        int i = 2;
        while (i < r.size()) {
            String source = string((byte[]) r.get(i));
            String topic = source.charAt(0) == 't' ? source.substring(1) : null;
            int count = ((Long) r.get(i + 1)).intValue();
            i += 2;
            for (int k = 0; k < count; k++, i += 2) {
                String id = string((byte[]) r.get(i));
                long position = Long.parseLong(id.substring(0, id.indexOf('-')));
                entries.add(new Feed.Entry(position, topic, BrokerMessage.fromBytes((byte[]) r.get(i + 1))));
            }
        }
        entries.sort(Comparator.comparingLong(Feed.Entry::position));
        return Feed.of(entries);
    }

    @Override
    public CompletableFuture<Long> subscribe(String sessionId, String topic) {
        return changeSubscription(SUBSCRIBE, sessionId, topic);
    }

    @Override
    public CompletableFuture<Long> unsubscribe(String sessionId, String topic) {
        return changeSubscription(UNSUBSCRIBE, sessionId, topic);
    }

    private CompletableFuture<Long> changeSubscription(Script script, String sessionId, String topic) {
        Objects.requireNonNull(sessionId, "sessionId");
        Objects.requireNonNull(topic, "topic");
        return run(script, bytes(sessionId), bytes(topic)).thenApply(r -> {
            requireSession(r, sessionId);
            return (Long) r.get(2);
        });
    }

    @Override
    public CompletableFuture<Void> commit(String sessionId, long clientSeq, List<Broker.Effect> effects) {
        Objects.requireNonNull(sessionId, "sessionId");
        byte[][] args = new byte[6 + effects.size() * 3][];
        args[0] = bytes(config.topicMaxLength());
        args[1] = bytes(config.historyTtl().toMillis());
        args[2] = bytes(config.metaTtl().toMillis());
        args[3] = bytes(sessionId);
        args[4] = bytes(clientSeq);
        args[5] = me;
        int i = 6;
        for (Broker.Effect e : effects) {
            switch (e.kind()) {
                case PUBLISH -> {
                    args[i++] = PUBLISH_EFFECT;
                    args[i++] = bytes(e.topic());
                    args[i++] = e.message().toBytes();
                }
                case SEND -> {
                    args[i++] = SEND_EFFECT;
                    args[i++] = bytes(e.sessionId());
                    args[i++] = e.message().toBytes();
                }
                case SUBSCRIBE, UNSUBSCRIBE -> {
                    args[i++] = e.kind() == Broker.Effect.Kind.SUBSCRIBE ? SUBSCRIBE_EFFECT : UNSUBSCRIBE_EFFECT;
                    args[i++] = bytes(e.topic());
                    args[i++] = bytes(e.sessionId());
                }
            }
        }
        return run(COMMIT, args).thenApply(r -> {
            if ((Long) r.get(1) == 2) {
                throw new BrokerException(BrokerException.NOT_OWNER, "session " + sessionId + " is owned by another node");
            }
            requireSession(r, sessionId);
            return null;
        });
    }

    @Override
    public CompletableFuture<Void> checkpoint(String sessionId, long seq, long position, long clientSeq) {
        return checkpoints(List.of(new Broker.Checkpoint(sessionId, seq, position, clientSeq))).thenApply(known -> {
            if (!known.get(0)) {
                throw new CompletionException(new BrokerException(BrokerException.NO_SESSION, "no session " + sessionId));
            }
            return null;
        });
    }

    /** One script call for the whole batch (checkpoint.lua loops over it). */
    @Override
    public CompletableFuture<List<Boolean>> checkpoints(List<Broker.Checkpoint> batch) {
        byte[][] args = new byte[1 + batch.size() * 4][];
        args[0] = me;
        int i = 1;
        for (Broker.Checkpoint c : batch) {
            args[i++] = bytes(c.sessionId());
            args[i++] = bytes(c.seq());
            args[i++] = bytes(c.position());
            args[i++] = bytes(c.clientSeq());
        }
        return run(CHECKPOINT, args).thenApply(r -> {
            List<Boolean> known = new ArrayList<>(batch.size());
            for (int k = 1; k < r.size(); k++) {
                known.add((Long) r.get(k) == 0);
            }
            return known;
        });
    }

    @Override
    public CompletableFuture<Void> detach(String sessionId) {
        Objects.requireNonNull(sessionId, "sessionId");
        owned.computeIfPresent(sessionId, (k, o) -> new Owned(o.claimedAt(), false));
        // The retention plus one refresh interval: while this node lives, its expire() at the
        // retention ends the record and its presence, before Redis could drop the record unseen.
        return run(TOUCH, me, bytes(attachedTtlMs()), bytes(sessionId)).thenApply(r -> null);
    }

    @Override
    public CompletableFuture<Void> expire(String sessionId) {
        Objects.requireNonNull(sessionId, "sessionId");
        owned.remove(sessionId);
        return run(EXPIRE, me, bytes(sessionId)).thenApply(r -> null);
    }

    @Override
    public CompletableFuture<Void> end(String sessionId) {
        Objects.requireNonNull(sessionId, "sessionId");
        owned.remove(sessionId);
        return run(END, bytes(sessionId), bytes(node().sessionRetentionMs())).thenApply(r -> null);
    }

    @Override
    public CompletableFuture<Map<String, String>> presence(String topic) {
        Objects.requireNonNull(topic, "topic");
        return run(PRESENCE, bytes(topic)).thenApply(r -> {
            Map<String, String> present = new LinkedHashMap<>();
            for (int i = 1; i + 1 < r.size(); i += 2) {
                present.put(string((byte[]) r.get(i)), string((byte[]) r.get(i + 1)));
            }
            return present;
        });
    }

    @Override
    public CompletableFuture<Void> watchPresence(String topic) {
        Objects.requireNonNull(topic, "topic");
        watched.add(topic);
        return run(WATCH, me, ONE, bytes(topic)).whenComplete((r, t) -> {
            if (t != null) {
                rewatchWanted = true;
            }
        }).thenApply(r -> null);
    }

    @Override
    public CompletableFuture<Void> unwatchPresence(String topic) {
        Objects.requireNonNull(topic, "topic");
        watched.remove(topic);
        return run(WATCH, me, ZERO, bytes(topic)).thenApply(r -> null);
    }

    /** Registers every watched topic again, after Redis forgot them (this node swept, or a reset). */
    private CompletableFuture<Void> rewatch() {
        List<String> topics = new ArrayList<>(watched);
        List<CompletableFuture<List<Object>>> calls = new ArrayList<>();
        for (int i = 0; i < topics.size(); i += TOUCH_BATCH) {
            List<String> part = topics.subList(i, Math.min(topics.size(), i + TOUCH_BATCH));
            byte[][] args = new byte[part.size() + 2][];
            args[0] = me;
            args[1] = ONE;
            for (int k = 0; k < part.size(); k++) {
                args[k + 2] = bytes(part.get(k));
            }
            calls.add(run(WATCH, args));
        }
        return CompletableFuture.allOf(calls.toArray(new CompletableFuture<?>[0])).whenComplete((v, t) -> {
            if (t != null) {
                rewatchWanted = true;
            }
        });
    }

    @Override
    public CompletableFuture<Long> clusterConnections() {
        return run(CONNECTIONS).thenApply(r -> (Long) r.get(1));
    }

    private static void requireSession(List<Object> r, String sessionId) {
        if ((Long) r.get(1) != 0) {
            throw new BrokerException(BrokerException.NO_SESSION, "no session " + sessionId);
        }
    }

    private Broker.Node node() {
        Broker.Node n = node;
        if (n == null) {
            throw new IllegalStateException("RedisBroker " + nodeId + " not started");
        }
        return n;
    }

    /** The TTL of records this node keeps alive: one retention beyond the next refresh. */
    private long attachedTtlMs() {
        return node().sessionRetentionMs() + refreshIntervalMs;
    }

    // ---------------------------------------------------------------- running scripts

    /**
     * Runs {@code script} with the prefix and a fresh epoch candidate in front of {@code args}.
     * Completes on a Lettuce thread with the script's reply, or exceptionally with a
     * {@link BrokerException}.
     */
    private CompletableFuture<List<Object>> run(Script script, byte[]... args) {
        if (closed) {
            return CompletableFuture.failedFuture(closedException());
        }
        RedisAsyncCommands<byte[], byte[]> c = commands;
        if (c == null) {
            if (!started.get()) {
                return CompletableFuture.failedFuture(new IllegalStateException("RedisBroker " + nodeId + " not started"));
            }
            return whenConnected(script, args);
        }
        return dispatch(c, script, args);
    }

    private CompletableFuture<List<Object>> dispatch(RedisAsyncCommands<byte[], byte[]> c, Script script, byte[][] args) {
        if (inFlight.incrementAndGet() > config.maxPendingCommands()) {
            inFlight.decrementAndGet();
            return CompletableFuture.failedFuture(new BrokerException(BrokerException.OVERLOADED,
                    "too many commands waiting for Redis (" + config.maxPendingCommands() + ")"));
        }
        byte[][] all = new byte[args.length + 2][];
        all[0] = prefix;
        all[1] = bytes(Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE));
        System.arraycopy(args, 0, all, 2, args.length);
        CompletableFuture<List<Object>> reply;
        try {
            reply = c.<List<Object>>evalsha(script.sha(), ScriptOutputType.MULTI, NO_KEYS, all).toCompletableFuture()
                    .exceptionallyCompose(t -> unwrap(t) instanceof RedisNoScriptException
                            ? c.<List<Object>>eval(script.body(), ScriptOutputType.MULTI, NO_KEYS, all).toCompletableFuture()
                            : CompletableFuture.failedFuture(t));
        } catch (RuntimeException e) {
            reply = CompletableFuture.failedFuture(e);
        }
        return reply.handle((r, t) -> {
            inFlight.decrementAndGet();
            if (t != null) {
                throw translate(t);
            }
            noteEpoch(string((byte[]) r.get(0)));
            return r;
        });
    }

    /** A call made before the first connection, in the order of calls. */
    private record Waiting(Script script, byte[][] args, CompletableFuture<List<Object>> future) { }

    /**
     * Queues a call until the first connection is up (bounded, and failing after the command
     * timeout), so that calls made before it still reach Redis in the order they were made.
     */
    private CompletableFuture<List<Object>> whenConnected(Script script, byte[][] args) {
        RedisAsyncCommands<byte[], byte[]> c;
        synchronized (connectLock) {
            c = commands;
            if (c == null) {
                if (waiting.size() >= config.maxPendingCommands()) {
                    return CompletableFuture.failedFuture(new BrokerException(BrokerException.OVERLOADED,
                            "too many operations waiting for the connection to Redis"));
                }
                CompletableFuture<List<Object>> out = new CompletableFuture<>();
                waiting.add(new Waiting(script, args, out));
                return out.orTimeout(commandTimeoutMs, TimeUnit.MILLISECONDS).handle((r, t) -> {
                    if (t != null) {
                        throw translate(t);
                    }
                    return r;
                });
            }
        }
        return dispatch(c, script, args);
    }

    /** Sends what waited for the connection, in order, then lets calls go straight to it. */
    private void connected(RedisAsyncCommands<byte[], byte[]> c) {
        while (true) {
            List<Waiting> batch;
            synchronized (connectLock) {
                if (waiting.isEmpty()) {
                    commands = c;
                    return;
                }
                batch = new ArrayList<>(waiting);
                waiting.clear();
            }
            for (Waiting w : batch) {
                if (!w.future().isDone()) {
                    dispatch(c, w.script(), w.args()).whenComplete((r, t) -> {
                        if (t != null) {
                            w.future().completeExceptionally(unwrap(t));
                        } else {
                            w.future().complete(r);
                        }
                    });
                }
            }
        }
    }

    private void failWaiting(BrokerException failure) {
        List<Waiting> batch;
        synchronized (connectLock) {
            batch = new ArrayList<>(waiting);
            waiting.clear();
        }
        for (Waiting w : batch) {
            w.future().completeExceptionally(failure);
        }
    }

    private BrokerException translate(Throwable t) {
        Throwable c = unwrap(t);
        if (c instanceof BrokerException b) {
            return b;
        }
        if (c instanceof RedisCommandTimeoutException || c instanceof TimeoutException) {
            return new BrokerException(BrokerException.UNAVAILABLE,
                    "redis unreachable: no answer within " + commandTimeoutMs + " ms (the command may still"
                            + " be applied if Redis only stalled)", c);
        }
        if (c instanceof RedisConnectionException) {
            return unavailable(c);
        }
        String message = String.valueOf(c.getMessage());
        if (c instanceof RedisCommandExecutionException) {
            if (message.startsWith("LOADING") || message.startsWith("BUSY") || message.startsWith("MASTERDOWN")
                    || message.startsWith("TRYAGAIN") || message.startsWith("READONLY")) {
                return unavailable(c);
            }
            return new BrokerException(BrokerException.INTERNAL, "redis refused a script: " + message, c);
        }
        if (c instanceof RedisException && message.contains("size exceeded")) {
            return new BrokerException(BrokerException.OVERLOADED,
                    "too many commands waiting for Redis (" + config.maxPendingCommands() + ")", c);
        }
        if (c instanceof RedisException) {
            return unavailable(c);
        }
        if (c instanceof RuntimeException && !(c instanceof IllegalStateException)) {
            // A reply of an unexpected shape: a script and this class disagree.
            return new BrokerException(BrokerException.INTERNAL, "unexpected reply from Redis: " + c, c);
        }
        return unavailable(c);
    }

    private static BrokerException unavailable(Throwable t) {
        Throwable c = unwrap(t);
        if (c instanceof BrokerException b) {
            return b;
        }
        return new BrokerException(BrokerException.UNAVAILABLE, "redis unreachable: " + rootMessage(c), c);
    }

    private BrokerException closedException() {
        return new BrokerException(BrokerException.UNAVAILABLE, "redis broker " + nodeId + " is closed");
    }

    private static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    private static String rootMessage(Throwable t) {
        Throwable c = unwrap(t);
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
    }

    // ---------------------------------------------------------------- heartbeat, refresh, probe

    /** Timer thread: liveness, connection count, sweeping dead nodes, and the pub/sub probe. */
    private void beat() {
        if (closed || commands == null) {
            return;
        }
        int conns;
        try {
            conns = node().connections().getAsInt();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "node " + nodeId + ": the connection count supplier failed", e);
            conns = 0;
        }
        boolean first = firstBeat;
        byte[] count = bytes(conns);
        run(HEARTBEAT, me, bytes(nodeTimeoutMs), count, first ? ONE : ZERO, bytes(interestGraceMs())).whenComplete((r, t) -> {
            if (t != null) {
                return; // Redis unreachable: the connection log says so once
            }
            firstBeat = false;
            lastBeatOkNanos = System.nanoTime();
            if (rewatchWanted) {
                rewatchWanted = false;
                rewatch();
            }
            String beatEpoch = string((byte[]) r.get(0));
            String before = lastBeatEpoch;
            lastBeatEpoch = beatEpoch;
            // A heartbeat that finds this node gone from a Redis with a new epoch is a reset, not a sweep.
            if ((Long) r.get(1) == 1 && beatEpoch.equals(before) && reattaching.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "node {0} was taken for dead (no heartbeat for {1} ms); "
                        + "restoring its interest and presence", nodeId, nodeTimeoutMs);
                reattach(count);
            }
        });
        probe();
    }

    /**
     * How long a node taken for dead keeps the interest of its topics: one session retention
     * (the records of its sessions live that long), at least ten node timeouts. A node that was
     * only paused (a long GC, a stalled host) and comes back within it has missed no entry of
     * its topics; its direct messages never stop. After it, its channel gets no topic entries.
     */
    private long interestGraceMs() {
        return Math.max(node().sessionRetentionMs(), 10 * nodeTimeoutMs);
    }

    /**
     * Registers this node again after other nodes forgot it, with the topics of its owned
     * sessions; entries published meanwhile may have been missed, so the listener then hears
     * onInterrupted and re-reads the feeds.
     */
    private void reattach(byte[] count) {
        List<String> ids = new ArrayList<>(owned.keySet());
        List<CompletableFuture<List<Object>>> calls = new ArrayList<>();
        int i = 0;
        do { // the first call registers the node even when it owns no session
            List<String> part = ids.subList(i, Math.min(ids.size(), i + TOUCH_BATCH));
            byte[][] args = new byte[part.size() + 4][];
            args[0] = me;
            args[1] = bytes(nodeTimeoutMs);
            args[2] = count;
            args[3] = i == 0 ? ONE : ZERO;
            for (int k = 0; k < part.size(); k++) {
                args[k + 4] = bytes(part.get(k));
            }
            calls.add(run(REATTACH, args));
            i += TOUCH_BATCH;
        } while (i < ids.size());
        calls.add(rewatch().thenApply(v -> List.of()));
        CompletableFuture.allOf(calls.toArray(new CompletableFuture<?>[0])).whenComplete((v, t) -> {
            reattaching.set(false); // a failed reattach is tried again by the next heartbeat
            delivery.control(this::interrupted);
        });
    }

    /**
     * A pub/sub connection can stay open but deaf. The heartbeat pings this node's own channel;
     * if the pings stop arriving while Redis answers, the connection is killed so that Lettuce
     * reconnects it and the listener hears onInterrupted.
     */
    private void probe() {
        long now = System.nanoTime();
        long quiet = TimeUnit.NANOSECONDS.toMillis(now - lastPingNanos);
        long sinceBeat = TimeUnit.NANOSECONDS.toMillis(now - lastBeatOkNanos);
        StatefulRedisPubSubConnection<byte[], byte[]> sub = pubsub;
        RedisAsyncCommands<byte[], byte[]> c = commands;
        if (sub == null || c == null || !subscribedOnce.get() || !sub.isOpen()
                || quiet < 3 * heartbeatIntervalMs || sinceBeat > heartbeatIntervalMs * 2
                || delivery.pending() > 1_000) {
            return;
        }
        lastPingNanos = now;
        LOG.log(System.Logger.Level.WARNING, "node {0}: no ping on its own channel for {1} ms while Redis "
                + "answers; reconnecting the subscriber", nodeId, quiet);
        String name = "name=" + subscriberName() + " ";
        c.clientList().thenAccept(list -> {
            for (String line : list.split("\n")) {
                if (line.contains(name) && line.startsWith("id=")) {
                    long id = Long.parseLong(line.substring(3, line.indexOf(' ')));
                    c.clientKill(KillArgs.Builder.id(id));
                }
            }
        });
    }

    /** Timer thread: keeps the records of attached owned sessions alive; drops lost ones. */
    private void refresh() {
        if (closed || commands == null || owned.isEmpty()) {
            return;
        }
        List<String> attached = new ArrayList<>();
        List<String> detached = new ArrayList<>();
        owned.forEach((id, o) -> (o.attached() ? attached : detached).add(id));
        touch(attached, bytes(attachedTtlMs()));
        touch(detached, bytes("-"));
    }

    private void touch(List<String> ids, byte[] ttl) {
        for (int i = 0; i < ids.size(); i += TOUCH_BATCH) {
            List<String> part = ids.subList(i, Math.min(ids.size(), i + TOUCH_BATCH));
            byte[][] args = new byte[part.size() + 2][];
            args[0] = me;
            args[1] = ttl;
            for (int k = 0; k < part.size(); k++) {
                args[k + 2] = bytes(part.get(k));
            }
            run(TOUCH, args).thenAccept(r -> {
                long at = (Long) r.get(1);
                for (int k = 2; k < r.size(); k++) {
                    // Not ours at the time of the touch; a claim after it (a later position) stays.
                    owned.computeIfPresent(string((byte[]) r.get(k)), (id, o) -> o.claimedAt() < at ? null : o);
                }
            });
        }
    }

    // ---------------------------------------------------------------- live delivery

    /** Any thread: a reply showed epoch {@code e}; the delivery thread decides if it is a reset. */
    private void noteEpoch(String e) {
        if (!e.equals(epoch)) {
            Delivery d = delivery;
            if (d != null) {
                d.control(() -> adoptEpoch(e));
            }
        }
    }

    /** Delivery thread. Returns false if {@code e} is an epoch this node already left behind. */
    private boolean adoptEpoch(String e) {
        String known = epoch;
        if (e.equals(known)) {
            return true;
        }
        if (retiredEpochs.contains(e)) {
            return false;
        }
        epoch = e;
        if (known != null) {
            retiredEpochs.add(known);
            LOG.log(System.Logger.Level.WARNING, "node {0}: Redis lost its data (epoch {1} is now {2}); "
                    + "every feed has a gap", nodeId, known, e);
            if (!closed) {
                rewatch();
                safely("onReset", BrokerListener::onReset);
            }
        }
        return true;
    }

    /** Delivery thread: live messages may have been missed. */
    private void interrupted() {
        if (!closed) {
            safely("onInterrupted", BrokerListener::onInterrupted);
        }
    }

    /** Delivery thread: one marker from this node's channel. */
    private void deliver(byte[] frame) {
        if (closed) {
            return;
        }
        Marker m;
        try {
            m = Marker.decode(frame);
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "node {0}: ignoring a malformed marker: {1}", nodeId, e.getMessage());
            return;
        }
        if (!adoptEpoch(m.epoch())) {
            return; // from a Redis that has since lost its data
        }
        long position = m.position();
        switch (m.kind()) {
            case 'P' -> {
                String topic = m.text(0);
                BrokerMessage message = message(m, 1);
                if (message != null) {
                    safely("onPublished", l -> l.onPublished(position, topic, message));
                }
            }
            case 'S' -> {
                String session = m.text(0);
                BrokerMessage message = message(m, 1);
                if (message != null) {
                    safely("onSent", l -> l.onSent(position, session, message));
                }
            }
            case 'U' -> {
                String session = m.text(0);
                String topic = m.text(1);
                safely("onSubscribed", l -> l.onSubscribed(position, session, topic));
            }
            case 'N' -> {
                String session = m.text(0);
                String topic = m.text(1);
                safely("onUnsubscribed", l -> l.onUnsubscribed(position, session, topic));
            }
            case 'C' -> {
                String session = m.text(0);
                Set<String> topics = new LinkedHashSet<>();
                for (int i = 1; i < m.size(); i++) {
                    topics.add(m.text(i));
                }
                owned.put(session, new Owned(position, true));
                Set<String> fixed = Set.copyOf(topics);
                safely("onClaimed", l -> l.onClaimed(position, session, fixed));
            }
            case 'R' -> {
                String session = m.text(0);
                owned.remove(session);
                safely("onReleased", l -> l.onReleased(session));
            }
            case 'J', 'L' -> {
                String topic = m.text(0);
                String session = m.text(1);
                String principal = m.text(2);
                boolean joined = m.kind() == 'J';
                safely("onPresence", l -> l.onPresence(topic, session, principal, joined));
            }
            case 'G' -> {
                if (nodeId.equals(m.text(0))) {
                    lastPingNanos = System.nanoTime();
                }
            }
            default -> LOG.log(System.Logger.Level.WARNING, "node {0}: ignoring a marker of unknown kind {1}",
                    nodeId, m.kind());
        }
    }

    private BrokerMessage message(Marker m, int field) {
        try {
            return BrokerMessage.fromBytes(m.bytes(field));
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "node {0}: ignoring a malformed message: {1}", nodeId, e.getMessage());
            return null;
        }
    }

    private void safely(String what, java.util.function.Consumer<BrokerListener> call) {
        try {
            call.accept(listener);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "node " + nodeId + ": the broker listener threw from " + what, e);
        }
    }

    /** Lettuce event-loop thread of the pub/sub connection: hands everything to the delivery thread. */
    private final class Subscriber extends RedisPubSubAdapter<byte[], byte[]> {
        @Override
        public void message(byte[] channel, byte[] message) {
            // Whatever arrives shows the subscriber is not deaf. The probe must not wait for its ping
            // to pass the delivery queue: behind a backlog (a ramp of presence markers on a loaded
            // machine) that took over 3 s, the probe reconnected a working subscriber, and the
            // re-read of every session that follows closed them all with 4013.
            lastPingNanos = System.nanoTime();
            // Entries and pings may be dropped under overload (the listener then re-reads);
            // markers of ownership, subscriptions and presence never are.
            byte kind = message.length == 0 ? 0 : message[0];
            delivery.offer(message, kind == 'P' || kind == 'S' || kind == 'G');
        }

        @Override
        public void subscribed(byte[] channel, long count) {
            if (subscribedOnce.getAndSet(true)) {
                // Re-subscribed after a reconnect: what was published meanwhile is missed.
                LOG.log(System.Logger.Level.INFO, "node {0}: subscriber reconnected", nodeId);
                delivery.control(RedisBroker.this::interrupted);
                ScheduledThreadPoolExecutor t = timer;
                if (t != null && !closed) {
                    try {
                        t.execute(RedisBroker.this::beat); // learns the epoch at once
                    } catch (java.util.concurrent.RejectedExecutionException shutDown) {
                        // closing
                    }
                }
            }
            lastPingNanos = System.nanoTime();
        }
    }

    /** Logs connection loss once per loss, not per failed command. */
    private final class ConnectionLog implements RedisConnectionStateListener {
        private final AtomicBoolean down = new AtomicBoolean();

        @Override
        public void onRedisDisconnected(RedisChannelHandler<?, ?> connection) {
            if (!closed && down.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "node {0} lost its connection to Redis at {1}; reconnecting",
                        nodeId, config.redactedUri());
            }
        }

        @Override
        public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress address) {
            if (down.compareAndSet(true, false)) {
                LOG.log(System.Logger.Level.INFO, "node {0} reconnected to Redis at {1}", nodeId, config.redactedUri());
            }
        }
    }

    // ---------------------------------------------------------------- closing

    /**
     * Leaves the cluster: stops the heartbeat, tells Redis this node is gone (its presence
     * entries leave at once), closes the connections and stops live delivery. Waits at most
     * about the command timeout for Redis; sessions this node owned stay claimable.
     * Idempotent.
     */
    @Override
    public void close() {
        shutdown(true);
    }

    /** Drops everything without telling Redis, as a crashed node would: for tests. */
    void kill() {
        shutdown(false);
    }

    private void shutdown(boolean leave) {
        if (closed) {
            return;
        }
        ScheduledThreadPoolExecutor t = timer;
        if (t != null) {
            t.shutdownNow();
        }
        if (leave && commands != null) {
            try {
                run(LEAVE, me).get(commandTimeoutMs + 500, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                LOG.log(System.Logger.Level.WARNING, "node {0} could not leave the cluster cleanly ({1}); "
                        + "others forget it after {2} ms", nodeId, rootMessage(e), nodeTimeoutMs);
            }
        }
        closed = true;
        BrokerException gone = closedException();
        PendingPublish p;
        while ((p = publishQueue.poll()) != null) {
            p.future().completeExceptionally(gone);
        }
        failWaiting(gone);
        RedisClient c = client; // its shutdown closes both connections
        if (c != null) {
            c.shutdownAsync(0, commandTimeoutMs, TimeUnit.MILLISECONDS)
                    .whenComplete((v, e) -> resources.shutdown(0, commandTimeoutMs, TimeUnit.MILLISECONDS));
        }
        Delivery d = delivery;
        if (d != null) {
            d.close();
        }
        if (leave) {
            LOG.log(System.Logger.Level.INFO, "node {0} left the cluster", nodeId);
        }
    }

    @Override
    public String toString() {
        return "RedisBroker[" + nodeId + " on " + config.redactedUri() + "]";
    }

    // ---------------------------------------------------------------- encoding

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bytes(long n) {
        return bytes(Long.toString(n));
    }

    private static String string(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        return (List<Object>) o;
    }
}
