package dev.tether.client.internal;

import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * Runs a client's tasks one at a time, in submission order, on a pool shared with other clients.
 * At most one drain of this executor is in the pool at a time; it runs a bounded batch and then
 * goes back to the end of the pool's queue, so one busy client cannot starve the others. A task
 * that throws is reported and the next one runs. (The server's engine has its own, with read
 * backpressure; the client bounds its callbacks itself, so it needs only the ordering.)
 *
 * <p>Threading: {@link #execute} may be called from any thread and never blocks. Tasks never run
 * two at once, and each sees the effects of the ones before it.
 */
final class OrderedExecutor implements Executor {

    private static final System.Logger LOG = System.getLogger("dev.tether.client");

    /** Tasks one drain runs before it yields the pool thread. */
    static final int BATCH = 64;

    private final Executor pool;
    private final BiConsumer<String, Throwable> errors;
    private final Queue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drain;

    /**
     * @param pool   where the tasks run
     * @param errors told of a task that threw ({@code "task"}) or a pool that refused the drain
     *               ({@code "executor.rejected"}; the tasks stay queued for the next
     *               {@link #execute}); a pool that is a shut-down {@link ExecutorService} is
     *               not reported (DEBUG): the application ended it, and the tasks are dropped
     */
    OrderedExecutor(Executor pool, BiConsumer<String, Throwable> errors) {
        this.pool = Objects.requireNonNull(pool, "pool");
        this.errors = Objects.requireNonNull(errors, "errors");
    }

    @Override
    public void execute(Runnable task) {
        queue.offer(Objects.requireNonNull(task, "task"));
        schedule();
    }

    private void schedule() {
        if (scheduled.get() || !scheduled.compareAndSet(false, true)) {
            return; // the drain in the pool will run it
        }
        try {
            pool.execute(drainTask);
        } catch (RejectedExecutionException e) {
            scheduled.set(false);
            if (pool instanceof ExecutorService service && service.isShutdown()) {
                // The application shut its callback pool down: what comes after has nowhere to run.
                LOG.log(System.Logger.Level.DEBUG, "a task after its pool shut down was dropped");
                return;
            }
            report("executor.rejected", e);
        }
    }

    private void drain() {
        Runnable task;
        for (int i = 0; i < BATCH && (task = queue.poll()) != null; i++) {
            try {
                task.run();
            } catch (Throwable error) {
                report("task", error);
            }
        }
        scheduled.set(false);
        // A submitter that saw the flag set before it was cleared relied on this drain.
        if (!queue.isEmpty()) {
            schedule();
        }
    }

    private void report(String context, Throwable error) {
        try {
            errors.accept(context, error);
        } catch (Throwable ignored) {
            // The drain must survive a reporter that throws.
        }
    }
}
