package dev.tether.undertow.internal;

import dev.tether.core.spi.TransportHub;
import dev.tether.core.CloseCodes;
import dev.tether.core.Tether;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.TransportConnection;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ServerConnection;
import io.undertow.server.HttpUpgradeListener;
import io.undertow.util.AttachmentKey;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import io.undertow.websockets.core.WebSocketVersion;
import io.undertow.websockets.core.protocol.version13.Hybi13Handshake;
import java.util.Base64;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.BiFunction;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;

/**
 * Performs the RFC 6455 upgrade of an authenticated exchange and hands the upgraded socket to the
 * hub as an {@link UndertowConnection}.
 *
 * <p>Retention: Undertow's {@code HttpServerConnection} lives as long as the socket and keeps the
 * upgrade listener it was given. Stock {@code WebSocketProtocolHandshakeHandler} gives it a
 * listener per request that captures the {@code WebSocketHttpExchange}, and with it the whole
 * finished request (headers, query, attachments) for the lifetime of the WebSocket. This class is
 * that listener for every request of a handler and holds no per-request state: the
 * authenticator's acceptance (principal and expiry) travels to {@link #handleUpgrade} as an
 * exchange attachment that is removed when read, and the handshake facade is created per call
 * and dropped. Undertow itself drops its reference to the finished exchange, so nothing of the
 * request stays reachable from the connection ({@code UndertowConnectionIT} checks this by
 * walking the object graph). As a second line of defence the exchange is emptied after the
 * upgrade (headers, query, path parameters, the query string that may carry an access token).
 * On the standalone server the socket is then taken back from Undertow altogether
 * ({@link DetachableConnection}), and Undertow's HTTP connection with the listener goes too.
 *
 * <p>The connections it attached and whose sockets are still open are listed in
 * {@link #openConnections()}.
 *
 * <p>Admission: a handshake holds the slot {@link dev.tether.core.spi.TransportHub#admit()} reserved from
 * {@link #holdAdmission} until the connection is attached or the slot is taken by another kind
 * of session ({@link #takeAdmission}); every other outcome gives it back exactly once.
 *
 * <p>Threading: {@link #upgrade} runs on the thread handling the request (or answering it, after
 * an asynchronous authentication); {@link #handleUpgrade} runs on the connection's I/O thread,
 * where the hub is told about the connection. The admission methods may be called from any
 * thread.
 */
public final class WebSocketUpgrade implements HttpUpgradeListener {

    /** What the authenticator accepted: the principal and when its credentials expire. */
    private static final AttachmentKey<AuthResult.Accepted> CREDENTIALS = AttachmentKey.create(AuthResult.Accepted.class);
    /** The slot {@link dev.tether.core.spi.TransportHub#admit()} reserved: true while held and not yet attached. */
    private static final AttachmentKey<AdmissionHold> ADMISSION = AttachmentKey.create(AdmissionHold.class);
    private static final Hybi13Handshake HANDSHAKE = new Hybi13Handshake();
    /** A {@code Sec-WebSocket-Key} is 16 bytes, 24 characters of base64 with padding. */
    private static final int KEY_BYTES = 16;
    private static final int KEY_CHARS = 24;

    private final Tether tether;
    private final BiFunction<TransportConnection, AuthResult.Accepted, ConnectionListener> connector;
    private final ConnectionSettings settings;
    private final OpenConnections openConnections = new OpenConnections();

    /** Upgrades into {@code tether} with the given per-connection limits. */
    public WebSocketUpgrade(Tether tether, ConnectionSettings settings) {
        this(tether, TransportHub.of(tether)::connect, settings);
    }

