package dev.tether.benchmarks.jmh;

import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscUnboundedArrayQueue;
import org.openjdk.jmh.infra.Blackhole;

/**
 * A connection whose I/O thread is a separate consumer thread: {@link #execute(Runnable)} offers
 * the task to an MPSC queue from any thread, and the consumer runs them with {@link #runTasks()}.
 * For benchmarks where producers and the drain run on different threads.
 *
 * <p>Threading: {@link #execute} from any thread; {@link #bind()} and {@link #runTasks()} on the
 * consumer thread only, which is this connection's I/O thread from its first {@link #bind()}.
 */
final class HandoffConnection extends BenchConnection {

    private static final MessagePassingQueue.Consumer<Runnable> RUN = Runnable::run;

    private final MpscUnboundedArrayQueue<Runnable> tasks = new MpscUnboundedArrayQueue<>(1024);
    private volatile Thread ioThread;

    HandoffConnection(Blackhole sink) {
        super(sink);
    }

    /** Makes the calling thread the I/O thread; cheap when it already is. */
    void bind() {
        Thread t = Thread.currentThread();
        if (ioThread != t) {
            ioThread = t;
        }
    }

    /** Runs the tasks queued so far. I/O thread only. */
    int runTasks() {
        return tasks.drain(RUN);
    }

    @Override
    public void execute(Runnable task) {
        tasks.offer(task);
    }

    @Override
    public boolean inIoThread() {
        return Thread.currentThread() == ioThread;
    }
}
