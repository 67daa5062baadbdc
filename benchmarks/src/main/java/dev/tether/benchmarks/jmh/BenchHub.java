package dev.tether.benchmarks.jmh;

import dev.tether.core.spi.TransportHub;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tether.core.Payload;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Stats;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.ConnectionListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.Principal;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real hub for benchmarks, made with {@link Tether#create}, and the steps a transport takes to
 * attach a connection: {@link dev.tether.core.spi.TransportHub#connect(dev.tether.core.spi.TransportConnection, dev.tether.core.spi.AuthResult.Accepted)}, then a hello fed through the listener on the
 * connection's I/O thread.
 *
 * <p>Configuration: defaults (queue 1024, replay buffer 1024 messages / 1 MiB, drain batch 256)
 * except: the heartbeat, an hour apart so that no timer task reaches the I/O thread while
 * measuring; the inbound rate limit, raised out of reach (a benchmark feeds far more acks per
 * second than the default 1000 per connection allows) but still on, so its check stays on the
 * measured path; and an error handler that records instead of logging.
 */
final class BenchHub implements AutoCloseable {

    private static final Principal PRINCIPAL = () -> "benchmark";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Queue<String> errors = new ConcurrentLinkedQueue<>();
    private final Tether tether;

    BenchHub() {
        TetherConfig config = TetherConfig.builder()
                .heartbeatInterval(Duration.ofHours(1))
                .heartbeatTimeout(Duration.ofHours(1))
                .inboundRateLimit(Integer.MAX_VALUE, Integer.MAX_VALUE)
                .maxHandshakesPerSecond(Integer.MAX_VALUE)
                .errorHandler((context, error) -> errors.add(context + ": " + error))
                .build();
        this.tether = Tether.create(config, new SessionHandler() { });
    }

    Tether tether() {
        return tether;
    }

    /** A small JSON object, like a chat message: {@code {"user":"alice","text":"hello, world","n":42}}. */
    static Payload smallJson() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("user", "alice");
        node.put("text", "hello, world");
        node.put("n", 42);
        return Payload.json(node);
    }

    /**
     * Attaches {@code connection} and opens a new session on it. Call on the connection's I/O
     * thread; {@code runIo} runs the tasks the engine queued for that thread.
     */
    Session open(BenchConnection connection, Runnable runIo) {
        connection.startCapture();
        if (TransportHub.of(tether).admit() != TransportHub.ADMITTED) {
            throw new IllegalStateException("not admitted: " + tether.stats());
        }
        ConnectionListener listener = TransportHub.of(tether).connect(connection, PRINCIPAL);
        connection.listener(listener);
        connection.feed(BenchConnection.helloFrame());
        runIo.run();
        List<String> written = connection.stopCapture();
        connection.ready();
        for (String frame : written) {
            JsonNode node;
            try {
                node = JSON.readTree(frame);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (node.path("t").asText().equals("welcome")) {
                String sid = node.path("sid").asText();
                return tether.session(sid).orElseThrow(() -> new IllegalStateException("no session " + sid));
            }
        }
        throw new IllegalStateException("no welcome after hello; written: " + written);
    }

    /**
     * Fails if the engine left the fast path during the benchmark (overflow, gap, slow-consumer
     * close, protocol error, refusal, handler error): figures measured that way would not mean
     * what they say.
     */
    void verify(String benchmark) {
        Stats s = tether.stats();
        if (s.reliableOverflowed() != 0 || s.gaps() != 0 || s.slowConsumerCloses() != 0
                || s.protocolErrors() != 0 || s.refused() != 0 || s.handlerErrors() != 0 || s.volatileDropped() != 0
                || !errors.isEmpty()) {
            throw new IllegalStateException(benchmark + ": the engine left the fast path: " + s + " " + errors);
        }
    }

    /**
     * Closes the hub as an application does, from a thread that is not an I/O thread, while the
     * calling thread, the connections' I/O thread, keeps running {@code runIo} until the drain is
     * over: the drain writes each connection's {@code reconnect} frame on its I/O thread and waits
     * until what was queued is written and acknowledged (acknowledge everything first). Calling
     * {@link Tether#close()} on the I/O thread itself would break its contract: the hub could not
     * wait for the connections that thread serves, and says so in a warning.
     */
    void closeWhileRunning(Runnable runIo) {
        CompletableFuture<Void> closing = CompletableFuture.runAsync(tether::close);
        while (!closing.isDone()) {
            runIo.run();
            try {
                closing.get(1, TimeUnit.MILLISECONDS);
            } catch (TimeoutException stillDraining) {
                // run the I/O tasks the drain queued meanwhile
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the hub drains", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("closing the hub failed", e.getCause());
            }
        }
        runIo.run();
    }

    @Override
    public void close() {
        tether.close();
    }
}
