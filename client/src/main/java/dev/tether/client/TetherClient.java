package dev.tether.client;

import dev.tether.client.internal.ClientEngine;
import dev.tether.client.internal.ClientSettings;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.RequestException;
import dev.tether.core.Responder;
import dev.tether.core.SendResult;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * A Tether client: one logical session with a Tether server, kept across connection losses.
 *
 * <pre>{@code
 * TetherClient client = TetherClient.builder(URI.create("ws://127.0.0.1:8080/tether"))
 *         .bearerToken(token)
 *         .listener(new TetherClient.Listener() {
 *             public void onMessage(TetherClient c, Message message) {
 *                 System.out.println(message.event() + ": " + message.payload().asText());
 *             }
 *         })
 *         .build();
 * client.connect().join();
 * client.subscribe("room-1").join(); // if the server's Authorizer grants it (PROTOCOL.md §8)
 * client.send("chat", Payload.text("hi"));
 * }</pre>
 *
 * <p><b>Threading.</b> Every method may be called from any thread and none blocks. The protocol
 * state of a client (sequence numbers, acknowledgements, the resend buffer, subscriptions) is
 * owned by one serial task queue per client on a small shared pool, so calls from many threads
 * are applied one at a time, in the order they were made. {@link Listener} callbacks, and the
 * completion of every future this client returns, run on the client's callback executor (see
 * {@link Builder#callbackExecutor(Executor)}): one at a time and in order for a client, never on
 * the {@link HttpClient}'s threads. Do not block a callback on a future of the same client; it can
 * only complete after the callback returns.
 *
 * <p><b>Delivery.</b> Reliable messages ({@link #send}, {@link #publish}, {@link #request}) are
 * numbered, kept until the server acknowledges them and resent after a resume, so the server
 * application sees each exactly once. Messages from the server are de-duplicated by sequence
 * number, so the listener sees each exactly once and in order. What cannot be repaired is
 * reported, never dropped silently: {@link Listener#onGap} for server messages lost for good,
 * {@link Listener#onSessionLost} (with the unacknowledged messages) when the server no longer has
 * the session.
 *
 * <p><b>Reconnecting.</b> After the first successful {@link #connect()}, a connection lost for any
 * reason other than {@link #close()} or a terminal close code (1000, 1003, 1007-1010 and
 * 4500-4999 from the server, or an HTTP 403 on the upgrade, or a 401 twice in a row) is
 * re-established with exponential backoff and full jitter, and the session resumed. Expected
 * outcomes on the send path are {@link SendResult}s, not exceptions.
 *
 * <p><b>Expiring credentials.</b> The client speaks protocol version 2: when the server asks for a
 * fresh token before the connection's credentials expire, the client takes one from its
 * {@link Builder#tokenSupplier token supplier} and sends it on the live connection, so nothing is
 * interrupted. If none is accepted in time the server closes with 4401 and the client reconnects
 * with a fresh token and resumes (see PROTOCOL.md §12).
 *
 * @since 0.1.0
 */
public interface TetherClient extends AutoCloseable {

    /**
     * A builder for a client of the server at {@code uri}.
     *
     * @param uri the WebSocket address, {@code ws://} or {@code wss://}, such as
     *            {@code ws://127.0.0.1:8080/tether}
     * @return the builder
     */
    static Builder builder(URI uri) {
        return new Builder(uri);
    }

    /**
     * Opens the first connection and starts the session. The future completes when the server's
     * {@code welcome} arrives (after {@link Listener#onOpen}). It fails, and the client stays
     * unconnected so that {@code connect()} may be called again, when that first attempt fails:
     * with a {@link HandshakeException} carrying the HTTP status if the server refused the
     * upgrade (401, 403, 503), with a {@link ConnectionClosedException} if the connection closed
     * before the {@code welcome}, or with the {@link java.io.IOException} of the network. The
     * first connect is not retried; once connected, the client reconnects by itself.
     *
     * <p>Calling it again while connecting or connected returns a future for the same outcome.
     *
     * @return a future that completes with this client once welcomed, or fails as described above
     * @throws IllegalStateException if the client was closed
     */
    CompletableFuture<TetherClient> connect();

    /**
     * Sends a reliable message to the server application: numbered, kept until the server
     * acknowledges it and resent after a resume; the server's handler runs once for it. It is
     * queued even while disconnected (and before {@link #connect()}).
     *
     * @param event the event name, not empty
     * @param payload the message body
     * @return {@link SendResult#ENQUEUED} if queued; {@link SendResult#OVERFLOW} if
     *     {@link Builder#maxUnacked(int)} messages are already waiting for an acknowledgement
     *     (nothing was queued, try again later); {@link SendResult#CLOSED} if the client is closed
     * @throws IllegalArgumentException if {@code event} is empty or the encoded message is larger
     *     than the server's {@code maxMessageBytes}
     */
    SendResult send(String event, Payload payload);

    /**
     * Sends a volatile message: not numbered, never resent, dropped (and counted) when
     * disconnected or when the connection is backed up.
     *
     * @param event the event name, not empty
     * @param payload the message body
     * @return {@link SendResult#ENQUEUED} if handed to the current connection (it can still be
     *     lost with it); {@link SendResult#DROPPED} if not connected; {@link SendResult#CLOSED}
     *     if the client is closed
     * @throws IllegalArgumentException if {@code event} is empty or the message is too large
     */
    SendResult sendVolatile(String event, Payload payload);

    /**
     * Sends a reliable message that expects a reply from the server application.
     *
     * @param event the event name, not empty
     * @param payload the request body
     * @param timeout how long to wait for the reply, counted from now, across reconnects
     * @return a future that completes with the reply's payload, or exceptionally with a
     *     {@link RequestException} whose {@link RequestException#code() code} is
     *     {@link RequestException#TIMEOUT} after {@code timeout}, the server's error code (such as
     *     {@code "unhandled"}), {@link RequestException#OVERFLOW} if too many messages wait for an
     *     acknowledgement, or {@link RequestException#CLOSED} if the client closed or the session
     *     was lost first
     * @throws IllegalArgumentException if {@code event} is empty, {@code timeout} is not positive
     *     or the message is too large
     */
    CompletableFuture<Payload> request(String event, Payload payload, Duration timeout);

    /**
     * Subscribes the session to a topic. The subscription is remembered: the server keeps it
     * across a resume, and the client subscribes again by itself after a reconnect that started a
     * new session. The server refuses it with {@code "forbidden"} unless its authorizer grants
     * the topic to this client; by default it grants none (PROTOCOL.md §8).
     *
     * @param topic the topic
     * @return a future that completes when the server confirmed, or fails with a
     *     {@link RequestException} carrying the server's code (such as {@code "forbidden"}; the
     *     topic is then forgotten) or {@link RequestException#CLOSED}. If disconnected, the
     *     subscription is sent once the connection is back.
     */
    CompletableFuture<Void> subscribe(String topic);

    /**
     * Unsubscribes the session from a topic and forgets it.
     *
     * @param topic the topic
     * @return a future that completes when the server confirmed (or, if the session was lost in
     *     the meantime, at once: the new session has no subscription), or fails with a
     *     {@link RequestException}
     */
    CompletableFuture<Void> unsubscribe(String topic);

    /**
     * Publishes a reliable message on a topic, to every subscriber (this session included if it is
     * subscribed). Same contract as {@link #send}. A refusal by the server's authoriser (by
     * default it refuses every client publish, PROTOCOL.md §8) arrives later, as a
     * {@link RequestException} with code {@code "forbidden"} given to {@link Listener#onError};
     * the message is delivered to no one.
     *
     * @param topic the topic
     * @param event the event name, not empty
     * @param payload the message body
     * @return as for {@link #send}
     */
    SendResult publish(String topic, String event, Payload payload);

    /**
     * Publishes a volatile message on a topic. Same contract as {@link #sendVolatile}.
     *
     * @param topic the topic
     * @param event the event name, not empty
     * @param payload the message body
     * @return as for {@link #sendVolatile}
     */
    SendResult publishVolatile(String topic, String event, Payload payload);

    /** {@return the topics this client wants to be subscribed to (a snapshot)} */
    Set<String> topics();

    /** {@return the current session id, or {@code null} before the first {@code welcome}} */
    String sessionId();

    /** {@return whether a connection is open and welcomed now} */
    boolean isConnected();

    /**
     * {@return whether the client has stopped for good ({@link #close()} or a terminal failure)}
     */
    boolean isClosed();

    /** {@return a snapshot of this client's counters and gauges} */
    ClientStats stats();

    /**
     * For tests and fault injection: aborts the current connection without a close handshake
     * ({@link java.net.http.WebSocket#abort()}), as if the network had failed. The client reports
     * {@link Listener#onDisconnected} with code 1006, reconnects with backoff and resumes. Does
     * nothing if not connected.
     */
    void disconnectAbruptly();

    /**
     * Closes the client: frames already handed to the connection are written, then a close frame
     * with code 1000 ends the session on the server; the client never reconnects. Reliable
     * messages not yet acknowledged are discarded, pending requests and subscriptions fail with
     * {@link RequestException#CLOSED}, then {@link Listener#onClosed} runs with a {@code null}
     * cause. Idempotent; does not block.
     */
    @Override
    void close();

    /**
     * Receives a client's events. Every method has a default that does nothing (or, for
     * {@link #onRequest}, fails the request with {@code "unhandled"}).
     *
     * <p><b>Threading.</b> Callbacks of one client run one at a time, in the order of the events,
     * on the client's callback executor, never on an I/O thread. A callback may block, but that
     * delays the client's later callbacks; when too many are waiting (256), the client stops
     * reading from the connection until they drain (backpressure), which can make the server drop
     * the connection as a slow consumer. A callback that throws is logged, counted in
     * {@link ClientStats#callbackErrors()} and given to {@link #onError}; the client carries on.
     */
    interface Listener {

        /** A listener that ignores every event. */
        Listener NO_OP = new Listener() { };

        /**
         * A connection was welcomed by the server.
         *
         * @param client the client
         * @param resumed {@code true} if the previous session continues (messages not acknowledged
         *                on either side are being resent), {@code false} for a new session
         */
        default void onOpen(TetherClient client, boolean resumed) {
        }

        /**
         * A message from the server, exactly once and in order if reliable.
         *
         * @param client the client
         * @param message the message
         */
        default void onMessage(TetherClient client, Message message) {
        }

        /**
         * A request from the server that expects a reply. Answer once, from any thread, now or
         * later, through {@code responder}. If the connection is lost before the answer is
         * written, the answer is dropped and the server's request times out. The default fails the
         * request with code {@code "unhandled"}.
         *
         * @param client the client
         * @param message the request
         * @param responder answers the request
         */
        default void onRequest(TetherClient client, Message message, Responder responder) {
            responder.fail("unhandled", "no request handler for '" + message.event() + "'");
        }

        /**
         * Server messages {@code fromSeq}..{@code toSeq} are lost for good (the server's queue or
         * replay buffer overflowed). Re-fetch the state they would have carried. Later messages
         * continue normally.
         *
         * @param client the client
         * @param fromSeq the first lost sequence number
         * @param toSeq the last lost sequence number
         * @param reason the server's reason, such as {@code "overflow"}
         */
        default void onGap(TetherClient client, long fromSeq, long toSeq, String reason) {
        }

        /**
         * The server no longer had the session when the client tried to resume it (it expired, or
         * the server restarted): the client now has a new session, its subscriptions are being
         * re-established, and everything the application derived from the old session may be
         * stale. Called before {@link #onOpen} with {@code resumed == false}.
         *
         * @param client the client
         * @param reason         the server's reason, such as {@code "expired"} or {@code "unknown"}
         * @param unacknowledged the reliable messages ({@link #send}/{@link #publish}) of the old
         *                       session the server had not acknowledged, in order: they may or may
         *                       not have been processed, and are not resent automatically; send
         *                       them again if the application can tolerate a duplicate. Pending
         *                       requests fail with {@link RequestException#CLOSED} instead.
         */
        default void onSessionLost(TetherClient client, String reason, List<Message> unacknowledged) {
        }

        /**
         * A welcomed connection ended. Unless {@link #onClosed} follows, the client reconnects
         * with backoff and resumes.
         *
         * @param client the client
         * @param code   the WebSocket close code; 1006 if the connection died without one, 4002 if
         *               the server fell silent past the heartbeat timeout, 1002 if the server broke
         *               the protocol
         * @param reason the close reason, possibly empty
         */
        default void onDisconnected(TetherClient client, int code, String reason) {
        }

        /**
         * Something that could not be reported through a future or a result: a refused publish
         * ({@link RequestException} with the server's code), a refused automatic re-subscription,
         * a refused token refresh ({@link RequestException} with code {@code "unauthorized"},
         * {@code "forbidden"} or {@code "unavailable"}), a token supplier that failed
         * ({@link java.io.IOException}), a callback that threw. Informational; the client carries
         * on.
         *
         * @param client the client
         * @param error what went wrong
         */
        default void onError(TetherClient client, Throwable error) {
        }

        /**
         * The client stopped for good and will not reconnect. The last callback.
         *
         * @param client the client
         * @param cause {@code null} after {@link #close()}; otherwise why it gave up: a
         *              {@link ConnectionClosedException} with a terminal close code, or a
         *              {@link HandshakeException} with status 401 (after a second token, see
         *              {@link Builder#tokenSupplier}) or 403, whose message is
         *              {@code "unauthorized: "} or {@code "forbidden: "} and the server's reason
         */
        default void onClosed(TetherClient client, Throwable cause) {
        }
    }

    /**
     * Configures and builds a {@link TetherClient}. Every setting has a documented default;
     * {@link #build()} validates and names the offending setting. Not thread-safe; a builder may
     * build several clients.
     */
    final class Builder {

        /** Default base of the reconnect backoff: 250 ms. */
        public static final Duration DEFAULT_BACKOFF_BASE = Duration.ofMillis(250);
        /** Default cap of the reconnect backoff: 30 s. */
        public static final Duration DEFAULT_BACKOFF_CAP = Duration.ofSeconds(30);
        /** Default {@link #ackEvery(int)}: 32 messages. */
        public static final int DEFAULT_ACK_EVERY = 32;
        /** Default {@link #ackDelay(Duration)}: 200 ms. */
        public static final Duration DEFAULT_ACK_DELAY = Duration.ofMillis(200);
        /** Default {@link #maxUnacked(int)}: 1024 messages. */
        public static final int DEFAULT_MAX_UNACKED = 1024;
        /** Default {@link #connectTimeout(Duration)}: 10 s. */
        public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

        // Headers the JDK WebSocket sets itself and refuses from the application.
        private static final Set<String> RESTRICTED_HEADERS = Set.of("connection", "content-length",
                "expect", "host", "upgrade", "sec-websocket-accept", "sec-websocket-extensions",
                "sec-websocket-key", "sec-websocket-protocol", "sec-websocket-version");

        private final URI uri;
        private final List<String[]> headers = new ArrayList<>();
        private Supplier<? extends CompletionStage<String>> tokens;
        private Listener listener = Listener.NO_OP;
        private Duration backoffBase = DEFAULT_BACKOFF_BASE;
        private Duration backoffCap = DEFAULT_BACKOFF_CAP;
        private int ackEvery = DEFAULT_ACK_EVERY;
        private Duration ackDelay = DEFAULT_ACK_DELAY;
        private int maxUnacked = DEFAULT_MAX_UNACKED;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private HttpClient httpClient;
        private Executor callbackExecutor;

        private Builder(URI uri) {
            this.uri = Objects.requireNonNull(uri, "uri");
        }

        /**
         * Sends {@code Authorization: Bearer <token>} with every upgrade request, and the same
         * token when the server asks for a fresh one. A shortcut for a {@link #tokenSupplier}
         * that always answers {@code token}; the later of the two calls wins. Default: none.
         *
         * @param token the bearer token
         * @return this builder
         */
        public Builder bearerToken(String token) {
            Objects.requireNonNull(token, "token");
            CompletableFuture<String> fixed = CompletableFuture.completedFuture(token);
            this.tokens = () -> fixed;
            return this;
        }

        /**
         * Where bearer tokens come from, for credentials that expire (a JWT, an OAuth access
         * token). The supplier is asked for a token before every connection attempt, the first
         * connect, reconnects and resumes alike (it goes in {@code Authorization: Bearer}), and
         * whenever the server asks for a fresh token inside a live session (PROTOCOL.md §12),
         * which the client then sends without interrupting the connection. A reconnect refused
         * with HTTP 401 asks it once more before the client gives up.
         *
         * <p>The supplier runs on the client's callback executor and must not block: return a
         * stage that completes when the token is at hand (for example after a call to the
         * identity provider). A supplier that throws, whose stage fails, completes with
         * {@code null} or an empty token, or does not complete within
         * {@link #connectTimeout(Duration)}, fails that connection attempt like a network error:
         * {@link TetherClient#connect()} fails with an {@link java.io.IOException} whose cause is
         * the supplier's failure (a {@link java.util.concurrent.TimeoutException} for a timeout),
         * and a reconnect is reported to {@link Listener#onError} and tried again with backoff.
         * A failure to answer the server's request is reported to {@link Listener#onError} too;
         * the connection then lasts until the credentials expire and the client reconnects.
         * The later of this and {@link #bearerToken} wins. Default: none.
         *
         * @param tokens supplies a stage per token asked for
         * @return this builder
         */
        public Builder tokenSupplier(Supplier<? extends CompletionStage<String>> tokens) {
            this.tokens = Objects.requireNonNull(tokens, "tokens");
            return this;
        }

        /**
         * Adds a header to every upgrade request, such as {@code Origin}. Headers the WebSocket
         * handshake owns ({@code Upgrade}, {@code Sec-WebSocket-*}, ...) are refused.
         *
         * @param name the header name
         * @param value its value
         * @return this builder
         * @throws IllegalArgumentException if the header is one the handshake owns
         */
        public Builder header(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            if (name.isEmpty() || RESTRICTED_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("header: '" + name + "' cannot be set");
            }
            headers.add(new String[] {name, value});
            return this;
        }

        /**
         * Sets where the client's events go. Default: {@link Listener#NO_OP}.
         *
         * @param listener the listener
         * @return this builder
         */
        public Builder listener(Listener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Reconnect backoff: attempt {@code n} (0 for the first reconnect) waits a uniformly random
         * time in {@code [0, min(cap, base * 2^n)]}; a server's {@code reconnect} frame or
         * {@code Retry-After} adds a minimum under that jitter. The attempt count restarts after
         * each {@code welcome}. Defaults: 250 ms and 30 s.
         *
         * @param base the first reconnect's longest wait
         * @param cap the longest wait of any reconnect
         * @return this builder
         */
        public Builder reconnectBackoff(Duration base, Duration cap) {
            this.backoffBase = Objects.requireNonNull(base, "base");
            this.backoffCap = Objects.requireNonNull(cap, "cap");
            return this;
        }

        /**
         * Acknowledges server messages after this many at the latest. Default: 32.
         *
         * @param messages at least 1
         * @return this builder
         */
        public Builder ackEvery(int messages) {
            this.ackEvery = messages;
            return this;
        }

        /**
         * Acknowledges server messages this long after the first unacknowledged one at the latest.
         * Default: 200 ms.
         *
         * @param delay positive
         * @return this builder
         */
        public Builder ackDelay(Duration delay) {
            this.ackDelay = Objects.requireNonNull(delay, "delay");
            return this;
        }

        /**
         * Bound on reliable messages queued or sent and not yet acknowledged by the server; past
         * it, {@link TetherClient#send} returns {@link SendResult#OVERFLOW}. Default: 1024.
         *
         * @param messages 1 to 1,048,576
         * @return this builder
         */
        public Builder maxUnacked(int messages) {
            this.maxUnacked = messages;
            return this;
        }

        /**
         * Bound on each connection attempt: the WebSocket upgrade, and then again the wait for the
         * server's {@code welcome}. Default: 10 s.
         *
         * @param timeout positive
         * @return this builder
         */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /**
         * The JDK HTTP client that opens the WebSockets. Share one between many clients to share
         * its selector thread. Default: one HTTP client shared by every Tether client that was not
         * given one.
         *
         * @param client the HTTP client
         * @return this builder
         */
        public Builder httpClient(HttpClient client) {
            this.httpClient = Objects.requireNonNull(client, "client");
            return this;
        }

        /**
         * Where listener callbacks and future completions run. The client always wraps it so that
         * its callbacks run one at a time and in order, whatever the executor's threads. Default:
         * a small pool of daemon threads shared by every client.
         *
         * @param executor the executor
         * @return this builder
         */
        public Builder callbackExecutor(Executor executor) {
            this.callbackExecutor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /**
         * Builds an unconnected client; call {@link TetherClient#connect()}.
         *
         * @return the client, not connected yet
         * @throws IllegalArgumentException naming the first invalid setting
         */
        public TetherClient build() {
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("ws") && !scheme.equals("wss")) {
                throw new IllegalArgumentException("uri: scheme must be ws or wss: " + uri);
            }
            requirePositive("reconnectBackoff.base", backoffBase);
            requirePositive("reconnectBackoff.cap", backoffCap);
            if (backoffCap.compareTo(backoffBase) < 0) {
                throw new IllegalArgumentException("reconnectBackoff: cap must not be below base");
            }
            if (ackEvery < 1) {
                throw new IllegalArgumentException("ackEvery: must be at least 1, was " + ackEvery);
            }
            requirePositive("ackDelay", ackDelay);
            if (maxUnacked < 1 || maxUnacked > (1 << 20)) {
                throw new IllegalArgumentException("maxUnacked: must be in 1..1048576, was " + maxUnacked);
            }
            requirePositive("connectTimeout", connectTimeout);
            if (tokens != null && headers.stream().anyMatch(h -> h[0].equalsIgnoreCase("Authorization"))) {
                throw new IllegalArgumentException("header: 'Authorization' cannot be set with bearerToken or tokenSupplier");
            }
            return new ClientEngine(new ClientSettings(uri, headers, tokens, listener,
                    backoffBase.toMillis(), backoffCap.toMillis(), ackEvery, ackDelay.toMillis(),
                    maxUnacked, connectTimeout.toMillis(), httpClient, callbackExecutor));
        }

        private static void requirePositive(String name, Duration value) {
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(name + ": must be positive, was " + value);
            }
            if (value.toMillis() == 0) {
                throw new IllegalArgumentException(name + ": must be at least 1 ms, was " + value);
            }
        }
    }
}
