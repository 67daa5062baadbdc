package dev.tether.benchmarks.jmh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.SendResult;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.infra.Blackhole;
import org.openjdk.jmh.infra.Control;

/**
 * Runs each benchmark's fixture and a few hundred operations without JMH, in well under a second,
 * so that {@code mvn verify} notices when an engine change breaks a benchmark (the tear-downs
 * check that every message was written and the engine never left the fast path).
 */
class BenchmarksSmokeTest {

    private static final Blackhole SINK = new Blackhole(
            "Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");

    /** Held strongly: java.util.logging keeps loggers weakly, and the handler with them. */
    private final Logger tetherLog = Logger.getLogger("dev.tether");
    private final List<LogRecord> warnings = new CopyOnWriteArrayList<>();
    private final Handler warningCapture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                warnings.add(record);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void captureWarnings() {
        tetherLog.addHandler(warningCapture);
    }

    /** The fixtures use the engine as a transport and an application must: it has nothing to warn about. */
    @AfterEach
    void nothingWarned() {
        tetherLog.removeHandler(warningCapture);
        assertThat(warnings).extracting(LogRecord::getMessage).isEmpty();
    }

    @Test
    void topicPublishReachesEverySubscriberAndAcksKeepReplayBuffersFromFilling() {
        TopicPublishBenchmark b = new TopicPublishBenchmark();
        b.subscribers = 20;
        b.ackEvery = 512;
        b.setUp(SINK);
        b.bindIoThread();
        int publishes = 3 * b.ackEvery + 7; // more than a replay buffer holds
        for (int i = 0; i < publishes; i++) {
            assertThat(b.publish()).isEqualTo(20);
        }
        assertThat(b.published()).isEqualTo(publishes);
        b.tearDown();
    }

    @Test
    void sendAndDrainWritesEveryMessage() {
        EnqueueDrainBenchmark b = new EnqueueDrainBenchmark();
        EnqueueDrainBenchmark.OneThread s = new EnqueueDrainBenchmark.OneThread();
        s.setUp(SINK);
        s.bindIoThread();
        for (int i = 0; i < 3_000; i++) {
            assertThat(b.sendAndDrain(s)).isEqualTo(SendResult.ENQUEUED);
        }
        assertThat(s.connection.messages()).isEqualTo(3_000);
        s.tearDown();
    }

    @Test
    void twoProducersHandOffToOneConsumerWithoutOverflow() throws InterruptedException {
        EnqueueDrainBenchmark b = new EnqueueDrainBenchmark();
        EnqueueDrainBenchmark.Shared s = new EnqueueDrainBenchmark.Shared();
        s.setUp(SINK);
        Control control = new Control();
        AtomicBoolean producing = new AtomicBoolean(true);
        Thread[] producers = new Thread[2];
        for (int i = 0; i < producers.length; i++) {
            EnqueueDrainBenchmark.Producer p = new EnqueueDrainBenchmark.Producer();
            p.setUp(s);
            producers[i] = new Thread(() -> {
                for (int n = 0; n < 5_000; n++) {
                    if (b.send(s, p, control) != SendResult.ENQUEUED) {
                        throw new AssertionError("send did not enqueue");
                    }
                }
            });
        }
        EnqueueDrainBenchmark.Written w = new EnqueueDrainBenchmark.Written();
        Thread consumer = new Thread(() -> {
            while (producing.get() || s.connection.messages() < 10_000) {
                b.drain(s, w);
            }
        });
        consumer.start();
        for (Thread p : producers) {
            p.start();
        }
        for (Thread p : producers) {
            p.join(TimeUnit.SECONDS.toMillis(30));
        }
        producing.set(false);
        consumer.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(consumer.isAlive()).isFalse();
        assertThat(w.frames).isEqualTo(10_000);
        assertThat(w.flushes).isPositive().isLessThanOrEqualTo(10_000);
        s.tearDown();
    }

    @Test
    void acksReleaseEverythingSent() {
        AckBenchmark b = new AckBenchmark();
        AckBenchmark.Unacked s = new AckBenchmark.Unacked();
        s.messages = 64;
        s.setUp(SINK);
        s.bindIoThread();
        for (int i = 0; i < 50; i++) {
            s.sendBatch();
            b.ackAfterSend(s);
            assertThat(s.hub.tether().stats().pendingAcks()).isZero();
        }
        for (int i = 0; i < 50; i++) {
            b.repeatAck(s);
            assertThat(b.sendThenAck(s)).isTrue();
        }
        s.tearDown();
    }

    @Test
    void encodeAndFrameProduceTheSharedBytesAndAPrefix() {
        EncodeBenchmark b = new EncodeBenchmark();
        assertThat(b.encodeJson().sizeBytes()).isPositive();
        assertThat(b.encodeText().sizeBytes()).isPositive();
        assertThat(b.frame().parts()).hasSize(2);
    }
}
