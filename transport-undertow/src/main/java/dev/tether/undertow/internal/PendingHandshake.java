package dev.tether.undertow.internal;

import dev.tether.core.spi.AuthResult;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.Connectors;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpServerConnection;
import io.undertow.util.SameThreadExecutor;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.Consumer;
import org.xnio.IoUtils;
import org.xnio.XnioExecutor;
import org.xnio.conduits.ConduitStreamSourceChannel;

/**
 * One handshake waiting: for an authenticator's answer that was not ready when the handler asked
 * ({@link #await}), or for its turn under the handshake rate ({@link #delay}). The exchange stays
 * open after the handler returns ({@code dispatch}), no thread waits, and the first of three
 * events ends the wait: the answer, the deadline, or the client closing its socket.
 * They race for a single atomic state; the losers are ignored, so an exchange is answered at most
 * once and a late answer changes nothing.
 *
 * <p>The deadline is a timer of the exchange's XNIO I/O thread (no thread and no wheel task per
 * handshake). While it waits, it watches the socket: end of stream or a read error means the
 * client went away, and the connection is closed at once rather than when the wait would have
 * ended. Bytes a client sends before its answer (a pipelined request) are given back to the
 * connection untouched, and the watch stops there. Only HTTP/1.1 connections are watched; on
 * others a client that leaves is noticed when the answer is written.
 *
 * <p>Threading: {@link #await} and {@link #delay} are called by the handler on the thread handling
 * the request; the stage may complete on any thread; every {@link Outcome} method, and a delay's
 * continuation, runs on the exchange's I/O thread.
 */
public final class PendingHandshake {

    /** How a wait ended. At most one method is called, once, on the exchange's I/O thread. */
    public interface Outcome {

        /**
         * The stage completed, with {@code result} or with {@code failure} (a
         * {@link CompletionException} unwrapped). Runs as a root handler: the exchange may be
         * answered, dispatched or upgraded as in {@code handleRequest}.
         */
        void completed(HttpServerExchange exchange, AuthResult result, Throwable failure);

        /** The deadline passed first. As {@link #completed}. */
        void timedOut(HttpServerExchange exchange);

        /** The client went away first (its connection is closed): nothing can be answered. */
        void gone(HttpServerExchange exchange);
    }

    private static final int WAITING = 0;
    private static final int COMPLETED = 1;
    private static final int TIMED_OUT = 2;
    private static final int GONE = 3;
    private static final AtomicIntegerFieldUpdater<PendingHandshake> STATE =
            AtomicIntegerFieldUpdater.newUpdater(PendingHandshake.class, "state");

    private final Outcome outcome;
    private volatile int state;
    /**
     * Read only by the winner of {@link #state}, which drops it: the stage, which the application
     * may keep, must not keep the request (and its credentials) alive through this wait.
     */
    private HttpServerExchange exchange;
    /** I/O thread only, as is {@link #watched}. */
    private XnioExecutor.Key deadline;
    private ConduitStreamSourceChannel watched;

    private PendingHandshake(HttpServerExchange exchange, Outcome outcome) {
        this.exchange = exchange;
        this.outcome = outcome;
    }

    /**
     * Keeps {@code exchange} open for {@code delayNanos}, then runs {@code then} on it as a root
     * handler, unless the client closes its socket first: then {@code gone} is told instead. Call
     * from {@code handleRequest}, which must return without answering. Both run on the exchange's
     * I/O thread.
     */
    public static void delay(HttpServerExchange exchange, long delayNanos, Consumer<HttpServerExchange> then,
                             Consumer<HttpServerExchange> gone) {
        Objects.requireNonNull(then, "then");
        Objects.requireNonNull(gone, "gone");
        start(exchange, null, delayNanos, new Outcome() {
            @Override
            public void completed(HttpServerExchange done, AuthResult result, Throwable failure) {
                throw new IllegalStateException("a delay has no stage to complete");
            }

            @Override
            public void timedOut(HttpServerExchange done) {
                then.accept(done); // the turn came
            }

            @Override
            public void gone(HttpServerExchange done) {
                gone.accept(done);
            }
        });
    }

