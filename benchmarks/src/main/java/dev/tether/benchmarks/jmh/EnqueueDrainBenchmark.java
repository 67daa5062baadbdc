package dev.tether.benchmarks.jmh;

import dev.tether.core.Payload;
import dev.tether.core.SendResult;
import dev.tether.core.Session;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import org.openjdk.jmh.infra.Control;

/**
 * {@code Session.send} of a small JSON payload to one session and the drain that writes it.
 *
 * <ul>
 *   <li>{@link #sendAndDrain}: one thread sends and then drains (it is the connection's I/O
 *       thread, see {@link IoLoop}); average time, ns per message. Includes the encode, the MPSC
 *       offer, scheduling the drain, numbering, the replay buffer, framing and one flush.</li>
 *   <li>{@code twoProducers} ({@link #send} x 2 threads, {@link #drain} x 1 thread): two
 *       producer threads send into the same session while a third thread, the connection's I/O
 *       thread, drains through a real single-consumer handoff ({@link HandoffConnection}).
 *       Throughput: the {@code send} score is messages per µs over both producers; the
 *       {@code frames} and {@code flushes} counters of the consumer show how many frames were
 *       written per flush (drain batching). Producers keep at most {@value #WINDOW} (+2 x
 *       {@value #CHECK_EVERY}) messages in flight so the bounded queue (1024) never overflows; a
 *       producer ahead of the consumer waits with {@code Thread.yield()}.</li>
 * </ul>
 *
 * <p>Acks: the I/O thread feeds a cumulative ack every {@value #ACK_EVERY} messages, inside the
 * measured operations (one ack per {@value #ACK_EVERY} messages; see {@link AckBenchmark}).
 */
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class EnqueueDrainBenchmark {

    static final int ACK_EVERY = 512;
    /** Messages in flight (sent, not yet written) above which a producer waits. */
    static final int WINDOW = 768;
    /** A producer checks the window every this many sends (a power of two). */
    static final int CHECK_EVERY = 32;

    /** One session whose I/O thread is the benchmark thread. */
    @State(Scope.Thread)
    public static class OneThread {
        BenchHub hub;
        IoLoop loop;
        LoopConnection connection;
        Session session;
        Payload payload;

        /** Creates the hub and one session. */
        @Setup(Level.Trial)
        public void setUp(Blackhole sink) {
            hub = new BenchHub();
            loop = new IoLoop(16);
            loop.bind();
            payload = BenchHub.smallJson();
            connection = new LoopConnection(loop, sink);
            session = hub.open(connection, loop::runTasks);
        }

        /** The worker thread is the I/O thread. */
        @Setup(Level.Iteration)
        public void bindIoThread() {
            loop.bind();
        }

        /** Checks the engine stayed on the fast path, then closes the hub. */
        @TearDown(Level.Trial)
        public void tearDown() {
            loop.bind();
            try {
                hub.verify("EnqueueDrain.sendAndDrain" + connection.closeStatus());
            } finally {
                connection.ackIfDue(1); // closing waits for unacknowledged messages; see TopicPublishBenchmark
                hub.closeWhileRunning(loop::runTasks);
            }
        }
    }

    /** Sends one message and drains it on the same thread. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public SendResult sendAndDrain(OneThread s) {
        SendResult result = s.session.send("tick", s.payload);
        s.loop.runTasks();
        s.connection.ackIfDue(ACK_EVERY);
        return result;
    }

    /** One session shared by the two producers and the consumer of a {@code twoProducers} group. */
    @State(Scope.Group)
    public static class Shared {
        BenchHub hub;
        HandoffConnection connection;
        Session session;
        Payload payload;
        /** Messages sent by producer {@code i} at index {@code i * 16} (a cache line apart). */
        final AtomicLongArray sent = new AtomicLongArray(3 * 16);
        /** Messages written, published by the consumer after each pass. */
        final AtomicLong written = new AtomicLong();
        final AtomicInteger producers = new AtomicInteger();

        /** Creates the hub and the session; the setup thread is the I/O thread until a consumer binds. */
        @Setup(Level.Trial)
        public void setUp(Blackhole sink) {
            hub = new BenchHub();
            payload = BenchHub.smallJson();
            connection = new HandoffConnection(sink);
            connection.bind();
            session = hub.open(connection, connection::runTasks);
        }

        long inFlight() {
            return sent.get(0) + sent.get(16) - written.get();
        }

        /** Drains what the producers left, checks every message was written, closes the hub. */
        @TearDown(Level.Trial)
        public void tearDown() {
            connection.bind();
            try {
                long total = sent.get(0) + sent.get(16);
                for (int idle = 0; connection.messages() < total && idle < 1000; ) {
                    int ran = connection.runTasks();
                    connection.ackIfDue(1);
                    idle = ran == 0 ? idle + 1 : 0;
                }
                hub.verify("EnqueueDrain.twoProducers" + connection.closeStatus());
                if (connection.messages() != total || connection.isClosed()) {
                    throw new IllegalStateException("written " + connection.messages() + " of " + total
                            + " messages" + connection.closeStatus());
                }
            } finally {
                connection.ackIfDue(1); // closing waits for unacknowledged messages; see TopicPublishBenchmark
                hub.closeWhileRunning(connection::runTasks);
            }
        }
    }

    /** A producer's slot in {@link Shared#sent}. */
    @State(Scope.Thread)
    public static class Producer {
        int slot;
        long sent;

        /** Takes the next free slot. */
        @Setup(Level.Trial)
        public void setUp(Shared shared) {
            slot = shared.producers.getAndIncrement() * 16;
        }
    }

    /** The consumer's counters, reported next to the producers' throughput. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Written {
        /** Frames written by the drain. */
        public long frames;
        /** Flushes: one per drain pass that wrote something. */
        public long flushes;

        /** JMH does not reset auxiliary counters between iterations. */
        @Setup(Level.Iteration)
        public void reset() {
            frames = 0;
            flushes = 0;
        }
    }

    /** A producer: sends one message, waiting first if too many are in flight. */
    @Benchmark
    @Group("twoProducers")
    @GroupThreads(2)
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public SendResult send(Shared s, Producer p, Control control) {
        if ((p.sent & (CHECK_EVERY - 1)) == 0) {
            while (s.inFlight() >= WINDOW) {
                if (control.stopMeasurement) {
                    return null; // the consumer may have stopped: do not wait for it
                }
                Thread.yield();
            }
        }
        SendResult result = s.session.send("tick", s.payload);
        s.sent.lazySet(p.slot, ++p.sent);
        return result;
    }

    /** The consumer, the connection's I/O thread: runs what the producers scheduled, acks, yields when idle. */
    @Benchmark
    @Group("twoProducers")
    @GroupThreads(1)
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int drain(Shared s, Written w) {
        HandoffConnection c = s.connection;
        c.bind();
        long frames = c.frames;
        long flushes = c.flushes;
        int ran = c.runTasks();
        if (ran == 0) {
            Thread.yield(); // 3 threads on few cores: let the producers run
            return 0;
        }
        c.ackIfDue(ACK_EVERY);
        w.frames += c.frames - frames;
        w.flushes += c.flushes - flushes;
        s.written.lazySet(c.messages());
        return ran;
    }
}
