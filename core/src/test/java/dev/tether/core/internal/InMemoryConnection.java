package dev.tether.core.internal;

import dev.tether.core.spi.TransportHub;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.Tether;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.testing.InMemoryTransport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A transport connection without sockets, for engine tests: one single-threaded executor plays
 * the I/O thread, frames written are parsed as JSON and handed to the test once flushed.
 */
final class InMemoryConnection extends InMemoryTransport {

    static final ObjectMapper JSON = new ObjectMapper();

    /** Frames made visible by flush(), in order. */
    final BlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();
    /** When each ping was flushed (System.nanoTime()). */
    final java.util.Queue<Long> pingTimes = new java.util.concurrent.ConcurrentLinkedQueue<>();

    InMemoryConnection() {
        super("in-memory-io", 40000);
    }

    /** Connects to the hub on the I/O thread, as a transport does after the upgrade. */
    static InMemoryConnection open(Tether tether, Principal principal) {
        return open(tether, new AuthResult.Accepted(principal, null));
    }

    /** Connects with credentials that may expire. */
    static InMemoryConnection open(Tether tether, AuthResult.Accepted credentials) {
        InMemoryConnection c = new InMemoryConnection();
        if (TransportHub.of(tether).admit() != TransportHub.ADMITTED) {
            throw new AssertionError("not admitted");
        }
        c.connect(() -> TransportHub.of(tether).connect(c, credentials));
        return c;
    }

    /** Sends one client frame (JSON text) through the listener on the I/O thread. */
    void send(String json) {
        receive(json.getBytes(StandardCharsets.UTF_8), false);
    }

    /** Sends hello and returns the welcome. */
    JsonNode hello() {
        return hello(1);
    }

    /** Sends the hello of a client that speaks protocol {@code version} and returns the welcome. */
    JsonNode hello(int version) {
        send("{\"t\":\"hello\",\"v\":" + version + "}");
        return next("welcome");
    }

    /** The next flushed frame of type {@code t}, skipping pings. */
    JsonNode next(String t) {
        return next(f -> f.path("t").asText().equals(t), t);
    }

    JsonNode next(Predicate<JsonNode> wanted, String what) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        try {
            while (true) {
                JsonNode f = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (f == null) {
                    throw new AssertionError("no " + what + " frame within " + WAIT);
                }
                if (wanted.test(f)) {
                    return f;
                }
                if (!f.path("t").asText().equals("ping") && !f.path("t").asText().equals("ack")) {
                    throw new AssertionError("expected " + what + " but got " + f);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }


    @Override
    protected void delivered(byte[] bytes, boolean binary) {
        try {
            JsonNode frame = JSON.readTree(bytes);
            if (frame.path("t").asText().equals("ping")) {
                pingTimes.add(System.nanoTime());
            }
            received.add(frame);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
