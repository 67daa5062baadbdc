package dev.tether.benchmarks.jmh;

import org.openjdk.jmh.infra.Blackhole;

/**
 * A connection whose I/O thread is an {@link IoLoop} run by the benchmark thread: for throughput
 * benchmarks where enqueue and drain happen on one thread.
 */
final class LoopConnection extends BenchConnection {

    private final IoLoop loop;

    LoopConnection(IoLoop loop, Blackhole sink) {
        super(sink);
        this.loop = loop;
    }

    @Override
    public void execute(Runnable task) {
        loop.execute(task);
    }

    @Override
    public boolean inIoThread() {
        return loop.inLoop();
    }
}
