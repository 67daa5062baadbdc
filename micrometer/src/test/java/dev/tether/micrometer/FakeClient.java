package dev.tether.micrometer;

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
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A native-protocol client on core's in-memory transport (no sockets): sends JSON frames through
 * the hub's listener on the connection's I/O thread and collects the frames the hub flushes.
 */
final class FakeClient extends InMemoryTransport {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final BlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();

    private FakeClient() {
        super("fake-client-io", 40000);
    }

    /** Admitted and attached to {@code tether} as {@code principal}, as a transport does after the upgrade. */
    static FakeClient open(Tether tether, Principal principal) {
        FakeClient c = new FakeClient();
        if (TransportHub.of(tether).admit() != TransportHub.ADMITTED) {
            throw new AssertionError("not admitted");
        }
        c.connect(() -> TransportHub.of(tether).connect(c, new AuthResult.Accepted(principal, null)));
        return c;
    }

    void send(String json) {
        receive(json.getBytes(StandardCharsets.UTF_8), false);
    }

    JsonNode hello() {
        send("{\"t\":\"hello\",\"v\":1}");
        return next("welcome");
    }

    /** Resumes the session {@code welcome} opened, having received up to {@code last}. */
    JsonNode resume(JsonNode welcome, long last) {
        send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText() + "\",\"token\":\""
                + welcome.path("token").asText() + "\",\"last\":" + last + "}");
        return next("welcome");
    }

    /** The next flushed frame of type {@code t}, skipping pings and acks. */
    JsonNode next(String t) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        try {
            while (true) {
                JsonNode f = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (f == null) {
                    throw new AssertionError("no " + t + " frame within " + WAIT);
                }
                String type = f.path("t").asText();
                if (type.equals(t)) {
                    return f;
                }
                if (!type.equals("ping") && !type.equals("ack")) {
                    throw new AssertionError("expected " + t + " but got " + f);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Waits until everything sent to the I/O thread so far has run. */
    void settle() {
        onIo(() -> { });
    }


    @Override
    protected void delivered(byte[] bytes, boolean binary) {
        try {
            received.add(JSON.readTree(bytes));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
