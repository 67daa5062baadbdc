package dev.tether.redis.internal;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The one thread that calls a broker's listener, in the order things were handed to it.
 *
 * <p>Threading: {@link #offer} is called by one producer at a time (the pub/sub connection's
 * event-loop thread); {@link #control} from any thread. Droppable data (entries) is bounded by
 * a capacity: when the queue is full it is dropped, and the drop is reported in order, as one
 * {@code onOverflow} run after everything accepted before the first drop and before anything
 * accepted after. Markers that must not be lost (ownership, subscriptions, presence) and
 * control tasks are few, one per operation, and always accepted.
 */
public final class Delivery {

    private static final System.Logger LOG = System.getLogger(Delivery.class.getName());

    private final ThreadPoolExecutor executor;
    private final int capacity;
    private final AtomicInteger pending = new AtomicInteger();
    private final Consumer<byte[]> sink;
    private final Runnable onOverflow;
    private boolean dropping; // guarded by this (a producer's state, not the consumer's)

    /**
     * @param threadName the delivery thread's name
     * @param capacity   the most data items waiting
     * @param sink       runs on the delivery thread for each data item
     * @param onOverflow runs on the delivery thread where data was dropped
     */
    public Delivery(String threadName, int capacity, Consumer<byte[]> sink, Runnable onOverflow) {
        this.capacity = capacity;
        this.sink = sink;
        this.onOverflow = onOverflow;
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Hands a data item to the delivery thread; a {@code droppable} one is dropped when the
     * queue is full.
     */
    public synchronized void offer(byte[] data, boolean droppable) {
        if (droppable && pending.get() >= capacity) {
            if (!dropping) {
                dropping = true;
                LOG.log(System.Logger.Level.WARNING, "delivery queue full ({0} messages): dropping live "
                        + "messages until it drains; the listener hears onInterrupted", capacity);
            }
            return;
        }
        if (dropping) {
            dropping = false;
            submit(this::overflowed);
        }
        pending.incrementAndGet();
        submit(() -> {
            pending.decrementAndGet();
            sink.accept(data);
        });
    }

    private void overflowed() {
        onOverflow.run();
    }

    /** Runs {@code task} on the delivery thread after everything handed over before it. */
    public void control(Runnable task) {
        submit(task);
    }

    private void submit(Runnable task) {
        try {
            executor.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException | Error e) {
                    LOG.log(System.Logger.Level.WARNING, "broker delivery task failed", e);
                }
            });
        } catch (RejectedExecutionException closed) {
            // Closed: live delivery has stopped, as close() promises.
        }
    }

    /** The number of live data items waiting. */
    public int pending() {
        return pending.get();
    }

    /** Stops delivering: what is still queued is dropped. Does not wait. */
    public void close() {
        executor.shutdownNow();
    }

    /** Waits up to {@code timeoutMs} for the delivery thread to stop. */
    public boolean awaitClosed(long timeoutMs) throws InterruptedException {
        return executor.awaitTermination(timeoutMs, TimeUnit.MILLISECONDS);
    }
}
