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
 * A cumulative ack frame from the client fed through the connection's listener: decoding it,
 * checking it, and releasing the replay buffer entries it covers.
 *
 * <p>Mode: average time, ns per operation. Three views, because releasing K entries needs K
 * messages sent first:
 * <ul>
 *   <li>{@link #ackAfterSend}: the ack alone, for {@link OneSession#messages} messages sent and
 *       drained in a per-invocation fixture (not timed). Its {@code gc.alloc.rate.norm} includes
 *       the fixture's allocations: read the allocation of an ack from {@link #repeatAck}.</li>
 *   <li>{@link #repeatAck}: the same cumulative ack again (nothing new to release): decode,
 *       checks and dispatch; time and allocation of one ack frame exactly.</li>
 *   <li>{@link #sendThenAck}: the whole cycle per operation: send and drain K messages, then ack
 *       them.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class AckBenchmark {

    /** One session whose I/O thread is the benchmark thread, with K messages sent and acked. */
    @State(Scope.Thread)
    public static class OneSession {
        /** Messages each ack covers (K). At most the replay buffer's 1024. */
        @Param({"64"})
        public int messages;

        BenchHub hub;
        IoLoop loop;
        LoopConnection connection;
        Session session;
        Payload payload;
        /** The ack of everything acknowledged so far, for {@link #repeatAck}. */
        ByteBuffer currentAck;
        long currentAckSeq = -1;

        /** Creates the hub and the session, sends K messages and acks them. */
        @Setup(Level.Trial)
        public void setUp(Blackhole sink) {
            hub = new BenchHub();
            loop = new IoLoop(16);
            loop.bind();
            payload = Payload.text("hello, world");
            connection = new LoopConnection(loop, sink);
            session = hub.open(connection, loop::runTasks);
            sendAndDrain();
            connection.ackIfDue(1);
        }

        /** The worker thread is the I/O thread. */
        @Setup(Level.Iteration)
        public void bindIoThread() {
            loop.bind();
        }

        void sendAndDrain() {
            for (int i = 0; i < messages; i++) {
                session.send("tick", payload);
            }
            loop.runTasks();
        }

        /** Checks every ack was accepted and released everything, then closes the hub. */
        @TearDown(Level.Trial)
        public void tearDown() {
            loop.bind();
            try {
                hub.verify("Ack" + connection.closeStatus());
                if (hub.tether().stats().pendingAcks() != 0 || connection.isClosed()) {
                    throw new IllegalStateException("acks left " + hub.tether().stats().pendingAcks()
                            + " messages unreleased" + connection.closeStatus());
                }
            } finally {
                connection.ackIfDue(1); // closing waits for unacknowledged messages; see TopicPublishBenchmark
                hub.closeWhileRunning(loop::runTasks);
            }
        }
    }

    /**
     * The session with K messages sent and drained before each invocation of
     * {@link #ackAfterSend}. A subclass rather than a state depending on {@link OneSession}: JMH
     * would give the fixture and the benchmark method two different {@link OneSession} instances.
     */
    @State(Scope.Thread)
    public static class Unacked extends OneSession {
        ByteBuffer ack;

        /** Not timed; its allocations do count in {@code gc.alloc.rate.norm}. */
        @Setup(Level.Invocation)
        public void sendBatch() {
            sendAndDrain();
            long seq = connection.messages();
            ack = BenchConnection.ackFrame(seq);
            connection.acked(seq);
        }
    }

    /** The cumulative ack of K messages sent and drained beforehand (untimed). */
    @Benchmark
    public void ackAfterSend(Unacked u) {
        u.connection.feed(u.ack);
    }

    /** The same cumulative ack again: decode and checks, nothing to release. */
    @Benchmark
    public void repeatAck(OneSession s) {
        if (s.currentAckSeq != s.connection.acked()) { // only if other operations acked more
            s.currentAckSeq = s.connection.acked();
            s.currentAck = BenchConnection.ackFrame(s.currentAckSeq);
        }
        s.currentAck.rewind();
        s.connection.feed(s.currentAck);
    }

    /** Sends and drains K messages, then acks them. */
    @Benchmark
    public boolean sendThenAck(OneSession s) {
        s.sendAndDrain();
        return s.connection.ackIfDue(1);
    }
}
