package dev.tether.core.testing;

import dev.tether.core.spi.ConnectionListener;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A transport without a socket for engine tests: one daemon I/O thread, frames collected on
 * {@link #write} and handed to {@link #delivered} on {@link #flush}, closes and writability driven
 * by the test. Subclasses decode what the engine wrote for their protocol.
 */
public abstract class InMemoryTransport implements TransportConnection {

    public static final Duration WAIT = Duration.ofSeconds(10);

    private final ExecutorService io;
    private final Thread ioThread;
    private final List<Written> unflushed = new ArrayList<>();
    private final int remotePort;
    public final CompletableFuture<Integer> closeCode = new CompletableFuture<>();
    public volatile String closeReason;
    public volatile int flushes;
    public volatile int framesWritten;
    public volatile boolean writable = true;
    public volatile boolean readsSuspended;
    private ConnectionListener listener;
    private boolean closed;

    protected InMemoryTransport(String threadName, int remotePort) {
        this.remotePort = remotePort;
        Thread[] holder = new Thread[1];
        this.io = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            holder[0] = t;
            return t;
        });
        // Start the thread so inIoThread() has something to compare with.
        CompletableFuture.runAsync(() -> { }, io).join();
        this.ioThread = holder[0];
    }

    /** Attaches to the engine on the I/O thread, as a transport does after the upgrade. */
    protected void connect(Supplier<ConnectionListener> attach) {
        listener = CompletableFuture.supplyAsync(attach, io).join();
    }

    /** Called on the I/O thread by {@link #flush} for each frame written since the last flush. */
    protected abstract void delivered(byte[] bytes, boolean binary);

    /** Hands one client message to the engine on the I/O thread (dropped once closed). */
    protected void receive(byte[] bytes, boolean binary) {
        io.execute(() -> {
            if (!closed) {
                listener.onFrame(ByteBuffer.wrap(bytes), binary);
            }
        });
    }

    /** Waits for the close code. */
    public int awaitClose() {
        return closeCode.orTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS).join();
    }

    /** The transport dies without a close frame. */
    public void drop() {
        io.execute(() -> closeLocally(1006, ""));
    }

    /** Becomes writable again and tells the engine. */
    public void setWritable() {
        io.execute(() -> {
            writable = true;
            listener.onWritable();
        });
    }

    /** Runs {@code task} on the I/O thread and waits for it. */
    public void onIo(Runnable task) {
        CompletableFuture.runAsync(task, io).join();
    }

    @Override
    public boolean write(Frame frame) {
        assertIo();
        if (closed) {
            return false;
        }
        // Copied now: the parts may be shared with other deliveries.
        unflushed.add(new Written(frame.copyBytes(), frame.binary()));
        framesWritten++;
        return true;
    }

    @Override
    public void flush() {
        assertIo();
        flushes++;
        for (Written w : unflushed) {
            delivered(w.bytes(), w.binary());
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

    /** Blocks the I/O thread until the returned latch is counted down. */
    public CountDownLatch blockIo() {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        execute(() -> {
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
        return new InetSocketAddress("127.0.0.1", remotePort);
    }

    private void assertIo() {
        if (!inIoThread()) {
            throw new AssertionError("called off the I/O thread: " + Thread.currentThread().getName());
        }
    }

    private record Written(byte[] bytes, boolean binary) { }
}