    /**
     * Upgrades into {@code tether}, attaching each connection through {@code connector} (for a
     * second wire protocol on the same hub, such as Socket.IO).
     */
    public WebSocketUpgrade(Tether tether, BiFunction<TransportConnection, AuthResult.Accepted, ConnectionListener> connector,
                            ConnectionSettings settings) {
        this.tether = Objects.requireNonNull(tether, "tether");
        this.connector = Objects.requireNonNull(connector, "connector");
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /** The connections this upgrade attached to the hub whose sockets are still open. */
    public OpenConnections openConnections() {
        return openConnections;
    }

    /**
     * Whether the exchange is a WebSocket upgrade request this transport can answer: a GET with
     * {@code Upgrade: websocket}, version 13 and a valid key (RFC 6455 section 4.2.1: base64 of
     * 16 bytes).
     */
    public static boolean isUpgradeRequest(HttpServerExchange exchange) {
        if (!Methods.GET.equals(exchange.getRequestMethod())) {
            return false;
        }
        String upgrade = exchange.getRequestHeaders().getFirst(Headers.UPGRADE);
        if (upgrade == null || !containsToken(upgrade, "websocket")) {
            return false;
        }
        // Undertow only checks that a key is present, and would upgrade with any string.
        return isValidKey(exchange.getRequestHeaders().getFirst(Headers.SEC_WEB_SOCKET_KEY))
                && HANDSHAKE.matches(new HandshakeFacade(exchange));
    }

    /** Whether {@code key} is the base64 encoding of 16 bytes, as RFC 6455 requires. */
    static boolean isValidKey(String key) {
        if (key == null) {
            return false;
        }
        String trimmed = key.trim();
        if (trimmed.length() != KEY_CHARS) {
            return false;
        }
        try {
            return Base64.getDecoder().decode(trimmed).length == KEY_BYTES;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean containsToken(String header, String token) {
        for (String part : header.split(",")) {
            if (part.trim().equalsIgnoreCase(token)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Holds the connection slot the hub reserved for this exchange until the connection is
     * attached, and gives it back on every other outcome: a refusal answered with any status but
     * 101, or a socket that closes before the upgrade completes.
     */
    public void holdAdmission(HttpServerExchange exchange) {
        AdmissionHold held = new AdmissionHold();
        exchange.putAttachment(ADMISSION, held);
        exchange.addExchangeCompleteListener(held);
    }

    /** Gives the held slot back now: the handler is refusing this exchange. */
    public void releaseAdmission(HttpServerExchange exchange) {
        AdmissionHold held = exchange.getAttachment(ADMISSION);
        if (held != null) {
            held.release();
        }
    }

    /**
     * The slot one exchange holds, and the listeners that give it back: the exchange's end, and
     * after a 101 its connection's close. One object, since the close listener stays with the
     * connection for the socket's life (Undertow cannot remove it).
     */
    private final class AdmissionHold implements ExchangeCompletionListener, ServerConnection.CloseListener {
        private static final AtomicIntegerFieldUpdater<AdmissionHold> HELD =
                AtomicIntegerFieldUpdater.newUpdater(AdmissionHold.class, "held");

        private volatile int held = 1;

        /** Takes the slot; false if it was taken or given back already. */
        boolean take() {
            return HELD.compareAndSet(this, 1, 0);
        }

        void release() {
            if (take()) {
                TransportHub.of(tether).cancelAdmission();
            }
        }

        @Override
        public void exchangeEvent(HttpServerExchange done, NextListener next) {
            if (done.getStatusCode() != 101) {
                release();
            } else {
                // The upgrade happens after this listener; if the socket dies first, it never does.
                done.getConnection().addCloseListener(this);
            }
            next.proceed();
        }

        @Override
        public void closed(ServerConnection connection) {
            release();
        }
    }

    /**
     * Takes the held slot for the connection being attached, or for a session that will give it
     * back itself; false if it was given back already (or none was held).
     */
    public static boolean takeAdmission(HttpServerExchange exchange) {
        AdmissionHold held = exchange.removeAttachment(ADMISSION);
        return held != null && held.take();
    }

    /**
     * Answers 101 and arranges for {@link #handleUpgrade} to run once the response is written.
     * The caller has checked {@link #isUpgradeRequest}.
     */
    public void upgrade(HttpServerExchange exchange, AuthResult.Accepted credentials) {
        exchange.putAttachment(CREDENTIALS, Objects.requireNonNull(credentials, "credentials"));
        exchange.upgradeChannel(this);
        HANDSHAKE.handshake(new HandshakeFacade(exchange));
    }

    @Override
    public void handleUpgrade(StreamConnection streamConnection, HttpServerExchange exchange) {
        if (Thread.currentThread() != streamConnection.getIoThread()) {
            // A host that dispatched the request ends it on a worker thread; the hub and the
            // channel must only ever see the connection's I/O thread.
            streamConnection.getIoThread().execute(() -> attach(streamConnection, exchange));
        } else {
            attach(streamConnection, exchange);
        }
    }

    private void attach(StreamConnection streamConnection, HttpServerExchange exchange) {
        AuthResult.Accepted credentials = exchange.removeAttachment(CREDENTIALS);
        if (!takeAdmission(exchange)) {
            // Nothing reserved a slot (a host that bypassed the handler), or it was given back.
            if (TransportHub.of(tether).admit() != TransportHub.ADMITTED) {
                forget(exchange);
                IoUtils.safeClose(streamConnection);
                return;
            }
        }
        forget(exchange);
        // After the admission is taken: the detach runs Undertow's close listeners, the admission
        // hold's among them.
        DetachableConnection.Detached upgraded = DetachableConnection.detach(streamConnection, exchange.getConnection());
        if (credentials == null) {
            // Only reachable if something else upgraded this exchange with our listener.
            TransportHub.of(tether).cancelAdmission();
            UndertowConnection.refuse(upgraded.socket(), CloseCodes.INTERNAL_ERROR, "not authenticated");
            return;
        }
        UndertowConnection.open(upgraded, tether, connector, credentials, settings, openConnections);
    }

    /**
     * Empties the finished exchange, in case something (an Undertow version, a host's wrapper
     * handler) keeps referencing it for the lifetime of the socket.
     */
    private static void forget(HttpServerExchange exchange) {
        exchange.removeAttachment(WebSocketVersion.ATTACHMENT_KEY);
        exchange.getRequestHeaders().clear();
        exchange.getResponseHeaders().clear();
        exchange.getQueryParameters().clear();
        exchange.getPathParameters().clear();
        // The query string may carry an access token.
        exchange.setQueryString("");
    }
}
