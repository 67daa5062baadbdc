package dev.tether.client.internal;

import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs tasks one at a time, in submission order, on a delegate executor, with each task's
 * effects visible to the next. At most one drain task is in the delegate at a time; it runs a
 * bounded batch and then re-submits itself, so that one busy client does not starve the others
 * sharing the pool.
 *
 * <p>Threading: {@link #execute} may be called from any thread and never blocks. A task that
 * throws is logged and does not stop the queue.
 */
final class SerialExecutor implements Executor {

    private static final System.Logger LOG = System.getLogger(SerialExecutor.class.getName());
    private static final int BATCH = 64;

    private final Executor delegate;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Runnable drain = this::drain;

    SerialExecutor(Executor delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public void execute(Runnable task) {
        tasks.add(Objects.requireNonNull(task, "task"));
        if (scheduled.compareAndSet(false, true)) {
            submit();
        }
    }

    private void submit() {
        try {
            delegate.execute(drain);
        } catch (RejectedExecutionException e) {
            // The delegate is shut down: nothing will ever run these tasks; say so once.
            LOG.log(System.Logger.Level.ERROR, "TC100 executor rejected a drain; "
                    + tasks.size() + " task(s) dropped", e);
            tasks.clear();
            scheduled.set(false);
        }
    }

    private void drain() {
        for (int n = 0; n < BATCH; n++) {
            Runnable task = tasks.poll();
            if (task == null) {
                scheduled.set(false);
                // A task added between the failed poll and the reset would otherwise wait forever.
                if (!tasks.isEmpty() && scheduled.compareAndSet(false, true)) {
                    submit();
                }
                return;
            }
            try {
                task.run();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "TC101 task failed", t);
            }
        }
        submit();
    }
}
