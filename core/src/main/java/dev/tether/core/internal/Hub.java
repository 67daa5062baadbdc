package dev.tether.core.internal;

import dev.tether.core.spi.engine.ResumeRequest;
import dev.tether.core.spi.engine.ResumeOutcome;
import dev.tether.core.spi.engine.Engine;
import dev.tether.core.spi.engine.Heartbeat;
import dev.tether.core.spi.engine.EngineConnection;
import dev.tether.core.spi.engine.SessionLink;
import dev.tether.core.spi.engine.TokenBucket;
import dev.tether.core.CloseCodes;
import dev.tether.core.Payload;
import dev.tether.core.PresenceListener;
import dev.tether.core.Registration;
import dev.tether.core.SendResult;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Stats;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.BrokerMessage;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.EncodedMessage;
import dev.tether.core.spi.Protocol;
import dev.tether.core.spi.TransportConnection;
import java.security.Principal;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * The engine behind {@link Tether}: the session table, the topic table, the timer wheel and the
 * handler pool. Sessions and links do the per-connection work.
 */
public final class Hub implements Tether, dev.tether.core.spi.TransportHub, Engine {

    private static final System.Logger LOG = System.getLogger(ServerLog.CORE);
    private static final Base64.Encoder TOKEN_ENCODER = Base64.getUrlEncoder().withoutPadding();

    final TetherConfig config;
    final SessionHandler handler;
    final HashedWheelTimer timer;
    /** What every connection's heartbeat shares. */
    final Heartbeat.Schedule heartbeatSchedule;
    /** What every connection's inbound-rate bucket shares; null when unlimited. */
    private final TokenBucket.Rate inboundRate;
    final Executor handlerPool;
    /** What every session's callback executor shares: the pool, the config's pending limits. */
    final SerialExecutor.Settings callbackSettings;
    private final ExecutorService ownedPool;
    private final SecureRandom random = new SecureRandom();
    private final ConcurrentHashMap<String, ServerSession> sessions = new ConcurrentHashMap<>();
    /** Each topic's local subscribers ({@link CompactSets}: most topics have one or two). */
    private final ConcurrentHashMap<String, Set<ServerSession>> topics = new ConcurrentHashMap<>();
    /** The application's presence listeners per topic; a list is never empty. */
    private final ConcurrentHashMap<String, CopyOnWriteArrayList<PresenceRegistration>> presenceListeners =
            new ConcurrentHashMap<>();
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    /** Connections served by another wire protocol's state machine (Socket.IO), for counting and shutdown. */
    private final Set<EngineConnection> otherConnections = ConcurrentHashMap.newKeySet();
    /** Sessions the application or client closed, kept for one retention window so a resume is refused, not renewed. */
    private final ConcurrentHashMap<String, Boolean> ended = new ConcurrentHashMap<>();
    /** Issues session ids and tells an expired session's id from one this hub never issued. */
    private final SessionIds sessionIds;
    /** {@link #close()} has begun; the same as {@code state != RUNNING}, read on hot paths. */
    private volatile boolean closed;
    /** Written under {@link #closeLock}; only ever moves forward. */
    private volatile State state = State.RUNNING;
    private final Object closeLock = new Object();
    /** Handshakes per second; guarded by itself (handshakes are not a hot path). */
    private final TokenBucket handshakes;
    /** The clock of {@link #handshakes}: {@code System::nanoTime} but in tests. */
    private final LongSupplier admissionClock;

    final AtomicInteger connections = new AtomicInteger();
    final LongAdder messagesIn = new LongAdder();
    final LongAdder messagesOut = new LongAdder();
    final LongAdder duplicatesIn = new LongAdder();
    final LongAdder volatileDropped = new LongAdder();
    final LongAdder reliableOverflowed = new LongAdder();
    final LongAdder replayed = new LongAdder();
    final LongAdder resumed = new LongAdder();
    final LongAdder gaps = new LongAdder();
    final LongAdder slowConsumerCloses = new LongAdder();
    final LongAdder protocolErrors = new LongAdder();
    final LongAdder refused = new LongAdder();
    final LongAdder handlerErrors = new LongAdder();
    final LongAdder brokerFailures = new LongAdder();
    /**
     * Gauges kept as the events happen, so that {@link #stats()} never walks the sessions: each
     * live session adds what it queues and what waits for acks, and takes its share out when it
     * leaves the session table ({@link ServerSession#retireGauges}).
     */
    final LongAdder queuedGauge = new LongAdder();
    final LongAdder pendingAcksGauge = new LongAdder();
    final UnackedAges unackedAges;
    /** The cluster side, or null without a broker. */
    final Cluster cluster;

