package dev.tether.core.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.Tether;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A transport connection without sockets, for engine tests: one single-threaded executor plays
 * the I/O thread, frames written are parsed as JSON and handed to the test once flushed.
 */
final class InMemoryConnection implements TransportConnection {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration WAIT = Duration.ofSeconds(10);

    private final ExecutorService io;
    private final Thread ioThread;
    private final List<byte[]> unflushed = new ArrayList<>();
    /** Frames made visible by flush(), in order. */
    final BlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();
    final CompletableFuture<Integer> closeCode = new CompletableFuture<>();
    /** When each ping was flushed (System.nanoTime()). */
    final java.util.Queue<Long> pingTimes = new java.util.concurrent.ConcurrentLinkedQueue<>();
    volatile String closeReason;
    volatile int flushes;
    volatile int framesWritten;
    volatile boolean writable = true;
    volatile boolean readsSuspended;
    private ConnectionListener listener;
    private boolean closed;

    InMemoryConnection() {
        Thread[] holder = new Thread[1];
        this.io = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "in-memory-io");
            t.setDaemon(true);
            holder[0] = t;
            return t;
        });
        // Start the thread so inIoThread() has something to compare with.
        CompletableFuture.runAsync(() -> { }, io).join();
        this.ioThread = holder[0];
    }

    /** Connects to the hub on the I/O thread, as a transport does after the upgrade. */
    static InMemoryConnection open(Tether tether, Principal principal) {
        InMemoryConnection c = new InMemoryConnection();
        if (tether.admit() != Tether.ADMITTED) {
            throw new AssertionError("not admitted");
        }
        c.listener = CompletableFuture.supplyAsync(() -> tether.connect(c, principal), c.io).join();
        return c;
    }

    /** Sends one client frame (JSON text) through the listener on the I/O thread. */
    void send(String json) {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        io.execute(() -> {
            if (!closed) {
                listener.onFrame(ByteBuffer.wrap(bytes), false);
            }
        });
    }

    /** Sends hello and returns the welcome. */
    JsonNode hello() {
        send("{\"t\":\"hello\",\"v\":1}");
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

    /** Waits for the close code. */
    int awaitClose() {
        return closeCode.orTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS).join();
    }

    /** Blocks the I/O thread until the returned latch is counted down. */
    CountDownLatch blockIo() {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        io.execute(() -> {
            blocked.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            blocked.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return release;
    }

    /** Runs {@code task} on the I/O thread and waits for it. */
    void onIo(Runnable task) {
        CompletableFuture.runAsync(task, io).join();
    }

    /** The transport dies without a close frame. */
    void drop() {
        io.execute(() -> closeLocally(1006, ""));
    }

    /** Becomes writable again and tells the engine. */
    void setWritable() {
        io.execute(() -> {
            writable = true;
            listener.onWritable();
        });
    }

    // ------------------------------------------------------------ TransportConnection

    @Override
    public boolean write(Frame frame) {
        assertIo();
        if (closed) {
            return false;
        }
        int n = frame.length();
        byte[] bytes = new byte[n];
        int at = 0;
        for (ByteBuffer part : frame.parts()) {
            ByteBuffer view = part.duplicate();
            int len = view.remaining();
            view.get(bytes, at, len);
            at += len;
        }
        unflushed.add(bytes);
        framesWritten++;
        return true;
    }

    @Override
    public void flush() {
        assertIo();
        flushes++;
        for (byte[] bytes : unflushed) {
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
        unflushed.clear();
    }

    @Override
    public boolean isWritable() {
        return writable;
    }

    @Override
    public void suspendReads() {
        readsSuspended = true;
    }

    @Override
    public void resumeReads() {
        readsSuspended = false;
    }

    @Override
    public void execute(Runnable task) {
        io.execute(task);
    }

    @Override
    public boolean inIoThread() {
        return Thread.currentThread() == ioThread;
    }

    @Override
    public void close(int code, String reason) {
        io.execute(() -> {
            flush();
            closeReason = reason;
            closeLocally(code, reason);
        });
    }

    private void closeLocally(int code, String reason) {
        if (closed) {
            return;
        }
        closed = true;
        closeCode.complete(code);
        listener.onClosed(code, reason);
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return new InetSocketAddress("127.0.0.1", 40000);
    }

    private void assertIo() {
        if (!inIoThread()) {
            throw new AssertionError("called off the I/O thread: " + Thread.currentThread().getName());
        }
    }
}
