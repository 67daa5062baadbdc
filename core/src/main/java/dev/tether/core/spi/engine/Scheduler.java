package dev.tether.core.spi.engine;

import java.util.concurrent.TimeUnit;

/**
 * The hub's one timer, on which every heartbeat, deadline and timeout of every connection runs
 * (a hashed timer wheel: scheduling and cancelling are O(1), precision is one tick, 10 ms by
 * default). Tasks run on the timer's own thread and must be short: hand anything else to the
 * connection's I/O thread ({@code TransportConnection.execute}) or the session's handler executor.
 *
 * <p>Threading: every method may be called from any thread and never blocks.
 *
 * @since 0.1.0
 */
public interface Scheduler {

    /**
     * Schedules {@code task} to run once on the timer thread, on the first tick at or after
     * {@code delay} from now.
     *
     * @param task  a short action
     * @param delay the delay; zero or negative means the next tick
     * @param unit  the unit of {@code delay}
     * @return a handle to cancel the task
     * @throws IllegalStateException if the hub has closed its timer
     */
    Timeout schedule(Runnable task, long delay, TimeUnit unit);

    /**
     * As {@link #schedule}, for a task that has no point once the hub stops.
     *
     * @param task  a short action
     * @param delay the delay; zero or negative means the next tick
     * @param unit  the unit of {@code delay}
     * @return a handle to cancel the task, or {@code null} if the timer has been closed, even
     *         concurrently
     */
    Timeout scheduleIfOpen(Runnable task, long delay, TimeUnit unit);

    /**
     * A scheduled task.
     *
     * @since 0.1.0
     */
    interface Timeout {

        /**
         * Prevents the task from running if it has not started yet; O(1), from any thread,
         * including the task itself.
         *
         * @return {@code true} if this call cancelled the task, {@code false} if it had already
         *         run or been cancelled
         */
        boolean cancel();
    }
}
