package dev.tether.socketio;

import dev.tether.core.Tether;
import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * An Engine.IO connection without sockets, for tests of the Socket.IO state machine: one
 * single-threaded executor plays the I/O thread; flushed frames become visible to the test as
 * strings (binary ones as {@code "<bin:...>"} with their UTF-8 text).
 */
final class SioConnection implements TransportConnection {

    static final Duration WAIT = Duration.ofSeconds(10);

    private final ExecutorService io;
    private final Thread ioThread;
    private final List<String> unflushed = new ArrayList<>();
    final BlockingQueue<String> received = new LinkedBlockingQueue<>();
    final CompletableFuture<Integer> closeCode = new CompletableFuture<>();
    volatile String closeReason;
    volatile boolean writable = true;
    private ConnectionListener listener;
    private boolean closed;

    private SioConnection() {
        Thread[] holder = new Thread[1];
        this.io = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "sio-test-io");
            t.setDaemon(true);
            holder[0] = t;
            return t;
        });
        CompletableFuture.runAsync(() -> { }, io).join();
        this.ioThread = holder[0];
    }

    static SioConnection open(SocketIo io, Principal principal) {
        SioConnection c = new SioConnection();
        if (io.tether().admit() != Tether.ADMITTED) {
            throw new AssertionError("not admitted");
        }
        c.listener = CompletableFuture.supplyAsync(
                () -> io.connect(c, principal, io.newEngineId(), List.of()), c.io).join();
        return c;
    }

    void send(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        io.execute(() -> {
            if (!closed) {
                listener.onFrame(ByteBuffer.wrap(bytes), false);
            }
        });
    }

    void sendBinary(byte[] bytes) {
        io.execute(() -> {
            if (!closed) {
                listener.onFrame(ByteBuffer.wrap(bytes.clone()), true);
            }
        });
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

    int awaitClose() {
        return closeCode.orTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS).join();
    }

    /** The transport dies without a close frame. */
    void drop() {
        io.execute(() -> closeLocally(1006, ""));
    }

    void setWritable() {
        io.execute(() -> {
            writable = true;
            listener.onWritable();
        });
    }

    @Override
    public boolean write(Frame frame) {
        if (!inIoThread()) {
            throw new AssertionError("write off the I/O thread");
        }
        if (closed) {
            return false;
        }
        StringBuilder b = new StringBuilder();
        for (ByteBuffer part : frame.parts()) {
            ByteBuffer view = part.duplicate();
            byte[] bytes = new byte[view.remaining()];
            view.get(bytes);
            b.append(new String(bytes, StandardCharsets.UTF_8));
        }
        unflushed.add(frame.binary() ? "<bin:" + b + ">" : b.toString());
        return true;
    }

    @Override
    public void flush() {
        received.addAll(unflushed);
        unflushed.clear();
    }

    @Override
    public boolean isWritable() {
        return writable;
    }

    @Override
    public void suspendReads() {
    }

    @Override
    public void resumeReads() {
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
        return new InetSocketAddress("127.0.0.1", 40001);
    }
}
