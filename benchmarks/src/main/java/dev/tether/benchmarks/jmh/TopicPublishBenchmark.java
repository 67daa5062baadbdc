package dev.tether.benchmarks.jmh;

import dev.tether.core.Payload;
import dev.tether.core.Session;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * One reliable topic publish to {@link #subscribers} sessions, then the drains it scheduled: the
 * payload encoded once, the shared entry offered to every subscriber's queue, and one drain per
 * subscriber that numbers the message, keeps it for replay, frames it and flushes.
 *
 * <p>Mode: average time, ns per publish. Per delivery: divide the score and
 * {@code gc.alloc.rate.norm} by {@link #subscribers}. All connections share one I/O thread, the
 * benchmark thread (see {@link IoLoop}).
 *
 * <p>Acks: every {@link #ackEvery} publishes (default 512) each subscriber acknowledges them with
 * one cumulative ack frame fed through its listener, inside the measured operation, so the replay
 * buffers (1024 messages) never fill. That adds one ack per subscriber per {@link #ackEvery}
 * deliveries; {@link AckBenchmark} measures what one costs.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Thread)
public class TopicPublishBenchmark {

    static final String TOPIC = "room-1";

    /** Sessions subscribed to the topic. */
    @Param({"1000", "10000"})
    public int subscribers;

    /**
     * Publishes between two cumulative acks from every subscriber; below the replay buffer's 1024.
     * 512 keeps acks mostly out of the figures; the Java client's default is 32
     * ({@code -p ackEvery=32} shows what acks cost a real fan-out).
     */
    @Param({"512"})
    public int ackEvery;

    private BenchHub hub;
    private IoLoop loop;
    private LoopConnection[] connections;
    private Payload payload;
    private long published;

    /** Creates the hub and attaches {@link #subscribers} sessions subscribed to the topic. */
    @Setup(Level.Trial)
    public void setUp(Blackhole sink) {
        hub = new BenchHub();
        loop = new IoLoop(subscribers);
        loop.bind();
        payload = BenchHub.smallJson();
        connections = new LoopConnection[subscribers];
        for (int i = 0; i < subscribers; i++) {
            LoopConnection c = new LoopConnection(loop, sink);
            Session session = hub.open(c, loop::runTasks);
            session.subscribe(TOPIC);
            connections[i] = c;
        }
        if (hub.tether().subscribers(TOPIC) != subscribers) {
            throw new IllegalStateException("subscribed " + hub.tether().subscribers(TOPIC) + " of " + subscribers);
        }
    }

    /** JMH runs fixtures on the worker thread: that thread is the I/O thread of every connection. */
    @Setup(Level.Iteration)
    public void bindIoThread() {
        loop.bind();
    }

    /** Publishes one message and runs the drains: the benchmark thread plays the I/O thread. */
    @Benchmark
    public int publish() {
        int queued = hub.tether().publish(TOPIC, "tick", payload);
        loop.runTasks();
        if (++published % ackEvery == 0) {
            ackAll();
        }
        return queued;
    }

    private void ackAll() {
        ByteBuffer ack = BenchConnection.ackFrame(published);
        for (LoopConnection c : connections) {
            ack.rewind();
            c.feed(ack);
            c.acked(published);
        }
        loop.runTasks();
    }

    /**
     * Checks that every subscriber got every message, on the fast path, then closes the hub. Everything
     * is acknowledged first: closing drains the hub until nothing is unacknowledged (for up to the
     * drain timeout), and this thread, the I/O thread, only runs the drain's writes while it waits
     * ({@link BenchHub#closeWhileRunning}), it feeds no acks.
     */
    @TearDown(Level.Trial)
    public void tearDown() {
        loop.bind();
        try {
            hub.verify("TopicPublish" + connections[0].closeStatus());
            for (LoopConnection c : connections) {
                if (c.messages() != published || c.isClosed()) {
                    throw new IllegalStateException("a subscriber got " + c.messages() + " of " + published
                            + " messages" + c.closeStatus());
                }
            }
        } finally {
            for (LoopConnection c : connections) {
                c.ackIfDue(1);
            }
            hub.closeWhileRunning(loop::runTasks);
        }
    }

    long published() {
        return published;
    }
}
