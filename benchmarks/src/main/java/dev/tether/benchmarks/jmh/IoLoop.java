package dev.tether.benchmarks.jmh;

import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The I/O thread of a set of {@link LoopConnection}s, played by the benchmark thread itself, like
 * one transport I/O thread serving many connections. A task the engine submits from that thread
 * goes into a plain {@link ArrayDeque} and {@link #runTasks()} runs it, so the measured path has
 * no cross-thread handoff and no lock. Tasks from other threads (the hub's timer, the handler
 * pool) go through a concurrent queue that {@link #runTasks()} empties too; the benchmarks are
 * configured so that none arrive while measuring.
 *
 * <p>Threading: {@link #bind()} makes the calling thread the I/O thread (JMH runs fixture methods
 * on the benchmark's worker thread, so binding in {@code @Setup} is enough); {@link #runTasks()}
 * only on that thread; {@link #execute(Runnable)} and {@link #inLoop()} from any.
 */
final class IoLoop {

    private final ArrayDeque<Runnable> tasks;
    private final ConcurrentLinkedQueue<Runnable> foreign = new ConcurrentLinkedQueue<>();
    private volatile Thread thread;

    /** @param expectedTasks how many tasks one operation queues (pre-sizes the deque) */
    IoLoop(int expectedTasks) {
        this.tasks = new ArrayDeque<>(Math.max(16, expectedTasks));
    }

    /** Makes the calling thread this loop's I/O thread. */
    void bind() {
        thread = Thread.currentThread();
    }

    boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    void execute(Runnable task) {
        if (Thread.currentThread() == thread) {
            tasks.add(task);
        } else {
            foreign.add(task);
        }
    }

    /** Runs every queued task, including those queued while running. I/O thread only. */
    int runTasks() {
        if (!foreign.isEmpty()) {
            Runnable r;
            while ((r = foreign.poll()) != null) {
                tasks.add(r);
            }
        }
        int n = 0;
        Runnable task;
        while ((task = tasks.poll()) != null) {
            task.run();
            n++;
        }
        return n;
    }
}