    /**
     * Keeps {@code exchange} open until {@code stage} completes or {@code timeout} passes, then
     * tells {@code outcome}. Call from {@code handleRequest}, which must return without answering.
     */
    public static void await(HttpServerExchange exchange, CompletionStage<AuthResult> stage, Duration timeout,
                             Outcome outcome) {
        start(exchange, Objects.requireNonNull(stage, "stage"), timeout.toNanos(), Objects.requireNonNull(outcome, "outcome"));
    }

    /** {@code stage} null: a delay, which only the deadline or the client's leaving ends. */
    private static void start(HttpServerExchange exchange, CompletionStage<AuthResult> stage, long timeoutNanos,
                              Outcome outcome) {
        PendingHandshake pending = new PendingHandshake(exchange, outcome);
        // The task runs on the I/O thread once the handler has returned, with the exchange kept open.
        exchange.dispatch(exchange.isInIoThread() ? SameThreadExecutor.INSTANCE : exchange.getIoThread(),
                () -> pending.start(stage, timeoutNanos));
    }

    private void start(CompletionStage<AuthResult> stage, long timeoutNanos) {
        deadline = exchange.getIoThread().executeAfter(this::deadlinePassed, timeoutNanos, TimeUnit.NANOSECONDS);
        watchPeer();
        if (stage != null) {
            stage.whenComplete(this::stageCompleted);
        }
    }

    /** Any thread. */
    private void stageCompleted(AuthResult result, Throwable failure) {
        if (!STATE.compareAndSet(this, WAITING, COMPLETED)) {
            return; // timed out or gone: the answer comes too late
        }
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        try {
            exchange.getIoThread().execute(() -> finish(done -> outcome.completed(done, result, cause)));
        } catch (RejectedExecutionException e) {
            // The server is stopping and closes the connection; only the admission slot is left.
            HttpServerExchange done = exchange;
            exchange = null;
            outcome.gone(done);
        }
    }

    private void deadlinePassed() {
        if (STATE.compareAndSet(this, WAITING, TIMED_OUT)) {
            finish(outcome::timedOut);
        }
    }

    private void finish(HttpHandler answer) {
        deadline.remove();
        stopWatching();
        HttpServerExchange done = exchange;
        exchange = null;
        Connectors.executeRootHandler(answer, done);
    }

    // ------------------------------------------------------------ the client going away

    private void watchPeer() {
        // Undertow reads nothing while a request runs; without a read nobody sees the socket close.
        if (exchange.getConnection() instanceof HttpServerConnection connection && connection.getExtraBytes() == null) {
            watched = connection.getChannel().getSourceChannel();
            watched.setReadListener(channel -> peerReadable(connection));
            watched.resumeReads();
        }
    }

    private void peerReadable(HttpServerConnection connection) {
        if (watched == null) {
            return;
        }
        PooledByteBuffer buffer = connection.getByteBufferPool().allocate();
        int n;
        try {
            n = watched.read(buffer.getBuffer());
        } catch (IOException e) {
            n = -1;
        }
        if (n > 0) {
            buffer.getBuffer().flip();
            connection.ungetRequestBytes(buffer); // read again by whoever reads this connection next
            stopWatching();
            return;
        }
        buffer.close();
        if (n < 0) {
            stopWatching();
            if (STATE.compareAndSet(this, WAITING, GONE)) {
                deadline.remove();
                IoUtils.safeClose(connection);
                HttpServerExchange done = exchange;
                exchange = null;
                outcome.gone(done);
            }
        }
    }

    private void stopWatching() {
        if (watched != null) {
            // Leave the channel as Undertow left it when it handed the request over.
            watched.suspendReads();
            watched.setReadListener(null);
            watched = null;
        }
    }
}
