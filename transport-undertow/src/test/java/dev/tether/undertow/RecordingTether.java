package dev.tether.undertow;

import dev.tether.core.Payload;
import dev.tether.core.PresenceListener;
import dev.tether.core.Registration;
import dev.tether.core.Session;
import dev.tether.core.Stats;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.TransportConnection;
import dev.tether.core.spi.TransportHub;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.time.Instant;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in hub for tests of the transport's side of the SPI: it records every connection the
 * transport attaches and every event the transport feeds it, and does nothing else. Tests that
 * need the engine's behaviour use the real hub ({@link Tether#create}).
 */
final class RecordingTether implements Tether, TransportHub {

    private final TetherConfig config;
    private final BlockingQueue<Attached> attached = new LinkedBlockingQueue<>();

    RecordingTether(TetherConfig config) {
        this.config = config;
    }

    /** A connection the transport attached, and what the transport told about it. */
    static final class Attached implements ConnectionListener {
        final TransportConnection connection;
        final Principal principal;
        /** When the connection's credentials expire, or {@code null}. */
        final Instant expiresAt;
        final BlockingQueue<String> frames = new LinkedBlockingQueue<>();
        final BlockingQueue<Integer> closes = new LinkedBlockingQueue<>();
        final AtomicInteger closedCalls = new AtomicInteger();
        final AtomicInteger writableCalls = new AtomicInteger();
        final AtomicInteger offIoThreadCalls = new AtomicInteger();
        final AtomicInteger callsAfterClose = new AtomicInteger();
        final CompletableFuture<Void> firstWritable = new CompletableFuture<>();
        final boolean connectedOnIoThread;
        volatile String closeReason;

        Attached(TransportConnection connection, AuthResult.Accepted credentials) {
            this.connection = connection;
            this.principal = credentials.principal();
            this.expiresAt = credentials.expiresAt();
            this.connectedOnIoThread = connection.inIoThread();
        }

        private void check() {
            if (!connection.inIoThread()) {
                offIoThreadCalls.incrementAndGet();
            }
            if (closedCalls.get() > 0) {
                callsAfterClose.incrementAndGet();
            }
        }

        @Override
        public void onFrame(ByteBuffer data, boolean binary) {
            check();
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            frames.add((binary ? "binary:" : "text:") + new String(bytes, StandardCharsets.UTF_8));
        }

        @Override
        public void onWritable() {
            check();
            writableCalls.incrementAndGet();
            firstWritable.complete(null);
        }

        @Override
        public void onClosed(int code, String reason) {
            check();
            closedCalls.incrementAndGet();
            closeReason = reason;
            closes.add(code);
        }

        String nextFrame(Duration timeout) throws InterruptedException {
            return frames.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        Integer nextClose(Duration timeout) throws InterruptedException {
            return closes.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** The next connection the transport attaches, waiting up to {@code timeout}. */
    Attached nextConnection(Duration timeout) throws InterruptedException {
        return attached.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public TetherConfig config() {
        return config;
    }

    @Override
    public int admit() {
        return ADMITTED;
    }

    @Override
    public void cancelAdmission() {
    }

    @Override
    public ConnectionListener connect(TransportConnection connection, AuthResult.Accepted credentials) {
        Attached a = new Attached(connection, credentials);
        attached.add(a);
        return a;
    }

    @Override
    public int publish(String topic, String event, Payload payload) {
        throw new UnsupportedOperationException();
    }

    @Override
    public int publishVolatile(String topic, String event, Payload payload) {
        throw new UnsupportedOperationException();
    }

    @Override
    public java.util.concurrent.CompletableFuture<Void> publishAsync(String topic, String event, Payload payload) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Optional<Session> session(String id) {
        return Optional.empty();
    }

    @Override
    public Collection<Session> sessions() {
        throw new UnsupportedOperationException();
    }

    @Override
    public int subscribers(String topic) {
        throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<Map<String, String>> presence(String topic) {
        throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<Long> connectionCount() {
        throw new UnsupportedOperationException();
    }

    @Override
    public Registration onPresence(String topic, PresenceListener listener) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Stats stats() {
        throw new UnsupportedOperationException();
    }

    @Override
    public State state() {
        return State.RUNNING;
    }

    @Override
    public void close() {
    }
}
