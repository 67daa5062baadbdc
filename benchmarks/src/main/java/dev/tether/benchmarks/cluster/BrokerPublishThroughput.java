package dev.tether.benchmarks.cluster;

import dev.tether.core.Payload;
import dev.tether.core.spi.Broker;
import dev.tether.core.spi.BrokerException;
import dev.tether.core.spi.BrokerListener;
import dev.tether.core.spi.BrokerMessage;
import dev.tether.redis.RedisBroker;
import dev.tether.redis.RedisBrokerConfig;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Publishes reliable messages (with history) to one topic through a {@link RedisBroker}, from one
 * thread, as fast as the broker's bounded queue allows: at most
 * {@link RedisBrokerConfig#maxPendingCommands()} publishes outstanding, so that the broker batches
 * what queues up ({@link RedisBrokerConfig#publishBatchSize()} per script call) and is never told
 * {@code overloaded}. Usage:
 * <pre>
 * BrokerPublishThroughput --redis redis://127.0.0.1:6379 [--seconds 10] [--warmup-seconds 3]
 *                         [--topic bench] [--key-prefix tether-bench:]
 * </pre>
 * Prints {@code RESULT {json}}: publishes completed in the measured window, their rate, failures,
 * the publish latency (call to completed future) and {@code messageBytes}, the size of each
 * message as the broker stores it (so that a bare script loop can publish the same size). Nothing
 * subscribes to the topic: each publish is the history append and the interest lookup, no
 * {@code PUBLISH} to a node channel. Exits 0 when the run completed, 1 if a publish failed, 2 on
 * bad arguments.
 *
 * <p>Threading: the main thread publishes; the futures complete on Lettuce's threads, which only
 * count and release permits.
 */
public final class BrokerPublishThroughput {

    private static final long HIGHEST_TRACKABLE_US = TimeUnit.SECONDS.toMicros(60);

    private BrokerPublishThroughput() {
    }

    public static void main(String[] args) throws InterruptedException {
        String redis = null;
        int seconds = 10;
        int warmupSeconds = 3;
        String topic = "bench";
        String keyPrefix = "tether-bench:";
        try {
            for (int i = 0; i < args.length; i += 2) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(args[i] + " needs a value");
                }
                String value = args[i + 1];
                switch (args[i]) {
                    case "--redis" -> redis = value;
                    case "--seconds" -> seconds = Integer.parseInt(value);
                    case "--warmup-seconds" -> warmupSeconds = Integer.parseInt(value);
                    case "--topic" -> topic = value;
                    case "--key-prefix" -> keyPrefix = value;
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (redis == null) {
                throw new IllegalArgumentException("--redis redis://HOST:PORT is required");
            }
            if (seconds < 1 || seconds > 600 || warmupSeconds < 0 || warmupSeconds > 600) {
                throw new IllegalArgumentException("--seconds must be in 1..600 and --warmup-seconds in 0..600");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
            return;
        }
        RedisBrokerConfig config = RedisBrokerConfig.builder().uri(redis).keyPrefix(keyPrefix).build();
        System.exit(run(config, topic, warmupSeconds, seconds) ? 0 : 1);
    }

    /** Runs the warm-up and the measured window; prints progress and the RESULT line. */
    static boolean run(RedisBrokerConfig config, String topic, int warmupSeconds, int seconds)
            throws InterruptedException {
        RedisBroker broker = new RedisBroker(config);
        broker.start(new Broker.Node(NO_LISTENER, TimeUnit.MINUTES.toMillis(2), () -> 0));
        // The shape the hub publishes: event and a small JSON payload, reliable (kept in the history).
        BrokerMessage message = BrokerMessage.reliable("publish", Payload.text("{\"d\":1234567890123456}"));
        int messageBytes = message.toBytes().length;
        Semaphore window = new Semaphore(config.maxPendingCommands());
        AtomicLong completed = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicLong overloaded = new AtomicLong();
        Recorder latency = new Recorder(HIGHEST_TRACKABLE_US, 3);
        long startNs = System.nanoTime();
        long measureFromNs = startNs + TimeUnit.SECONDS.toNanos(warmupSeconds);
        long endNs = measureFromNs + TimeUnit.SECONDS.toNanos(seconds);
        long completedAtStart = -1;
        long nextPrintNs = startNs + TimeUnit.SECONDS.toNanos(1);
        long lastPrinted = 0;
        Histogram measured = null;
        while (true) {
            long now = System.nanoTime();
            if (completedAtStart < 0 && now - measureFromNs >= 0) {
                completedAtStart = completed.get();
                latency.reset();
            }
            if (now - endNs >= 0) {
                break;
            }
            if (now - nextPrintNs >= 0) {
                long c = completed.get();
                System.out.printf(Locale.ROOT, "[%6.1fs] %s completed=%d (%d/s) failed=%d%n", (now - startNs) / 1e9,
                        completedAtStart < 0 ? "warmup" : "publish", c, c - lastPrinted, failed.get());
                lastPrinted = c;
                nextPrintNs += TimeUnit.SECONDS.toNanos(1);
            }
            if (!window.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                continue;
            }
            long sentNs = System.nanoTime();
            broker.publish(topic, message).whenComplete((v, t) -> {
                if (t == null) {
                    completed.incrementAndGet();
                    latency.recordValue(Math.min(HIGHEST_TRACKABLE_US,
                            TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - sentNs)));
                } else if (t instanceof BrokerException e && BrokerException.OVERLOADED.equals(e.code())) {
                    overloaded.incrementAndGet();
                } else {
                    failed.incrementAndGet();
                }
                window.release();
            });
        }
        long inWindow = completed.get() - Math.max(0, completedAtStart);
        measured = latency.getIntervalHistogram();
        double elapsed = (System.nanoTime() - measureFromNs) / 1e9;
        // Let what is outstanding finish before closing, so that close() does not fail it.
        window.tryAcquire(config.maxPendingCommands(), 10, TimeUnit.SECONDS);
        broker.close();
        String result = String.format(Locale.ROOT, "{\"publishes\":%d,\"seconds\":%.3f,\"publishesPerSecond\":%.1f,"
                        + "\"failed\":%d,\"overloaded\":%d,\"latencyP50Ms\":%.3f,\"latencyP99Ms\":%.3f,"
                        + "\"latencyMaxMs\":%.3f,\"messageBytes\":%d,\"maxPendingCommands\":%d,\"publishBatchSize\":%d,"
                        + "\"topicMaxLength\":%d}",
                inWindow, elapsed, inWindow / elapsed, failed.get(), overloaded.get(),
                measured.getValueAtPercentile(50) / 1000.0, measured.getValueAtPercentile(99) / 1000.0,
                measured.getMaxValue() / 1000.0, messageBytes, config.maxPendingCommands(),
                config.publishBatchSize(), config.topicMaxLength());
        System.out.println("RESULT " + result);
        return failed.get() == 0;
    }

    private static final BrokerListener NO_LISTENER = new BrokerListener() {
        @Override
        public void onPublished(long position, String topic, BrokerMessage message) {
        }

        @Override
        public void onSent(long position, String sessionId, BrokerMessage message) {
        }

        @Override
        public void onSubscribed(long position, String sessionId, String topic) {
        }

        @Override
        public void onUnsubscribed(long position, String sessionId, String topic) {
        }

        @Override
        public void onClaimed(long position, String sessionId, Set<String> topics) {
        }

        @Override
        public void onPresence(String topic, String sessionId, String principal, boolean joined) {
        }

        @Override
        public void onReleased(String sessionId) {
        }

        @Override
        public void onInterrupted() {
        }

        @Override
        public void onReset() {
        }
    };
}
