package dev.tether.client.internal;

import dev.tether.client.ClientStats;
import dev.tether.client.ConnectionClosedException;
import dev.tether.client.HandshakeException;
import dev.tether.client.TetherClient;
import dev.tether.core.CloseCodes;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.RequestException;
import dev.tether.core.Responder;
import dev.tether.core.SendResult;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.BiConsumer;

/**
 * The client: sessions, resume, sequence numbers, acknowledgements, requests, subscriptions and
 * reconnects over successive {@link Connection}s.
 *
 * <p>Threading: all protocol state below the "protocol executor only" line is owned by
 * {@link #protocol}, a serial executor over a small shared pool; no lock guards it. Public methods
 * run on the caller's thread, touch only the few atomic or volatile fields above that line, and
 * hand everything else to {@link #protocol}. Listener callbacks and future completions go through
 * {@link #dispatch} to a second serial executor, so that application code never runs on the
 * protocol executor or a JDK I/O thread. Timers run on one shared thread that only hands them
 * back to {@link #protocol}.
 */
public final class ClientEngine implements TetherClient {

    private static final System.Logger LOG = System.getLogger("dev.tether.client");

    /** {@code sub}/{@code unsub} ids start here. */
    static final long TOPIC_ID_BASE = 1;
    /** Callbacks waiting to run past which the client stops reading (backpressure). */
    static final int MAX_PENDING_CALLBACKS = 256;
    /** Frames waiting for the socket past which volatile messages are dropped. */
    static final int VOLATILE_BACKLOG_LIMIT = 256;
    /** How long a closing connection may take to answer the close frame before it is aborted. */
    static final long CLOSE_GRACE_MS = 5_000;

    private static final int C_CONNECT_ATTEMPTS = 0;
    private static final int C_WELCOMES = 1;
    private static final int C_RESUMES = 2;
    private static final int C_SESSIONS_LOST = 3;
    private static final int C_GAPS = 4;
    private static final int C_MESSAGES_IN = 5;
    private static final int C_DUPLICATES_IN = 6;
    private static final int C_MESSAGES_OUT = 7;
    private static final int C_RESENT = 8;
    private static final int C_VOLATILE_DROPPED = 9;
    private static final int C_PROTOCOL_ERRORS = 10;
    private static final int C_CALLBACK_ERRORS = 11;
    private static final int C_COUNT = 12;

    private enum State {
        /** Never connected, or the first connect failed. */
        IDLE,
        /** WebSocket upgrade in progress. */
        CONNECTING,
        /** Socket open, hello sent, waiting for welcome. */
        HANDSHAKING,
        /** Welcomed. */
        OPEN,
        /** Waiting to reconnect. */
        WAITING,
        /** Stopped for good. */
        CLOSED
    }

    private final ClientSettings settings;
    private final Listener listener;
    private final HttpClient http;
    private final OrderedExecutor protocol;
    private final OrderedExecutor callbacks;
    private final Backoff backoff;

    // Any thread.
    /** Reliable messages reserved by senders and not yet acknowledged: bounded by maxUnacked. */
    private final AtomicInteger unacked = new AtomicInteger();
    private final AtomicInteger pendingCallbacks = new AtomicInteger();
    private final AtomicLongArray counters = new AtomicLongArray(C_COUNT);
    /** Written by the protocol executor only; a snapshot for {@link #topics()}. */
    private final Set<String> topics = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private volatile boolean connected;
    private volatile String sessionId;
    /** The server's limit from the last welcome; 0 until then (not checked). */
    private volatile int maxMessageBytes;
    private volatile int pendingRequestCount;

    // ------------------------------------------------------------------ protocol executor only
    private State state = State.IDLE;
    private Connection current;
    private CompletableFuture<TetherClient> connectFuture;
    private boolean everWelcomed;
    private String sid;
    private String token;
    /** Changes with every new session, so that a late reply to an old session's request is dropped. */
    private long sessionEpoch;
    private final InboundSequence inbound;
    private final UnackedBuffer outbound;
    /** Highest client seq written at least once in this session; below it, a write is a resend. */
    private long highestWrittenSeq;
    private final Map<Long, PendingRequest> requests = new HashMap<>();
    private long nextRid = 1;
    /** Subscribe/unsubscribe operations not yet answered, in the order they were made. */
    private final List<TopicOp> topicOps = new ArrayList<>();
    /** The operations of {@link #topicOps} written on the current connection, by id. */
    private final Map<Long, TopicOp> topicOpsById = new HashMap<>();
    private long nextTopicOpId = TOPIC_ID_BASE;
    private int attempt;
    private long minReconnectDelayMs;
    private long heartbeatLimitNanos;
    private long lastInboundNanos;
    /** Resumes asked for the current session; sent in hello so that a stale one is refused. */
    private long resumeAttempt;
    /** A reconnect was refused with 401 and the token supplier asked once more; cleared by a welcome. */
    private boolean unauthorizedRetried;
    /** The connection a fresh token is being fetched or checked for, after the server's refresh request. */
    private Connection refreshing;
    /** The id of the {@code auth} frame in flight on {@link #refreshing}, or 0. */
    private long authId;
    private ScheduledFuture<?> ackTimer;
    private ScheduledFuture<?> watchdog;
    private ScheduledFuture<?> handshakeTimer;
    private ScheduledFuture<?> reconnectTimer;

    /** Builds an unconnected client; use {@link TetherClient#builder}. */
    public ClientEngine(ClientSettings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.listener = settings.listener();
        this.http = settings.httpClient() != null ? settings.httpClient() : ClientThreads.defaultHttpClient();
        this.protocol = serial(ClientThreads.PROTOCOL);
        Executor callbackPool = settings.callbackExecutor() != null
                ? settings.callbackExecutor() : ClientThreads.CALLBACKS;
        this.callbacks = serial(callbackPool);
        this.backoff = new Backoff(settings.backoffBaseMs(), settings.backoffCapMs());
        this.inbound = new InboundSequence(settings.ackEvery());
        this.outbound = new UnackedBuffer(settings.maxUnacked());
    }