    /** Use {@link Tether#create}. */
    public Hub(TetherConfig config, SessionHandler handler) {
        this(config, handler, System::nanoTime);
    }

    /**
     * With the clock admission control and the age of unacknowledged messages read, so that a
     * test need not race real time.
     */
    Hub(TetherConfig config, SessionHandler handler, LongSupplier admissionClock) {
        this.config = Objects.requireNonNull(config, "config");
        this.handler = Objects.requireNonNull(handler, "handler");
        this.timer = new HashedWheelTimer("tether-timer", config.timerTick().toMillis(), 512, config.errorHandler());
        this.heartbeatSchedule = new Heartbeat.Schedule(timer, config.heartbeatInterval(), config.heartbeatTimeout());
        this.inboundRate = config.inboundMessagesPerSecond() > 0
                ? new TokenBucket.Rate(config.inboundMessagesPerSecond(), config.inboundBurst()) : null;
        if (config.handlerExecutor() != null) {
            this.handlerPool = config.handlerExecutor();
            this.ownedPool = null;
        } else {
            int threads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
            this.ownedPool = Executors.newFixedThreadPool(threads, daemonThreads("tether-handler-"));
            this.handlerPool = ownedPool;
        }
        int limit = config.handlerPendingLimit();
        this.callbackSettings = new SerialExecutor.Settings(handlerPool, limit, limit / 4, config.errorHandler());
        this.sessionIds = new SessionIds(random);
        this.admissionClock = admissionClock;
        this.handshakes = new TokenBucket(config.maxHandshakesPerSecond(), config.handshakeBurst(),
                admissionClock.getAsLong());
        this.unackedAges = new UnackedAges(admissionClock);
        this.cluster = config.broker() == null ? null : new Cluster(this, config.broker());
        if (cluster != null) {
            cluster.start();
        }
        config.metrics().hubStarted(this::stats);
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public TetherConfig config() {
        return config;
    }

    // ------------------------------------------------------------ admission

    @Override
    public int admit() {
        return (int) -admit(0);
    }

    @Override
    public long admitOrDelay() {
        return admit(config.handshakeMaxDelay().toNanos());
    }

    /** The delay before the handshake may go on (0: now), or minus the Retry-After of a refusal. */
    private long admit(long maxDelayNanos) {
        int retryAfter = (int) Math.max(1, config.admissionRetryAfter().toSeconds());
        if (closed) {
            return refuseAdmission("closing", retryAfter);
        }
        long delay;
        synchronized (handshakes) {
            delay = handshakes.reserve(admissionClock.getAsLong(), maxDelayNanos);
        }
        if (delay < 0) {
            return refuseAdmission("handshake rate", 1);
        }
        for (;;) {
            int n = connections.get();
            if (n >= config.maxConnections()) {
                return refuseAdmission("connections", retryAfter);
            }
            if (connections.compareAndSet(n, n + 1)) {
                if (delay > 0) {
                    config.metrics().handshakeDelayed(delay);
                }
                return delay;
            }
        }
    }

    private long refuseAdmission(String why, int retryAfterSeconds) {
        refused.increment();
        config.metrics().refused("admission: " + why);
        return -retryAfterSeconds;
    }

    @Override
    public void cancelAdmission() {
        connections.decrementAndGet();
    }

    @Override
    public ConnectionListener connect(TransportConnection connection, AuthResult.Accepted credentials) {
        Objects.requireNonNull(connection, "connection");
        Objects.requireNonNull(credentials, "credentials");
        Link link = new Link(this, connection, credentials);
        links.add(link);
        config.metrics().connectionOpened();
        if (closed) {
            connection.close(CloseCodes.SERVER_RESTART, "server shutting down");
            return link;
        }
        link.start();
        return link;
    }

    /**
     * For another wire protocol's state machine (Socket.IO): takes the slot {@link #admit()}
     * reserved for {@code connection}, so that it counts as a connection and is drained when the
     * hub closes: told {@link EngineConnection#goingAway}, then, if still open at the end of the
     * drain, closed with {@link CloseCodes#SERVER_RESTART}. The hub waits for its
     * {@link #unregister} within the drain timeout.
     *
     * @return false if the hub is closing: the caller closes the connection
     */
    @Override
    public boolean register(EngineConnection connection) {
        otherConnections.add(connection);
        config.metrics().connectionOpened();
        return !closed;
    }

    /** The end of a connection {@link #register registered}; gives its slot back. Idempotent. */
    @Override
    public void unregister(EngineConnection connection, int code) {
        if (otherConnections.remove(connection)) {
            connections.decrementAndGet();
            config.metrics().connectionClosed(code);
        }
    }

    /** The timer wheel every heartbeat and timeout of this hub runs on. */
    @Override
    public HashedWheelTimer timer() {
        return timer;
    }

    @Override
    public Heartbeat.Schedule heartbeatSchedule() {
        return heartbeatSchedule;
    }

    @Override
    public TokenBucket.Rate inboundRate() {
        return inboundRate;
    }

    void linkClosed(Link link, int code) {
        if (links.remove(link)) {
            connections.decrementAndGet();
            config.metrics().connectionClosed(code);
        }
    }

    // ------------------------------------------------------------ sessions

    ServerSession newSession(Principal principal) {
        return openSession(principal, config.protocol(), handler, false);
    }

    /**
     * A new session with its own wire protocol and handler, for another protocol's state machine
     * (Socket.IO): attach it with {@link ServerSession#attachNew}.
     *
     * @param ackless whether the client never acknowledges (see {@link ServerSession})
     */
    @Override
    public ServerSession openSession(Principal principal, Protocol protocol,
                                     SessionHandler sessionHandler, boolean ackless) {
        String id;
        do {
            id = sessionIds.next();
        } while (sessions.containsKey(id));
        ServerSession session = new ServerSession(this, id, randomToken(24), principal, protocol, sessionHandler, ackless);
        sessions.put(id, session);
        config.metrics().sessionOpened();
        if (cluster != null) {
            cluster.created(session);
        }
        return session;
    }

    /** Cluster: a session claimed from the broker, under its own id and token, waiting to be attached. */
    ServerSession adoptSession(String id, String token, Principal principal, Protocol protocol,
                               SessionHandler sessionHandler, boolean ackless) {
        ServerSession session = new ServerSession(this, id, token, principal, protocol, sessionHandler, ackless);
        ServerSession previous = sessions.put(id, session);
        if (previous != null && previous != session) {
            previous.leave(); // a resume racing ours: the broker's claim order decides, this node keeps the last
            previous.retireGauges();
        }
        config.metrics().sessionOpened();
        return session;
    }

    /** Cluster: drops a session that was prepared for a claim but is not attached here. */
    void forget(ServerSession session) {
        session.leave();
        if (sessions.remove(session.id(), session)) {
            config.metrics().sessionClosed();
        }
        session.retireGauges();
    }

    /**
     * Cluster: the session leaves this node without ending (another node claimed it, or its client
     * must resume through the broker): its connection is closed with {@code code}, and it stays
     * resumable from the broker.
     */
    void releaseLocally(ServerSession session, int code, String reason) {
        session.leave();
        if (sessions.remove(session.id(), session)) {
            config.metrics().sessionClosed();
        }
        session.retireGauges();
        for (String topic : session.topics()) {
            removeSubscriber(topic, session);
        }
        SessionLink l = session.link;
        if (l != null && code == CloseCodes.SESSION_TAKEN_OVER) {
            l.takenOver(); // the link's own way: a Socket.IO socket leaves its namespace, not the whole connection
        } else if (l != null) {
            l.connection().close(code, reason);
        }
        session.end(code, reason, false, true);
    }

    /** Whether this hub is a node of a cluster (it has a broker). */
    @Override
    public boolean clustered() {
        return cluster != null;
    }

    @Override
    public void resumeFromBroker(SessionLink link, ResumeRequest request, ResumeOutcome outcome) {
        if (cluster == null) {
            throw new IllegalStateException("not a clustered hub");
        }
        BrokerResume.Request r = new BrokerResume.Request(request.sessionId(), request.token(), request.principal(),
                request.last(), request.attempt(), 0, request.protocol(), request.handler(), request.ackless());
        BrokerResume.start(this, link, r, new BrokerResume.Outcome() {
            @Override
            public void claimed(ServerSession session) {
                outcome.claimed(session);
            }

            @Override
            public void failed(int why, String reason) {
                outcome.failed(why, reason);
            }
        });
    }

    /** A snapshot of this node's sessions. */
    List<ServerSession> liveSessions() {
        return List.copyOf(sessions.values());
    }

    int sessionCount() {
        return sessions.size();
    }

    /** The live session with this id, or null. */
    @Override
    public ServerSession findSession(String id) {
        return sessions.get(id);
    }

    void sessionEnded(ServerSession session, boolean expired) {
        sessions.remove(session.id(), session);
        session.retireGauges();
        if (!expired && !closed) {
            // The timer keeps the id only: a task that held the session would keep it, its link,
            // queues and connection for the whole retention window after it ended.
            String id = session.id();
            ended.put(id, Boolean.TRUE);
            timer.schedule(() -> ended.remove(id), config.sessionRetention().toNanos(), TimeUnit.NANOSECONDS);
        }
        for (String topic : session.topics()) {
            removeSubscriber(topic, session);
        }
        config.metrics().sessionClosed();
    }

    /**
     * Why a session id presented for resume has no live session: {@code "ended"} if it was closed
     * less than a retention window ago (the resume is refused), {@code "expired"} if this hub
     * issued it, else {@code "unknown"} (another server, this one before a restart, or never issued).
     */
    String whyMissing(String sessionId) {
        if (ended.containsKey(sessionId)) {
            return "ended";
        }
        return sessionIds.issued(sessionId) ? "expired" : "unknown";
    }

    /**
     * Cluster: whether {@code sessionId} carries this node's prefix without being one it issued.
     * Only this node issues ids with its prefix, so no node of the cluster ever had that session.
     */
    boolean forgedHere(String sessionId) {
        return sessionIds.hasPrefix(sessionId) && !sessionIds.issued(sessionId);
    }

    /** URL-safe random text of {@code bytes} random bytes (24 bytes = 192 bits for tokens). */
    String randomToken(int bytes) {
        byte[] b = new byte[bytes];
        random.nextBytes(b);
        return TOKEN_ENCODER.encodeToString(b);
    }

    @Override
    public Optional<Session> session(String id) {
        return Optional.ofNullable(sessions.get(id));
    }

    @Override
    public Collection<Session> sessions() {
        return List.copyOf(sessions.values());
    }

    // ------------------------------------------------------------ topics

    /**
     * Adds to this node's topic table. Without a broker that is the session joining the topic;
     * with one, the broker tells of joins, and this only routes its entries.
     */
    boolean addSubscriber(String topic, ServerSession session) {
        boolean[] added = new boolean[1];
        List<PresenceRegistration> told = new ArrayList<>(0);
        topics.compute(topic, (t, subscribers) -> {
            // Every change of a topic's set happens here or below, under the topic's lock.
            Set<ServerSession> s = subscribers != null ? subscribers : Set.of();
            added[0] = !s.contains(session);
            if (added[0]) {
                s = CompactSets.plus(s, session);
            }
            if (added[0] && cluster == null) {
                // Queued under the topic's lock, so that its joins and leaves keep the table's
                // order; run after it, so that a listener (inline with Runnable::run) may subscribe.
                queuePresence(t, session.id(), session.principal().getName(), true, told);
            }
            return s;
        });
        flushPresence(told);
        return added[0];
    }

    boolean removeSubscriber(String topic, ServerSession session) {
        boolean[] removed = new boolean[1];
        List<PresenceRegistration> told = new ArrayList<>(0);
        topics.computeIfPresent(topic, (t, subscribers) -> {
            removed[0] = subscribers.contains(session);
            if (!removed[0]) {
                return subscribers;
            }
            if (cluster == null) {
                queuePresence(t, session.id(), session.principal().getName(), false, told);
            }
            Set<ServerSession> s = CompactSets.minus(subscribers, session);
            return s.isEmpty() ? null : s;
        });
        flushPresence(told);
        return removed[0];
    }

    @Override
    public int subscribers(String topic) {
        Set<ServerSession> subscribers = topics.get(topic);
        return subscribers == null ? 0 : subscribers.size();
    }

    // ------------------------------------------------------------ presence

    @Override
    public CompletableFuture<Map<String, String>> presence(String topic) {
        Objects.requireNonNull(topic, "topic");
        if (cluster != null) {
            return onHandlerPool(cluster.broker.presence(topic).thenApply(Collections::unmodifiableMap));
        }
        Map<String, String> present = new HashMap<>();
        Set<ServerSession> subscribers = topics.get(topic);
        if (subscribers != null) {
            for (ServerSession s : subscribers) {
                present.put(s.id(), s.principal().getName());
            }
        }
        return CompletableFuture.completedFuture(Collections.unmodifiableMap(present));
    }

    @Override
    public CompletableFuture<Long> connectionCount() {
        if (cluster != null) {
            return onHandlerPool(cluster.broker.clusterConnections());
        }
        return CompletableFuture.completedFuture((long) connections.get());
    }

    /**
     * The outcome of {@code source}, a broker future, delivered on the handler pool: the
     * application's dependants must not run on a broker thread.
     */
    <T> CompletableFuture<T> onHandlerPool(CompletableFuture<T> source) {
        CompletableFuture<T> result = new CompletableFuture<>();
        source.whenComplete((value, error) -> {
            Runnable complete = () -> {
                if (error != null) {
                    result.completeExceptionally(Cluster.unwrap(error));
                } else {
                    result.complete(value);
                }
            };
            runOnHandlerPool(complete);
        });
        return result;
    }

    /**
     * Runs {@code task}, which completes a future the application may depend on, on the handler
     * pool; here if the pool refuses it (it is shut down: nobody is left to block).
     */
    void runOnHandlerPool(Runnable task) {
        try {
            handlerPool.execute(task);
        } catch (RejectedExecutionException e) {
            task.run();
        }
    }

    @Override
    public Registration onPresence(String topic, PresenceListener listener) {
        Objects.requireNonNull(topic, "topic");
        Objects.requireNonNull(listener, "listener");
        PresenceRegistration registration = new PresenceRegistration(topic, listener);
        presenceListeners.compute(topic, (t, list) -> {
            if (list == null) {
                list = new CopyOnWriteArrayList<>();
                if (cluster != null) {
                    cluster.watch(t); // in the lock: a topic's watch and unwatch reach the broker in order
                }
            }
            list.add(registration);
            return list;
        });
        return registration;
    }

    /** Cluster: a session joined or left {@code topic}, on any node, as the broker tells (its delivery thread). */
    void presenceChanged(String topic, String sessionId, String principal, boolean joined) {
        List<PresenceRegistration> told = new ArrayList<>(0);
        queuePresence(topic, sessionId, principal, joined, told);
        flushPresence(told);
    }

    /** Queues a call for each listener of {@code topic}, and adds the listeners to {@code told}. */
    private void queuePresence(String topic, String sessionId, String principal, boolean joined,
                               List<PresenceRegistration> told) {
        List<PresenceRegistration> listeners = presenceListeners.get(topic);
        if (listeners == null || closed) {
            return;
        }
        for (PresenceRegistration r : listeners) {
            r.queue(() -> r.listener.onPresence(topic, sessionId, principal, joined), "presence.onPresence");
            told.add(r);
        }
    }

    /** Runs what {@link #queuePresence} queued, on the handler pool. */
    private static void flushPresence(List<PresenceRegistration> told) {
        for (PresenceRegistration r : told) {
            r.flush();
        }
    }

    /** Cluster: the broker's live stream was interrupted or lost: presence events may be missing. */
    void presenceGap() {
        if (closed) {
            return;
        }
        for (List<PresenceRegistration> listeners : presenceListeners.values()) {
            for (PresenceRegistration r : listeners) {
                r.queue(() -> r.listener.onGap(r.topic), "presence.onGap");
                r.flush();
            }
        }
    }

    /**
     * One {@link #onPresence} registration. Calls are queued in event order (under the topic's
     * lock for local events) and run one at a time on the handler pool, after that lock.
     */
    private final class PresenceRegistration implements Registration {
        private final String topic;
        private final PresenceListener listener;
        private final ConcurrentLinkedQueue<Runnable> queued = new ConcurrentLinkedQueue<>();
        private final SerialExecutor calls;
        private final Runnable runQueued = this::runQueued;
        private volatile boolean active = true;

        PresenceRegistration(String topic, PresenceListener listener) {
            this.topic = topic;
            this.listener = listener;
            // Never saturates: there is no connection to stop reading from.
            this.calls = new SerialExecutor(new SerialExecutor.Settings(handlerPool, Integer.MAX_VALUE, 0,
                    config.errorHandler()), SerialExecutor.Backpressure.NONE);
        }

        void queue(Runnable call, String context) {
            queued.add(() -> {
                if (active && !closed) {
                    guard(context, call);
                }
            });
        }

        /** Runs what is queued; every flush after a queue, so nothing waits for a later event. */
        void flush() {
            calls.execute(runQueued);
        }

        private void runQueued() {
            for (Runnable call; (call = queued.poll()) != null; ) {
                call.run();
            }
        }

        @Override
        public void close() {
            active = false;
            presenceListeners.computeIfPresent(topic, (t, list) -> {
                if (list.remove(this) && list.isEmpty()) {
                    if (cluster != null) {
                        cluster.unwatch(t);
                    }
                    return null;
                }
                return list;
            });
        }
    }

    @Override
    public int publish(String topic, String event, Payload payload) {
        return publish(topic, event, payload, false);
    }

    @Override
    public int publishVolatile(String topic, String event, Payload payload) {
        return publish(topic, event, payload, true);
    }

    @Override
    public CompletableFuture<Void> publishAsync(String topic, String event, Payload payload) {
        Objects.requireNonNull(topic, "topic");
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(payload, "payload");
        if (cluster != null) {
            return onHandlerPool(cluster.publishAsync(topic, event, payload));
        }
        deliver(topic, event, payload, false, null, 0);
        return CompletableFuture.completedFuture(null);
    }

    int publish(String topic, String event, Payload payload, boolean isVolatile) {
        return publish(topic, event, payload, isVolatile, null);
    }

    /**
     * Publishes to every subscriber of {@code topic} but {@code except} (may be null). Each wire
     * protocol among the subscribers encodes the message once (usually there is one). On a
     * clustered hub the broker delivers it on every node, {@code except} wherever it is, and 0 is
     * returned.
     */
    @Override
    public int publish(String topic, String event, Payload payload, boolean isVolatile, Session except) {
        Objects.requireNonNull(topic, "topic");
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(payload, "payload");
        String exceptId = except == null ? null : except.id();
        if (cluster != null) {
            cluster.publish(topic, event, payload, isVolatile, exceptId);
            return 0;
        }
        return deliver(topic, event, payload, isVolatile, exceptId, 0);
    }

    /** Cluster: an entry the broker delivers to this node's subscribers of {@code topic}. */
    void deliver(String topic, BrokerMessage message, long position) {
        deliver(topic, message.event(), message.payload(), !message.reliable(), message.except(), position);
    }

    /** Hands the entry to every local subscriber's queue (or feed) but {@code exceptId}'s; reports the fan-out. */
    private int deliver(String topic, String event, Payload payload, boolean isVolatile, String exceptId, long position) {
        long started = System.nanoTime();
        int recipients = 0;
        int queued = 0;
        Set<ServerSession> subscribers = topics.get(topic);
        if (subscribers != null) {
            // Encoded once per protocol; every subscriber's queue gets the same immutable entry.
            Protocol protocol = null;
            Outbound item = null;
            Map<Protocol, Outbound> others = null;
            for (ServerSession session : subscribers) {
                if (exceptId != null && exceptId.equals(session.id())) {
                    continue; // not in its feed: skipped before it is numbered, as a re-read skips it
                }
                Outbound entry;
                if (session.protocol() == protocol) {
                    entry = item;
                } else if (protocol == null) {
                    protocol = session.protocol();
                    entry = item = outbound(protocol, event, payload, topic, isVolatile, position);
                } else {
                    if (others == null) {
                        others = new HashMap<>(4);
                    }
                    entry = others.computeIfAbsent(session.protocol(), p -> outbound(p, event, payload, topic, isVolatile, position));
                }
                recipients++;
                if (position != 0) {
                    session.feedTopic(entry, position);
                } else if (session.enqueue(entry) == SendResult.ENQUEUED) {
                    queued++;
                }
            }
        }
        config.metrics().published(recipients, System.nanoTime() - started);
        return queued;
    }

    private static Outbound outbound(Protocol protocol, String event, Payload payload, String topic,
                                     boolean isVolatile, long position) {
        EncodedMessage encoded = protocol.encode(event, payload, topic);
        return isVolatile ? Outbound.volatileMessage(encoded) : Outbound.reliable(encoded, 0, position);
    }

    // ------------------------------------------------------------ stats and lifecycle

    /**
     * Constant time whatever the number of sessions: every field is kept as the events happen
     * (the sizes of the two tables are kept by the tables). Fields are read one after another, not
     * as one atomic snapshot; a gauge that several threads move may lag its events by a moment.
     */
    @Override
    public Stats stats() {
        return new Stats(connections.get(), sessions.size(), topics.size(),
                Math.max(0, queuedGauge.sum()), Math.max(0, pendingAcksGauge.sum()),
                messagesIn.sum(), messagesOut.sum(), duplicatesIn.sum(), volatileDropped.sum(),
                reliableOverflowed.sum(), replayed.sum(), resumed.sum(), gaps.sum(),
                slowConsumerCloses.sum(), protocolErrors.sum(), refused.sum(), handlerErrors.sum(),
                TimeUnit.NANOSECONDS.toMillis(unackedAges.oldestAgeNanos()));
    }

    /** Whether {@link #close()} has begun. */
    public boolean isClosed() {
        return closed;
    }

    @Override
    public State state() {
        return state;
    }

    /**
     * Drains, then stops. Every connection is told {@link EngineConnection#goingAway} with its own
     * random delay from the drain reconnect window: a native client gets a {@code reconnect} frame
     * and is closed with 4012 once every connected session's queue is written and acknowledged; a
     * Socket.IO connection writes what is queued and closes its transport at that delay, so that
     * its clients reconnect spread over the window. All within the drain timeout; what is still
     * open then is closed with 4012. Only then do the sessions end, the timer and the broker stop
     * and the handler pool shuts down, so that the callbacks of those closes run; a close that
     * transports report later still reaches the engine, and its callbacks are dropped quietly
     * (the sessions' own ends were told).
     */
    @Override
    public void close() {
        synchronized (closeLock) {
            if (closed) {
                return;
            }
            // Before anything else: readiness turns false before any client is told to go.
            closed = true;
            state = State.DRAINING;
        }
        long startNs = System.nanoTime();
        int sessionsAtStart = sessions.size();
        LOG.log(System.Logger.Level.INFO, ServerLog.DRAIN_STARTED + " draining: {0} connections and {1} sessions;"
                + " waiting up to {2,number,#} ms", connections.get(), sessionsAtStart, config.drainTimeout().toMillis());
        long deadline = startNs + config.drainTimeout().toNanos();
        boolean linksClosed = false;
        int told = 0;
        // Waiting on an I/O thread would stall the very connections we wait for.
        boolean wait = !config.drainTimeout().isZero() && !onIoThread();
        if (!config.drainTimeout().isZero()) {
            long min = config.drainReconnectMin().toMillis();
            long max = config.drainReconnectMax().toMillis();
            for (EngineConnection connection : allConnections()) {
                connection.goingAway(min + ThreadLocalRandom.current().nextLong(max - min + 1));
                told++;
            }
            if (!wait) {
                LOG.log(System.Logger.Level.WARNING, ServerLog.DRAIN_ON_IO_THREAD + " close() called on an I/O"
                        + " thread; not waiting for queued messages to be acknowledged");
            }
            // Shutdown is not a hot path: poll until what was queued is written and acknowledged
            // (then the native connections close) and every other connection has closed itself.
            while (wait && System.nanoTime() - deadline < 0 && !(linksClosed && otherConnections.isEmpty())) {
                if (!linksClosed && drained()) {
                    closeLinks();
                    linksClosed = true;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
        }
        // What is still open here was not done when the drain ended (or was not waited for).
        int cutShort = otherConnections.size() + (linksClosed ? 0 : links.size());
        long unacknowledged = cutShort == 0 ? 0 : unacknowledged();
        if (!linksClosed) {
            closeLinks();
        }
        for (EngineConnection other : otherConnections) {
            other.connection().close(CloseCodes.SERVER_RESTART, "server restart");
        }
        // Their closes are reported from their I/O threads; within the drain timeout, wait for
        // them, so that the sessions detach (and stay recoverable) before they end here.
        while (wait && System.nanoTime() - deadline < 0 && !otherConnections.isEmpty()) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
        List<ServerSession> ending = new ArrayList<>(sessions.values());
        for (ServerSession session : ending) {
            session.end(CloseCodes.SERVER_RESTART, "server shutting down", false, true);
        }
        timer.close();
        if (cluster != null) {
            cluster.broker.close(); // after the sessions: they stay claimable by other nodes
        }
        if (ownedPool != null) {
            ownedPool.shutdown();
        }
        state = State.CLOSED;
        LOG.log(System.Logger.Level.INFO, ServerLog.DRAIN_DONE + " closed after {0,number,#} ms: {1} connections told to"
                + " reconnect, {2} still open at the end of the drain closed with {3} messages unwritten or"
                + " unacknowledged; {4} sessions ended",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs), told, cutShort, unacknowledged,
                ending.size());
    }

    /** Messages of connected sessions still queued or awaiting their acknowledgement. */
    private long unacknowledged() {
        long n = 0;
        for (ServerSession s : sessions.values()) {
            if (s.isConnected()) {
                n += s.queued() + s.pendingAcks();
            }
        }
        return n;
    }

    private List<EngineConnection> allConnections() {
        List<EngineConnection> all = new ArrayList<>(links.size() + otherConnections.size());
        all.addAll(links);
        all.addAll(otherConnections);
        return all;
    }

    private boolean onIoThread() {
        for (EngineConnection connection : allConnections()) {
            if (connection.connection().inIoThread()) {
                return true;
            }
        }
        return false;
    }

    private void closeLinks() {
        for (Link link : links) {
            link.connection.close(CloseCodes.SERVER_RESTART, "server restart");
        }
    }

    /** Whether every connected session has written and had acknowledged all it had queued. */
    private boolean drained() {
        for (ServerSession s : sessions.values()) {
            if (s.isConnected() && (s.queued() > 0 || s.pendingAcks() > 0)) {
                return false;
            }
        }
        return true;
    }

    /** Runs a user callback, reporting and counting a throw instead of letting it escape. */
    @Override
    public void guard(String context, Runnable callback) {
        try {
            callback.run();
        } catch (RuntimeException | Error e) {
            handlerErrors.increment();
            config.metrics().handlerFailed(context);
            try {
                config.errorHandler().onError(context, e);
            } catch (RuntimeException ignored) {
                // An error handler must not throw; if it does, there is nobody left to tell.
            }
        }
    }
}
