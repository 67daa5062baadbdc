package dev.tether.socketio;

import dev.tether.core.spi.TransportHub;
import dev.tether.core.Tether;
import dev.tether.core.testing.InMemoryTransport;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * An Engine.IO connection without sockets, for tests of the Socket.IO state machine: one
 * single-threaded executor plays the I/O thread; flushed frames become visible to the test as
 * strings (binary ones as {@code "<bin:...>"} with their UTF-8 text).
 */
final class SioConnection extends InMemoryTransport {

    final BlockingQueue<String> received = new LinkedBlockingQueue<>();

    private SioConnection() {
        super("sio-test-io", 40001);
    }

    static SioConnection open(SocketIo io, Principal principal) {
        SioConnection c = new SioConnection();
        if (TransportHub.of(io.tether()).admit() != TransportHub.ADMITTED) {
            throw new AssertionError("not admitted");
        }
        c.connect(() -> io.connect(c, principal, io.newEngineId(), List.of()));
        return c;
    }

    void send(String text) {
        receive(text.getBytes(StandardCharsets.UTF_8), false);
    }

    void sendBinary(byte[] bytes) {
        receive(bytes.clone(), true);
    }

    /** The next flushed frame that is not a ping. */
    String next() {
        return next(f -> true, "frame");
    }

    String next(Predicate<String> wanted, String what) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        try {
            while (true) {
                String f = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (f == null) {
                    throw new AssertionError("no " + what + " within " + WAIT);
                }
                if (f.equals("2")) {
                    continue;
                }
                if (wanted.test(f)) {
                    return f;
                }
                throw new AssertionError("expected " + what + " but got " + f);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Nothing but pings flushed within {@code wait}. */
    String poll(Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            String f = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (f == null || !f.equals("2")) {
                return f;
            }
        }
    }

    @Override
    protected void delivered(byte[] bytes, boolean binary) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        received.add(binary ? "<bin:" + text + ">" : text);
    }
}