    /** An ordered executor on {@code pool}; the client bounds its callbacks itself (MAX_PENDING_CALLBACKS). */
    private static OrderedExecutor serial(Executor pool) {
        return new OrderedExecutor(pool,
                (context, error) -> LOG.log(System.Logger.Level.ERROR, "TC101 " + context + " failed", error));
    }

    // ======================================================================= public API, any thread

    @Override
    public CompletableFuture<TetherClient> connect() {
        if (closed) {
            throw new IllegalStateException("client is closed");
        }
        CompletableFuture<TetherClient> result = new CompletableFuture<>();
        protocol.execute(() -> startConnect(result));
        return result;
    }

    @Override
    public SendResult send(String event, Payload payload) {
        return sendReliable(event, null, payload);
    }

    @Override
    public SendResult sendVolatile(String event, Payload payload) {
        return sendUnreliable(event, null, payload);
    }

    @Override
    public SendResult publish(String topic, String event, Payload payload) {
        return sendReliable(event, requireName("topic", topic), payload);
    }

    @Override
    public SendResult publishVolatile(String topic, String event, Payload payload) {
        return sendUnreliable(event, requireName("topic", topic), payload);
    }

    @Override
    public CompletableFuture<Payload> request(String event, Payload payload, Duration timeout) {
        requireName("event", event);
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
        if (closed) {
            return CompletableFuture.failedFuture(new RequestException(RequestException.CLOSED, "client is closed"));
        }
        ClientCodec.Body body = ClientCodec.body(payload);
        checkSize(event, null, body);
        if (!reserve()) {
            return CompletableFuture.failedFuture(new RequestException(RequestException.OVERFLOW,
                    settings.maxUnacked() + " messages are waiting for an acknowledgement"));
        }
        PendingRequest request = new PendingRequest(event, Math.max(1, timeout.toMillis()));
        Message message = new Message(event, payload);
        protocol.execute(() -> appendReliable(message, body, request));
        return request.future;
    }

    @Override
    public CompletableFuture<Void> subscribe(String topic) {
        return topicOperation(true, requireName("topic", topic));
    }

    @Override
    public CompletableFuture<Void> unsubscribe(String topic) {
        return topicOperation(false, requireName("topic", topic));
    }

    @Override
    public Set<String> topics() {
        return Set.copyOf(topics);
    }

    @Override
    public String sessionId() {
        return sessionId;
    }

    @Override
    public boolean isConnected() {
        return connected;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public ClientStats stats() {
        return new ClientStats(
                counters.get(C_CONNECT_ATTEMPTS),
                counters.get(C_WELCOMES),
                counters.get(C_RESUMES),
                counters.get(C_SESSIONS_LOST),
                counters.get(C_GAPS),
                counters.get(C_MESSAGES_IN),
                counters.get(C_DUPLICATES_IN),
                counters.get(C_MESSAGES_OUT),
                counters.get(C_RESENT),
                counters.get(C_VOLATILE_DROPPED),
                counters.get(C_PROTOCOL_ERRORS),
                counters.get(C_CALLBACK_ERRORS),
                unacked.get(),
                pendingRequestCount);
    }

    @Override
    public void disconnectAbruptly() {
        protocol.execute(() -> {
            Connection conn = current;
            if (conn == null || conn.socket() == null) {
                return;
            }
            conn.abort();
            connectionEnded(conn, CloseCodes.ABNORMAL, "aborted by the application");
        });
    }

    @Override
    public void close() {
        closed = true;
        protocol.execute(() -> {
            if (state == State.CLOSED) {
                return;
            }
            Connection conn = current;
            current = null;
            if (conn != null && conn.socket() != null) {
                conn.write(new Connection.Close(CloseCodes.NORMAL, "client closed"));
                WebSocket socket = conn.socket();
                ClientThreads.TIMER.schedule(socket::abort, CLOSE_GRACE_MS, TimeUnit.MILLISECONDS);
            }
            // A connection still upgrading is aborted by opened(), as it is no longer current.
            terminate(null);
        });
    }

    @Override
    public String toString() {
        return "TetherClient[" + settings.uri() + ", session " + sessionId
                + (connected ? ", connected" : closed ? ", closed" : ", disconnected") + "]";
    }

    private SendResult sendReliable(String event, String topic, Payload payload) {
        requireName("event", event);
        Objects.requireNonNull(payload, "payload");
        if (closed) {
            return SendResult.CLOSED;
        }
        ClientCodec.Body body = ClientCodec.body(payload);
        checkSize(event, topic, body);
        if (!reserve()) {
            return SendResult.OVERFLOW;
        }
        Message message = new Message(event, payload, topic);
        protocol.execute(() -> appendReliable(message, body, null));
        return SendResult.ENQUEUED;
    }

    private SendResult sendUnreliable(String event, String topic, Payload payload) {
        requireName("event", event);
        Objects.requireNonNull(payload, "payload");
        if (closed) {
            return SendResult.CLOSED;
        }
        if (!connected) {
            counters.incrementAndGet(C_VOLATILE_DROPPED);
            return SendResult.DROPPED;
        }
        ClientCodec.Body body = ClientCodec.body(payload);
        checkSize(event, topic, body);
        protocol.execute(() -> {
            Connection conn = current;
            if (state != State.OPEN || conn.backlog() >= VOLATILE_BACKLOG_LIMIT) {
                counters.incrementAndGet(C_VOLATILE_DROPPED);
                return;
            }
            conn.write(ClientCodec.message(0, 0, event, topic, body));
            counters.incrementAndGet(C_MESSAGES_OUT);
        });
        return SendResult.ENQUEUED;
    }

    private CompletableFuture<Void> topicOperation(boolean subscribe, String topic) {
        if (closed) {
            return CompletableFuture.failedFuture(new RequestException(RequestException.CLOSED, "client is closed"));
        }
        TopicOp op = new TopicOp(subscribe, topic, new CompletableFuture<>());
        protocol.execute(() -> addTopicOp(op));
        return op.future;
    }

    /** Claims a slot among the {@code maxUnacked} reliable messages; released by acknowledgements. */
    private boolean reserve() {
        int max = settings.maxUnacked();
        for (;;) {
            int n = unacked.get();
            if (n >= max) {
                return false;
            }
            if (unacked.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    private void checkSize(String event, String topic, ClientCodec.Body body) {
        int max = maxMessageBytes;
        long size;
        if (max > 0 && (size = body.frameBytes(event, topic)) > max) {
            throw new IllegalArgumentException("message of up to " + size
                    + " bytes exceeds the server's maxMessageBytes " + max);
        }
    }

    private static String requireName(String what, String name) {
        Objects.requireNonNull(name, what);
        if (name.isEmpty()) {
            throw new IllegalArgumentException(what + " must not be empty");
        }
        return name;
    }

    // =========================================================== protocol executor: connections

    private void startConnect(CompletableFuture<TetherClient> result) {
        if (state == State.CLOSED) {
            dispatch(() -> result.completeExceptionally(new IllegalStateException("client is closed")));
        } else if (everWelcomed) {
            dispatch(() -> result.complete(this));
        } else if (connectFuture == null) {
            connectFuture = result;
            if (state == State.IDLE) {
                openConnection();
            }
        } else {
            connectFuture.whenComplete((client, error) -> {
                if (error != null) {
                    result.completeExceptionally(error);
                } else {
                    result.complete(client);
                }
            });
        }
    }

    private void openConnection() {
        Connection conn = new Connection(this, protocol, sid != null);
        current = conn;
        state = State.CONNECTING;
        counters.incrementAndGet(C_CONNECT_ATTEMPTS);
        if (settings.tokens() == null) {
            upgrade(conn, null);
            return;
        }
        fetchToken((token, error) -> {
            if (conn != current || state != State.CONNECTING) {
                return; // closed meanwhile
            }
            if (error != null) {
                IOException failure = noToken(error);
                if (everWelcomed) {
                    dispatch(() -> listener.onError(this, failure));
                }
                upgradeFailed(conn, failure);
            } else {
                upgrade(conn, token);
            }
        });
    }

    /** Starts the WebSocket upgrade, with {@code Authorization: Bearer token} unless it is null. */
    private void upgrade(Connection conn, String token) {
        CompletableFuture<WebSocket> upgrade;
        try {
            WebSocket.Builder builder = http.newWebSocketBuilder()
                    .connectTimeout(Duration.ofMillis(settings.connectTimeoutMs()));
            for (String[] header : settings.headers()) {
                builder.header(header[0], header[1]);
            }
            if (token != null) {
                builder.header("Authorization", "Bearer " + token);
            }
            upgrade = builder.buildAsync(settings.uri(), conn);
        } catch (RuntimeException e) {
            upgrade = CompletableFuture.failedFuture(e);
        }
        upgrade.whenComplete((socket, error) -> {
            if (error != null) {
                protocol.execute(() -> upgradeFailed(conn, error));
            }
        });
    }

    /**
     * Asks the token supplier, on the callback executor since it is application code, within the
     * connect timeout; {@code then} runs on the protocol executor with the token or the failure.
     */
    private void fetchToken(BiConsumer<String, Throwable> then) {
        CompletableFuture<String> token = new CompletableFuture<>();
        long timeoutMs = settings.connectTimeoutMs();
        ScheduledFuture<?> timeout = ClientThreads.TIMER.schedule(() -> token.completeExceptionally(
                new TimeoutException("the token supplier did not answer within " + timeoutMs + " ms")),
                timeoutMs, TimeUnit.MILLISECONDS);
        dispatch(() -> {
            try {
                CompletionStage<String> stage = Objects.requireNonNull(settings.tokens().get(),
                        "the token supplier returned null");
                stage.whenComplete((t, e) -> {
                    if (e != null) {
                        token.completeExceptionally(unwrap(e));
                    } else if (t == null || t.isEmpty()) {
                        token.completeExceptionally(new IllegalStateException("the token supplier gave no token"));
                    } else {
                        token.complete(t);
                    }
                });
            } catch (RuntimeException e) {
                token.completeExceptionally(e);
            }
        });
        token.whenComplete((t, e) -> {
            timeout.cancel(false);
            protocol.execute(() -> then.accept(t, e));
        });
    }

    private static IOException noToken(Throwable cause) {
        return new IOException("no token: " + cause.getMessage(), cause);
    }

    /** The JDK opened the socket: say hello. */
    void opened(Connection conn, WebSocket socket) {
        if (conn != current || state != State.CONNECTING) {
            socket.abort();
            return;
        }
        conn.attach(socket);
        state = State.HANDSHAKING;
        lastInboundNanos = System.nanoTime();
        conn.write(conn.resumeAsked ? ClientCodec.hello(sid, token, inbound.last(), ++resumeAttempt, inbound.lastPosition())
                : ClientCodec.hello(null, null, 0, 0, 0));
        handshakeTimer = schedule(settings.connectTimeoutMs(), () -> {
            if (conn == current && state == State.HANDSHAKING) {
                conn.abort();
                connectionEnded(conn, CloseCodes.ABNORMAL,
                        "no welcome within " + settings.connectTimeoutMs() + " ms");
            }
        });
    }

    private void upgradeFailed(Connection conn, Throwable error) {
        if (conn != current) {
            return;
        }
        current = null;
        Throwable cause = unwrap(error);
        HandshakeException refused = handshakeFailure(cause);
        Throwable reported = refused != null ? refused : cause;
        if (state == State.CLOSED) {
            return;
        }
        if (!everWelcomed) {
            state = State.IDLE;
            failConnect(reported);
            return;
        }
        if (refused != null && refused.statusCode() == 401 && settings.tokens() != null && !unauthorizedRetried) {
            // The token may have expired while we were away: one more, fresh from the supplier.
            unauthorizedRetried = true;
            LOG.log(System.Logger.Level.INFO, "TC012 {0}: reconnect refused ({1}); asking for a fresh token once more",
                    settings.uri(), refused.getMessage());
            scheduleReconnect();
            return;
        }
        if (refused != null && (refused.statusCode() == 401 || refused.statusCode() == 403)) {
            LOG.log(System.Logger.Level.WARNING, "TC002 {0}: reconnect refused ({1}); giving up",
                    settings.uri(), refused.getMessage());
            terminate(refused);
            return;
        }
        if (refused != null) {
            refused.retryAfter().ifPresent(d -> minReconnectDelayMs = Math.max(minReconnectDelayMs, d.toMillis()));
        }
        LOG.log(System.Logger.Level.DEBUG, "TC003 {0}: reconnect attempt failed: {1}", settings.uri(), reported);
        scheduleReconnect();
    }

    /** The server closed the connection. */
    void lost(Connection conn, int code, String reason) {
        connectionEnded(conn, code, reason);
    }

    /** The socket failed (read or write error). */
    void failed(Connection conn, Throwable error) {
        if (conn != current) {
            return;
        }
        conn.abort();
        Throwable cause = unwrap(error);
        connectionEnded(conn, CloseCodes.ABNORMAL, String.valueOf(cause.getMessage() != null ? cause.getMessage() : cause));
    }

    /** The server broke the protocol: drop the connection and resume on a new one. */
    void violation(Connection conn, String problem) {
        if (conn != current) {
            return;
        }
        counters.incrementAndGet(C_PROTOCOL_ERRORS);
        LOG.log(System.Logger.Level.WARNING, "TC010 {0}: server broke the protocol, reconnecting: {1}",
                settings.uri(), problem);
        conn.abort();
        connectionEnded(conn, CloseCodes.PROTOCOL_ERROR, "protocol violation: " + problem);
    }

    private void connectionEnded(Connection conn, int code, String reason) {
        if (conn != current) {
            return;
        }
        current = null;
        boolean wasOpen = state == State.OPEN;
        connected = false;
        cancelConnectionTimers();
        if (state == State.CLOSED) {
            return;
        }
        if (!everWelcomed) {
            state = State.IDLE;
            failConnect(new ConnectionClosedException(code, reason));
            return;
        }
        if (wasOpen) {
            dispatch(() -> listener.onDisconnected(this, code, reason));
        }
        if (!reconnectable(code)) {
            LOG.log(System.Logger.Level.INFO, "TC004 {0}: closed with terminal code {1} ({2}); not reconnecting",
                    settings.uri(), code, reason);
            terminate(new ConnectionClosedException(code, reason));
            return;
        }
        scheduleReconnect();
    }

    private void scheduleReconnect() {
        state = State.WAITING;
        long delayMs = backoff.delayMs(attempt, minReconnectDelayMs, ThreadLocalRandom.current());
        if (attempt < 62) {
            attempt++;
        }
        minReconnectDelayMs = 0;
        LOG.log(System.Logger.Level.DEBUG, "TC005 {0}: reconnecting in {1} ms", settings.uri(), delayMs);
        reconnectTimer = schedule(delayMs, () -> {
            if (state == State.WAITING) {
                openConnection();
            }
        });
    }

    private void failConnect(Throwable cause) {
        CompletableFuture<TetherClient> future = connectFuture;
        connectFuture = null;
        if (future != null) {
            dispatch(() -> future.completeExceptionally(cause));
        }
    }

    /** Stops for good: fails what waits, tells the listener last. */
    private void terminate(Throwable cause) {
        state = State.CLOSED;
        closed = true;
        connected = false;
        cancelConnectionTimers();
        cancel(reconnectTimer);
        failRequests("client closed");
        for (TopicOp op : topicOps) {
            CompletableFuture<Void> future = op.future;
            if (future != null) {
                dispatch(() -> future.completeExceptionally(
                        new RequestException(RequestException.CLOSED, "client closed")));
            }
        }
        topicOps.clear();
        topicOpsById.clear();
        unacked.addAndGet(-outbound.size());
        outbound.clear();
        failConnect(cause != null ? cause : new IllegalStateException("client closed before connecting"));
        dispatch(() -> listener.onClosed(this, cause));
    }

    private void cancelConnectionTimers() {
        cancel(ackTimer);
        cancel(watchdog);
        cancel(handshakeTimer);
        ackTimer = null;
        watchdog = null;
        handshakeTimer = null;
    }

    /** Whether to reconnect after the server closed with {@code code} (PROTOCOL.md §9). */
    static boolean reconnectable(int code) {
        return CloseCodes.isResumable(code);
    }

    // ============================================================== protocol executor: receiving

    /** A whole text message arrived. */
    void received(Connection conn, String text) {
        if (conn != current) {
            return;
        }
        try {
            handle(conn, ClientCodec.decode(text));
        } catch (FrameException e) {
            violation(conn, e.getMessage());
            return;
        }
        readNext(conn);
    }

    /** A whole binary message arrived, in {@code bytes[0..length)}. */
    void received(Connection conn, byte[] bytes, int length) {
        if (conn != current) {
            return;
        }
        try {
            handle(conn, ClientCodec.decode(bytes, length));
        } catch (FrameException e) {
            violation(conn, e.getMessage());
            return;
        }
        readNext(conn);
    }

    private void readNext(Connection conn) {
        if (conn == current) {
            conn.readNext(pendingCallbacks.get() >= MAX_PENDING_CALLBACKS);
        }
    }

    /** Callbacks drained below the bound: read again if reading was held back. */
    private void resumeReading() {
        Connection conn = current;
        if (conn != null && conn.readPaused && pendingCallbacks.get() < MAX_PENDING_CALLBACKS) {
            lastInboundNanos = System.nanoTime();
            conn.readNext(false);
        }
    }

    private void handle(Connection conn, ServerFrame frame) throws FrameException {
        lastInboundNanos = System.nanoTime();
        String type = frame.type();
        if (state == State.HANDSHAKING) {
            if (type.equals("welcome")) {
                welcome(conn, frame);
            } else if (type.equals("reconnect")) {
                minReconnectDelayMs = frame.longField("afterMs", 0);
            } else {
                throw new FrameException("expected 'welcome', got '" + type + "'");
            }
            return;
        }
        switch (type) {
            case "msg":
                message(conn, frame);
                break;
            case "reply":
                reply(frame);
                break;
            case "ack":
                acknowledged(frame.longField("seq", 0));
                break;
            case "ping":
                ping(conn, frame);
                break;
            case "ok":
                ok(frame.longField("id", 1));
                break;
            case "refresh":
                refreshRequested(conn, frame);
                break;
            case "error":
                error(frame);
                break;
            case "gap":
                gap(conn, frame);
                break;
            case "reconnect":
                minReconnectDelayMs = frame.longField("afterMs", 0);
                break;
            case "welcome":
                throw new FrameException("'welcome' on an established connection");
            default:
                // Frame types of a later protocol version; PROTOCOL.md §1 says to ignore what we do not know.
                LOG.log(System.Logger.Level.DEBUG, "TC011 ignoring frame of unknown type {0}", type);
        }
    }

    private void welcome(Connection conn, ServerFrame frame) throws FrameException {
        String newSid = frame.textField("sid");
        String newToken = frame.textField("token");
        boolean resumed = frame.booleanField("resumed");
        long lastClientSeq = frame.longField("lastClientSeq", 0, 0);
        long hbMs = frame.longField("hb", 1, 25_000);
        long hbTimeoutMs = frame.longField("hbTimeout", 1, 20_000);
        long maxBytes = frame.longField("maxMessageBytes", 1, 0);
        ServerFrame gap = frame.objectField("gap");
        if (resumed && !conn.resumeAsked) {
            throw new FrameException("'welcome' resumed a session the client did not ask to resume");
        }
        if (resumed && lastClientSeq > outbound.highestSeq()) {
            throw new FrameException("'welcome'.lastClientSeq " + lastClientSeq
                    + " is beyond the highest seq sent, " + outbound.highestSeq());
        }
        long gapFrom = 0;
        long gapTo = 0;
        String gapReason = null;
        if (resumed && gap != null) {
            gapFrom = gap.longField("from", 1);
            gapTo = gap.longField("to", gapFrom);
            gapReason = gap.textField("reason", "overflow");
            try {
                inbound.checkSkip(gapFrom, gapTo);
            } catch (IllegalArgumentException e) {
                throw new FrameException("'welcome'." + e.getMessage());
            }
        }
        String lostReasonIfAny = !resumed && gap != null ? gap.textField("reason", "unknown") : "unknown";
        // Validated above: nothing below may fail, so a broken welcome leaves the state untouched.
        cancel(handshakeTimer);
        handshakeTimer = null;

        List<Message> lost = null;
        String lostReason = null;
        if (resumed) {
            release(lastClientSeq);
            inbound.resumed();
            counters.incrementAndGet(C_RESUMES);
        } else {
            if (conn.resumeAsked) {
                lostReason = lostReasonIfAny;
                unacked.addAndGet(-outbound.size());
                lost = outbound.clear();
                highestWrittenSeq = 0;
                failRequests("session lost before the reply");
                counters.incrementAndGet(C_SESSIONS_LOST);
                LOG.log(System.Logger.Level.INFO, "TC006 {0}: session {1} lost ({2}); started {3}",
                        settings.uri(), sid, lostReason, newSid);
            }
            inbound.reset();
            sessionEpoch++;
            resumeAttempt = 0;
        }
        boolean reportGap = gapReason != null && inbound.skip(gapFrom, gapTo);

        sid = newSid;
        token = newToken;
        sessionId = newSid;
        maxMessageBytes = (int) Math.min(Integer.MAX_VALUE, maxBytes);
        heartbeatLimitNanos = TimeUnit.MILLISECONDS.toNanos(hbMs + hbTimeoutMs);
        state = State.OPEN;
        connected = true;
        everWelcomed = true;
        unauthorizedRetried = false;
        refreshing = null;
        authId = 0;
        attempt = 0;
        minReconnectDelayMs = 0;
        counters.incrementAndGet(C_WELCOMES);

        if (lost != null) {
            List<Message> unacknowledged = List.copyOf(lost);
            String reason = lostReason;
            dispatch(() -> listener.onSessionLost(this, reason, unacknowledged));
        }
        dispatch(() -> listener.onOpen(this, resumed));
        if (reportGap) {
            counters.incrementAndGet(C_GAPS);
            long from = gapFrom;
            long to = gapTo;
            String reason = gapReason;
            dispatch(() -> listener.onGap(this, from, to, reason));
            afterAccept(conn);
        }
        CompletableFuture<TetherClient> future = connectFuture;
        connectFuture = null;
        if (future != null) {
            dispatch(() -> future.complete(this));
        }

        // Subscriptions first, so that they are in place before messages that may trigger publishes.
        restoreTopics(conn, resumed);
        for (long seq = Math.max(resumed ? lastClientSeq + 1 : 1, outbound.firstSeq());
                seq <= outbound.highestSeq(); seq++) {
            conn.write(outbound.frame(seq));
            if (seq <= highestWrittenSeq) {
                counters.incrementAndGet(C_RESENT);
            } else {
                counters.incrementAndGet(C_MESSAGES_OUT);
                highestWrittenSeq = seq;
            }
        }
        armWatchdog(conn, heartbeatLimitNanos);
    }

    private void message(Connection conn, ServerFrame frame) throws FrameException {
        String event = frame.textField("e");
        if (event.isEmpty()) {
            throw new FrameException("'msg' with an empty event");
        }
        long seq = frame.longField("seq", 1, 0);
        long rid = frame.longField("rid", 1, 0);
        long position = frame.longField("pos", 1, 0);
        String topic = frame.textField("topic", null);
        Payload payload = frame.payload();
        if (seq > 0) {
            switch (inbound.accept(seq, position)) {
                case InboundSequence.DUPLICATE:
                    counters.incrementAndGet(C_DUPLICATES_IN);
                    return;
                case InboundSequence.OUT_OF_ORDER:
                    throw new FrameException("'msg'.seq " + seq + " after " + inbound.last() + " leaves a hole");
                default:
                    afterAccept(conn);
            }
        }
        counters.incrementAndGet(C_MESSAGES_IN);
        Message message = new Message(event, payload, topic);
        if (rid > 0) {
            ReplyTo responder = new ReplyTo(rid, sessionEpoch);
            dispatch(() -> {
                try {
                    listener.onRequest(this, message, responder);
                } catch (Throwable t) {
                    responder.fail("error", "the client's request handler failed");
                    throw t;
                }
            });
        } else {
            dispatch(() -> listener.onMessage(this, message));
        }
    }

    private void reply(ServerFrame frame) throws FrameException {
        long rid = frame.longField("rid", 1);
        ServerFrame err = frame.objectField("err");
        Payload payload = err == null ? frame.payload() : null;
        PendingRequest request = requests.remove(rid);
        if (request == null) {
            return; // it timed out, or belonged to a lost session
        }
        requestsChanged();
        cancel(request.timer);
        if (err != null) {
            RequestException failure = new RequestException(err.textField("code", "error"), err.textField("message", ""));
            dispatch(() -> request.future.completeExceptionally(failure));
        } else {
            dispatch(() -> request.future.complete(payload));
        }
    }

    private void ping(Connection conn, ServerFrame frame) throws FrameException {
        long ack = frame.longField("ack", 0, 0);
        acknowledged(ack);
        long ours = 0;
        if (inbound.hasUnacked()) {
            ours = inbound.takeAck();
            cancel(ackTimer);
            ackTimer = null;
        }
        conn.write(ClientCodec.pong(ours));
    }

    private void acknowledged(long seq) throws FrameException {
        if (seq > outbound.highestSeq()) {
            throw new FrameException("ack " + seq + " is beyond the highest seq sent, " + outbound.highestSeq());
        }
        release(seq);
    }

    private void release(long seq) {
        int freed = outbound.releaseUpTo(seq);
        if (freed > 0) {
            unacked.addAndGet(-freed);
        }
    }

    private void gap(Connection conn, ServerFrame frame) throws FrameException {
        long from = frame.longField("from", 1);
        long to = frame.longField("to", 1);
        String reason = frame.textField("reason", "overflow");
        boolean fresh;
        try {
            fresh = inbound.skip(from, to);
        } catch (IllegalArgumentException e) {
            throw new FrameException("'gap': " + e.getMessage());
        }
        if (fresh) {
            counters.incrementAndGet(C_GAPS);
            dispatch(() -> listener.onGap(this, from, to, reason));
            afterAccept(conn);
        }
    }

    private void ok(long id) {
        if (id == authId) {
            refreshed(null, null);
        } else {
            topicAnswer(id, null, null);
        }
    }

    private void error(ServerFrame frame) throws FrameException {
        long id = frame.longField("id", 1, 0);
        long seq = frame.longField("seq", 0, 0); // PROTOCOL.md §4: 0 refuses a volatile message
        String code = frame.textField("code", "error");
        String message = frame.textField("message", "");
        if (id > 0 && id == authId) {
            refreshed(code, message);
            return;
        }
        if (id > 0 && topicOpsById.containsKey(id)) {
            topicAnswer(id, code, message);
            return;
        }
        RequestException refused = new RequestException(code, "server refused "
                + (seq == 0 ? "a volatile message" : "message seq " + seq) + ": " + message);
        dispatch(() -> listener.onError(this, refused));
    }

    // ============================================================== protocol executor: token refresh

    /**
     * The server asks for a fresh token before the connection's credentials expire: fetch one and
     * send it in an {@code auth} frame. One at a time; without a supplier there is nothing to send
     * and the server closes the connection at the expiry (4401), after which the client resumes.
     */
    private void refreshRequested(Connection conn, ServerFrame frame) throws FrameException {
        long expiresInMs = frame.longField("expiresInMs", 0, 0);
        if (settings.tokens() == null || refreshing == conn) {
            return;
        }
        LOG.log(System.Logger.Level.DEBUG, "TC013 {0}: the server asks for a fresh token (credentials expire in {1} ms)",
                settings.uri(), expiresInMs);
        refreshing = conn;
        authId = 0;
        fetchToken((token, error) -> {
            if (conn != current || state != State.OPEN || refreshing != conn) {
                return;
            }
            if (error != null) {
                refreshing = null;
                IOException failure = noToken(error);
                dispatch(() -> listener.onError(this, failure));
                return;
            }
            authId = nextTopicOpId++; // one numbering with sub/unsub, so that answers cannot be confused
            conn.write(ClientCodec.auth(authId, token));
        });
    }

    /** The server's answer to our {@code auth}: {@code code} is null if it accepted the token. */
    private void refreshed(String code, String message) {
        refreshing = null;
        authId = 0;
        if (code != null) {
            RequestException refused = new RequestException(code, "token refresh refused: " + message);
            dispatch(() -> listener.onError(this, refused));
        }
    }

    // ============================================================== protocol executor: acknowledging

    /** A reliable message (or a gap) was accepted: acknowledge now, or arm the ack timer. */
    private void afterAccept(Connection conn) {
        if (inbound.ackDue()) {
            sendAck(conn);
        } else if (inbound.firstUnacked()) {
            cancel(ackTimer);
            ackTimer = schedule(settings.ackDelayMs(), () -> {
                if (conn == current && state == State.OPEN && inbound.hasUnacked()) {
                    sendAck(conn);
                }
            });
        }
    }

    private void sendAck(Connection conn) {
        cancel(ackTimer);
        ackTimer = null;
        conn.write(ClientCodec.ack(inbound.takeAck()));
    }

    private void armWatchdog(Connection conn, long delayNanos) {
        watchdog = ClientThreads.TIMER.schedule(() -> protocol.execute(() -> checkHeartbeat(conn)),
                delayNanos, TimeUnit.NANOSECONDS);
    }

    private void checkHeartbeat(Connection conn) {
        if (conn != current || state != State.OPEN) {
            return;
        }
        long now = System.nanoTime();
        if (conn.readPaused) {
            // Our own backpressure holds the frames back; the server judges that case.
            armWatchdog(conn, heartbeatLimitNanos);
            return;
        }
        long idle = now - lastInboundNanos;
        if (idle < heartbeatLimitNanos) {
            armWatchdog(conn, heartbeatLimitNanos - idle);
            return;
        }
        long limitMs = TimeUnit.NANOSECONDS.toMillis(heartbeatLimitNanos);
        LOG.log(System.Logger.Level.INFO, "TC007 {0}: nothing from the server for {1} ms, reconnecting",
                settings.uri(), limitMs);
        conn.abort();
        connectionEnded(conn, CloseCodes.HEARTBEAT_TIMEOUT, "nothing from the server for " + limitMs + " ms");
    }

    // ============================================================== protocol executor: sending

    private void appendReliable(Message message, ClientCodec.Body body, PendingRequest request) {
        if (state == State.CLOSED || (request != null && request.future.isDone())) {
            unacked.decrementAndGet();
            if (request != null) {
                dispatch(() -> request.future.completeExceptionally(
                        new RequestException(RequestException.CLOSED, "client closed")));
            }
            return;
        }
        long rid = 0;
        if (request != null) {
            rid = nextRid++;
            request.rid = rid;
            requests.put(rid, request);
            requestsChanged();
            request.timer = schedule(request.timeoutMs, () -> requestTimedOut(request));
        }
        long seq = outbound.nextSeq();
        Object frame = ClientCodec.message(seq, rid, message.event(), message.topic(), body);
        outbound.append(frame, request == null ? message : null);
        if (state == State.OPEN) {
            current.write(frame);
            highestWrittenSeq = seq;
            counters.incrementAndGet(C_MESSAGES_OUT);
        }
    }

    private void requestTimedOut(PendingRequest request) {
        if (requests.get(request.rid) != request) {
            return;
        }
        requests.remove(request.rid);
        requestsChanged();
        RequestException timeout = new RequestException(RequestException.TIMEOUT,
                "no reply to '" + request.event + "' within " + request.timeoutMs + " ms");
        dispatch(() -> request.future.completeExceptionally(timeout));
    }

    private void failRequests(String why) {
        for (PendingRequest request : requests.values()) {
            cancel(request.timer);
            RequestException closed = new RequestException(RequestException.CLOSED,
                    "'" + request.event + "': " + why);
            dispatch(() -> request.future.completeExceptionally(closed));
        }
        requests.clear();
        requestsChanged();
    }

    private void requestsChanged() {
        pendingRequestCount = requests.size();
    }

    private void writeReply(long epoch, Object frame) {
        if (state == State.OPEN && epoch == sessionEpoch) {
            current.write(frame);
        } else {
            LOG.log(System.Logger.Level.DEBUG, "TC008 {0}: reply dropped, its connection is gone", settings.uri());
        }
    }

    // ============================================================== protocol executor: topics

    private void addTopicOp(TopicOp op) {
        if (state == State.CLOSED) {
            dispatch(() -> op.future.completeExceptionally(new RequestException(RequestException.CLOSED, "client closed")));
            return;
        }
        if (op.subscribe) {
            topics.add(op.topic);
        } else {
            topics.remove(op.topic);
        }
        topicOps.add(op);
        if (state == State.OPEN) {
            writeTopicOp(current, op);
        }
    }

    private void writeTopicOp(Connection conn, TopicOp op) {
        op.id = nextTopicOpId++;
        topicOpsById.put(op.id, op);
        conn.write(ClientCodec.topic(op.subscribe, op.id, op.topic));
    }

    /**
     * After a welcome: resend what was not answered and, for a new session, subscribe again to
     * every remembered topic (the server kept them only if it resumed).
     */
    private void restoreTopics(Connection conn, boolean resumed) {
        topicOpsById.clear();
        List<TopicOp> ops = new ArrayList<>();
        if (!resumed) {
            Set<String> covered = new HashSet<>();
            for (TopicOp op : topicOps) {
                covered.add(op.topic);
            }
            for (String topic : topics) {
                if (!covered.contains(topic)) {
                    ops.add(new TopicOp(true, topic, null));
                }
            }
            // A new session has no subscription: an unsubscribe not preceded by a pending
            // subscribe of the same topic is already satisfied.
            Set<String> subscribing = new HashSet<>();
            for (Iterator<TopicOp> it = topicOps.iterator(); it.hasNext();) {
                TopicOp op = it.next();
                if (op.subscribe) {
                    subscribing.add(op.topic);
                } else if (!subscribing.contains(op.topic)) {
                    it.remove();
                    dispatch(() -> op.future.complete(null));
                }
            }
        }
        ops.addAll(topicOps);
        topicOps.clear();
        topicOps.addAll(ops);
        for (TopicOp op : topicOps) {
            writeTopicOp(conn, op);
        }
    }

    private void topicAnswer(long id, String code, String message) {
        TopicOp op = topicOpsById.remove(id);
        if (op == null) {
            return; // an answer for a connection we already left
        }
        topicOps.remove(op);
        if (code == null) {
            if (op.future != null) {
                dispatch(() -> op.future.complete(null));
            }
            return;
        }
        if (op.subscribe && topicOps.stream().noneMatch(o -> o.subscribe && o.topic.equals(op.topic))) {
            topics.remove(op.topic);
        }
        RequestException refused = new RequestException(code, (op.subscribe ? "subscribe to '" : "unsubscribe from '")
                + op.topic + "' refused: " + message);
        if (op.future != null) {
            dispatch(() -> op.future.completeExceptionally(refused));
        } else {
            dispatch(() -> listener.onError(this, refused));
        }
    }

    // ============================================================== callbacks and timers

    /**
     * Runs application code (a listener method, a future completion) on the callback executor,
     * in order. Counted, so that reading stops while too many wait.
     */
    private void dispatch(Runnable callback) {
        pendingCallbacks.incrementAndGet();
        callbacks.execute(() -> {
            try {
                callback.run();
            } catch (Throwable t) {
                callbackFailed(t);
            } finally {
                if (pendingCallbacks.decrementAndGet() == MAX_PENDING_CALLBACKS - 1) {
                    protocol.execute(this::resumeReading);
                }
            }
        });
    }

    private void callbackFailed(Throwable t) {
        counters.incrementAndGet(C_CALLBACK_ERRORS);
        LOG.log(System.Logger.Level.WARNING, "TC030 listener callback threw", t);
        try {
            listener.onError(this, t);
        } catch (Throwable again) {
            LOG.log(System.Logger.Level.WARNING, "TC031 listener onError threw", again);
        }
    }

    private ScheduledFuture<?> schedule(long delayMs, Runnable task) {
        return ClientThreads.TIMER.schedule(() -> protocol.execute(task), delayMs, TimeUnit.MILLISECONDS);
    }

    private static void cancel(ScheduledFuture<?> timer) {
        if (timer != null) {
            timer.cancel(false);
        }
    }

    private static Throwable unwrap(Throwable error) {
        Throwable t = error;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static HandshakeException handshakeFailure(Throwable cause) {
        if (!(cause instanceof WebSocketHandshakeException refused)) {
            return null;
        }
        HttpResponse<?> response = refused.getResponse();
        int status = response.statusCode();
        String reason = response.body() instanceof String body ? plain(body) : "";
        String what = switch (status) {
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            case 503 -> "unavailable";
            default -> "refused";
        };
        HandshakeException e = new HandshakeException(status, retryAfter(response.headers()),
                what + ": " + (reason.isEmpty() ? "the server refused the WebSocket upgrade with HTTP " + status : reason));
        e.initCause(cause);
        return e;
    }

    /** The server's refusal body as one short line: at most 200 characters, no control characters. */
    static String plain(String body) {
        StringBuilder b = new StringBuilder(Math.min(body.length(), 200));
        for (int i = 0; i < body.length() && b.length() < 200; i++) {
            char c = body.charAt(i);
            b.append(Character.isISOControl(c) ? ' ' : c);
        }
        return b.toString().trim();
    }

    /** {@code Retry-After} as delta-seconds or an HTTP date; {@code null} if absent or unreadable. */
    static Duration retryAfter(HttpHeaders headers) {
        return headers.firstValue("Retry-After").map(ClientEngine::retryAfter).orElse(null);
    }

    static Duration retryAfter(String value) {
        String v = value.trim();
        try {
            long seconds = Long.parseLong(v);
            return seconds < 0 ? null : Duration.ofSeconds(seconds);
        } catch (NumberFormatException notSeconds) {
            try {
                Duration d = Duration.between(ZonedDateTime.now(), ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME));
                return d.isNegative() ? Duration.ZERO : d;
            } catch (DateTimeParseException notADate) {
                return null;
            }
        }
    }

    // ============================================================== small state holders

    /** A request to the server waiting for its reply. Fields after construction: protocol executor only. */
    private static final class PendingRequest {
        final CompletableFuture<Payload> future = new CompletableFuture<>();
        final String event;
        final long timeoutMs;
        long rid;
        ScheduledFuture<?> timer;

        PendingRequest(String event, long timeoutMs) {
            this.event = event;
            this.timeoutMs = timeoutMs;
        }
    }

    /** A subscribe or unsubscribe; {@code future} is {@code null} for an automatic re-subscribe. */
    private static final class TopicOp {
        final boolean subscribe;
        final String topic;
        final CompletableFuture<Void> future;
        long id;

        TopicOp(boolean subscribe, String topic, CompletableFuture<Void> future) {
            this.subscribe = subscribe;
            this.topic = topic;
            this.future = future;
        }
    }

    /** Answers one request of the server; the first answer wins. Any thread. */
    private final class ReplyTo implements Responder {
        private final long rid;
        private final long epoch;
        private final AtomicBoolean answered = new AtomicBoolean();

        ReplyTo(long rid, long epoch) {
            this.rid = rid;
            this.epoch = epoch;
        }

        @Override
        public void reply(Payload payload) {
            ClientCodec.Body body = ClientCodec.body(Objects.requireNonNull(payload, "payload"));
            checkSize("reply", null, body);
            if (answered.compareAndSet(false, true)) {
                Object frame = ClientCodec.reply(rid, body);
                protocol.execute(() -> writeReply(epoch, frame));
            }
        }

        @Override
        public void fail(String code, String message) {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(message, "message");
            if (answered.compareAndSet(false, true)) {
                String frame = ClientCodec.replyError(rid, code, message);
                protocol.execute(() -> writeReply(epoch, frame));
            }
        }
    }
}
