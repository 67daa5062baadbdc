package dev.tether.micrometer;

import dev.tether.core.CloseCodes;
import dev.tether.core.Stats;
import dev.tether.core.spi.MetricsListener;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * Micrometer meters for one Tether hub: a {@link MetricsListener} the hub reports to and a
 * {@link MeterBinder} a host binds to its registry.
 *
 * <pre>{@code
 * TetherMetrics metrics = new TetherMetrics("tether", "/tether");
 * Tether tether = Tether.create(TetherConfig.builder().metrics(metrics).build(), handler);
 * metrics.bindTo(registry);   // before or after the hub is created
 * }</pre>
 *
 * <p>Every meter carries the tags {@code protocol} and {@code endpoint} given at construction
 * (and any extra tags). Names and base units:
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>meter</th><th>type, unit</th><th>what</th></tr>
 *   <tr><td>{@value #CONNECTIONS}</td><td>gauge, connections</td><td>{@link Stats#connections()}</td></tr>
 *   <tr><td>{@value #SESSIONS}</td><td>gauge, sessions</td><td>{@link Stats#sessions()}</td></tr>
 *   <tr><td>{@value #TOPICS}</td><td>gauge, topics</td><td>{@link Stats#topics()}</td></tr>
 *   <tr><td>{@value #QUEUED}</td><td>gauge, messages</td><td>{@link Stats#queued()}</td></tr>
 *   <tr><td>{@value #UNACKED}</td><td>gauge, messages</td><td>{@link Stats#pendingAcks()}</td></tr>
 *   <tr><td>{@value #UNACKED_OLDEST_AGE}</td><td>gauge, seconds</td><td>{@link Stats#oldestUnackedMs()}</td></tr>
 *   <tr><td>{@value #RECEIVED}</td><td>counter, messages</td><td>{@link Stats#messagesIn()}</td></tr>
 *   <tr><td>{@value #SENT}</td><td>counter, messages</td><td>{@link Stats#messagesOut()}</td></tr>
 *   <tr><td>{@value #DUPLICATES}</td><td>counter, messages</td><td>{@link Stats#duplicatesIn()}</td></tr>
 *   <tr><td>{@value #DROPPED}</td><td>counter, messages</td><td>{@link Stats#volatileDropped()}</td></tr>
 *   <tr><td>{@value #OVERFLOWED}</td><td>counter, messages</td><td>{@link Stats#reliableOverflowed()}</td></tr>
 *   <tr><td>{@value #REPLAYED}</td><td>counter, messages</td><td>{@link Stats#replayed()}</td></tr>
 *   <tr><td>{@value #ACKED}</td><td>counter, messages</td><td>reliable messages the clients acknowledged</td></tr>
 *   <tr><td>{@value #RESUMED}</td><td>counter, sessions</td><td>{@link Stats#resumed()}</td></tr>
 *   <tr><td>{@value #GAPS}</td><td>counter, gaps</td><td>{@link Stats#gaps()}</td></tr>
 *   <tr><td>{@value #SLOW_CONSUMER_CLOSES}</td><td>counter</td><td>{@link Stats#slowConsumerCloses()}</td></tr>
 *   <tr><td>{@value #PROTOCOL_ERRORS}</td><td>counter, tag {@code code}</td>
 *       <td>{@link Stats#protocolErrors()} by close code (4500, 4505)</td></tr>
 *   <tr><td>{@value #REFUSALS}</td><td>counter, tag {@code reason}</td>
 *       <td>refusals by reason, see {@link MetricsListener#refused(String)} (more than {@link Stats#refused()})</td></tr>
 *   <tr><td>{@value #HANDLER_ERRORS}</td><td>counter, tag {@code callback}</td>
 *       <td>{@link Stats#handlerErrors()} by callback</td></tr>
 *   <tr><td>{@value #HANDSHAKE}</td><td>timer</td><td>see {@link MetricsListener#handshakeCompleted(long)}</td></tr>
 *   <tr><td>{@value #HANDSHAKE_DELAY}</td><td>timer</td><td>handshakes that waited for their turn under the
 *       handshake rate, and how long; see {@link MetricsListener#handshakeDelayed(long)}</td></tr>
 *   <tr><td>{@value #HANDLER}</td><td>timer</td><td>handler latency, dispatch to completion</td></tr>
 *   <tr><td>{@value #PUBLISH_FANOUT}</td><td>timer</td><td>a publish's fan-out to local subscribers</td></tr>
 *   <tr><td>{@value #PUBLISH_RECIPIENTS}</td><td>distribution summary, sessions</td>
 *       <td>local subscribers a publish was handed to</td></tr>
 * </table>
 * With the Prometheus registry the names become {@code tether_connections},
 * {@code tether_received_messages_total}, {@code tether_handshake_seconds} and so on. Timers and
 * the summary publish count, total and maximum; histograms or percentiles are the registry's
 * choice (a {@code MeterFilter}).
 *
 * <p>The gauges read the hub's {@link dev.tether.core.Tether#stats()}, which costs the same
 * whatever the number of sessions; before a hub has started they read {@code NaN}. The counters
 * are kept here, so that events before {@link #bindTo} count too, and one instance may be bound
 * to several registries; the timers and the summary are registered in each registry it is bound
 * to and record only from then on. The tagged counters are registered at zero for every tag value
 * the engine reports ({@link #KNOWN_PROTOCOL_ERROR_CODES}, {@link #KNOWN_REFUSAL_REASONS},
 * {@link #KNOWN_CALLBACKS}), so that they are listed, and alert rules see a zero, before the first
 * event; any other value appears with its first event.
 *
 * <p>One hub per instance: a second hub given the same instance takes over the gauges, and both
 * add to the counters.
 *
 * <p>Threading: thread-safe. The listener methods are called by the engine on its I/O, handler
 * and timer threads; each is a counter increment or a timer record, never blocks and never
 * throws. {@link #bindTo} may be called from any thread, at any time.
 */
public final class TetherMetrics implements MeterBinder, MetricsListener {

    /** Gauge: connections attached now. */
    public static final String CONNECTIONS = "tether.connections";
    /** Gauge: sessions alive now, connected or detached. */
    public static final String SESSIONS = "tether.sessions";
    /** Gauge: topics with at least one subscriber. */
    public static final String TOPICS = "tether.topics";
    /** Gauge: messages waiting in outbound queues. */
    public static final String QUEUED = "tether.queued.messages";
    /** Gauge: reliable messages written and not yet acknowledged (pending acks). */
    public static final String UNACKED = "tether.unacked.messages";
    /** Gauge: age of the oldest unacknowledged reliable message, in seconds. */
    public static final String UNACKED_OLDEST_AGE = "tether.unacked.oldest.age";
    /** Counter: application messages received from clients. */
    public static final String RECEIVED = "tether.received.messages";
    /** Counter: messages written to connections. */
    public static final String SENT = "tether.sent.messages";
    /** Counter: client messages dropped as duplicates (resends after a resume). */
    public static final String DUPLICATES = "tether.duplicate.messages";
    /** Counter: volatile messages dropped under backpressure. */
    public static final String DROPPED = "tether.dropped.messages";
    /** Counter: reliable messages that did not fit a queue (reported as gaps). */
    public static final String OVERFLOWED = "tether.overflowed.messages";
    /** Counter: messages replayed after resumes. */
    public static final String REPLAYED = "tether.replayed.messages";
    /** Counter: reliable messages acknowledged by clients. */
    public static final String ACKED = "tether.acked.messages";
    /** Counter: sessions resumed. */
    public static final String RESUMED = "tether.resumed.sessions";
    /** Counter: gaps reported to clients. */
    public static final String GAPS = "tether.gaps";
    /** Counter: connections closed as slow consumers. */
    public static final String SLOW_CONSUMER_CLOSES = "tether.slow.consumer.closes";
    /** Counter, tag {@code code}: connections closed for malformed frames or impossible sequence numbers. */
    public static final String PROTOCOL_ERRORS = "tether.protocol.errors";
    /** Counter, tag {@code reason}: handshakes, resumes, subscribes, publishes and more refused. */
    public static final String REFUSALS = "tether.refusals";
    /** Counter, tag {@code callback}: application callbacks that threw. */
    public static final String HANDLER_ERRORS = "tether.handler.errors";
    /** Timer: native handshakes, from attachment to welcome. */
    public static final String HANDSHAKE = "tether.handshake";
    /** Timer: handshakes over the handshake rate that waited for their turn, and how long. */
    public static final String HANDSHAKE_DELAY = "tether.handshake.delay";
    /** Timer: handler latency, from dispatch to completion. */
    public static final String HANDLER = "tether.handler";
    /** Timer: a publish's fan-out to this node's subscribers. */
    public static final String PUBLISH_FANOUT = "tether.publish.fanout";
    /** Distribution summary: this node's subscribers a publish was handed to. */
    public static final String PUBLISH_RECIPIENTS = "tether.publish.recipients";

    /** The close codes of {@link MetricsListener#protocolError(int)}: 4500 and 4505. */
    public static final List<Integer> KNOWN_PROTOCOL_ERROR_CODES =
            List.of(CloseCodes.BAD_REQUEST, CloseCodes.INVALID_SEQUENCE);
    /** The reasons of {@link MetricsListener#refused(String)}. */
    public static final List<String> KNOWN_REFUSAL_REASONS = List.of("admission: connections",
            "admission: handshake rate", "admission: closing", "handshake", "rate limit", "resume", "subscribe",
            "publish", "refresh", "socketio.connect");
    /** The callbacks of {@link MetricsListener#handlerFailed(String)}. */
    public static final List<String> KNOWN_CALLBACKS = List.of("handler.onOpen", "handler.onMessage",
            "handler.onRequest", "handler.onClose", "handler.onGap", "handler.onResumeFailed", "handler.onMigrated",
            "presence.onPresence", "presence.onGap", "socketio.connection", "socketio.disconnect");

    private static final String MESSAGES = "messages";

    private final Tags tags;
    private volatile Supplier<Stats> stats;

    private final LongAdder received = new LongAdder();
    private final LongAdder sent = new LongAdder();
    private final LongAdder duplicates = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder overflowed = new LongAdder();
    private final LongAdder replayed = new LongAdder();
    private final LongAdder acked = new LongAdder();
    private final LongAdder resumed = new LongAdder();
    private final LongAdder gaps = new LongAdder();
    private final LongAdder slowConsumerCloses = new LongAdder();
    private final Map<Integer, LongAdder> protocolErrors = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> refusals = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> handlerErrors = new ConcurrentHashMap<>();

    /** The registries bound so far, with their timers; replaced whole (copy on write) under {@code this}. */
    private volatile Bound[] bound = new Bound[0];

    /** The meters of one registry that record rather than read. */
    private record Bound(MeterRegistry registry, Timer handshake, Timer handshakeDelay, Timer handler, Timer fanout,
                         DistributionSummary recipients) {
    }

    /**
     * Meters tagged {@code protocol} and {@code endpoint}.
     *
     * @param protocol the wire protocol the hub serves, such as {@code "tether"} or {@code "socketio"}
     * @param endpoint where it is served, such as the path {@code "/tether"}
     */
    public TetherMetrics(String protocol, String endpoint) {
        this(protocol, endpoint, Tags.empty());
    }

    /**
     * Meters tagged {@code protocol}, {@code endpoint} and {@code extraTags} (a node name, a
     * region...). Give the same tag keys to every instance that shares a registry.
     *
     * @param protocol  the {@code protocol} tag, such as {@code tether-json} or {@code socket.io}
     * @param endpoint  the {@code endpoint} tag, such as the path the hub is served on
     * @param extraTags further tags for every meter
     * @throws IllegalArgumentException if {@code extraTags} has a {@code protocol} or {@code endpoint} tag
     */
    public TetherMetrics(String protocol, String endpoint, Iterable<Tag> extraTags) {
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(extraTags, "extraTags");
        for (Tag t : extraTags) {
            if (t.getKey().equals("protocol") || t.getKey().equals("endpoint")) {
                throw new IllegalArgumentException("extraTags must not set '" + t.getKey() + "': it is a constructor argument");
            }
        }
        this.tags = Tags.of("protocol", protocol, "endpoint", endpoint).and(extraTags);
        KNOWN_PROTOCOL_ERROR_CODES.forEach(code -> protocolErrors.put(code, new LongAdder()));
        KNOWN_REFUSAL_REASONS.forEach(reason -> refusals.put(reason, new LongAdder()));
        KNOWN_CALLBACKS.forEach(callback -> handlerErrors.put(callback, new LongAdder()));
    }

    /** {@return the tags every meter of this instance carries} */
    public Tags tags() {
        return tags;
    }

    // ------------------------------------------------------------ MeterBinder

    /** Registers every meter in {@code registry}. Binding the same registry twice does nothing more. */
    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        for (Bound b : bound) {
            if (b.registry == registry) {
                return;
            }
        }
        gauge(registry, CONNECTIONS, "connections", "Connections attached now", Stats::connections);
        gauge(registry, SESSIONS, "sessions", "Sessions alive now, connected or detached", Stats::sessions);
        gauge(registry, TOPICS, "topics", "Topics with at least one subscriber", Stats::topics);
        gauge(registry, QUEUED, MESSAGES, "Messages waiting in outbound queues", Stats::queued);
        gauge(registry, UNACKED, MESSAGES, "Reliable messages written and not yet acknowledged", Stats::pendingAcks);
        Gauge.builder(UNACKED_OLDEST_AGE, this, m -> m.read(Stats::oldestUnackedMs) / 1000.0)
                .tags(tags).baseUnit("seconds").strongReference(true)
                .description("Age of the oldest reliable message not yet acknowledged (whole seconds)")
                .register(registry);
        counter(registry, RECEIVED, MESSAGES, "Application messages received from clients", received, Tags.empty());
        counter(registry, SENT, MESSAGES, "Messages written to connections", sent, Tags.empty());
        counter(registry, DUPLICATES, MESSAGES, "Client messages dropped as duplicates of resends", duplicates, Tags.empty());
        counter(registry, DROPPED, MESSAGES, "Volatile messages dropped under backpressure", dropped, Tags.empty());
        counter(registry, OVERFLOWED, MESSAGES, "Reliable messages that overflowed a queue", overflowed, Tags.empty());
        counter(registry, REPLAYED, MESSAGES, "Messages replayed after resumes", replayed, Tags.empty());
        counter(registry, ACKED, MESSAGES, "Reliable messages acknowledged by clients", acked, Tags.empty());
        counter(registry, RESUMED, "sessions", "Sessions resumed", resumed, Tags.empty());
        counter(registry, GAPS, "gaps", "Gaps reported to clients", gaps, Tags.empty());
        counter(registry, SLOW_CONSUMER_CLOSES, null, "Connections closed as slow consumers", slowConsumerCloses, Tags.empty());
        protocolErrors.forEach((code, n) -> protocolErrorCounter(registry, code, n));
        refusals.forEach((reason, n) -> refusalCounter(registry, reason, n));
        handlerErrors.forEach((callback, n) -> handlerErrorCounter(registry, callback, n));
        Bound b = new Bound(registry,
                timer(registry, HANDSHAKE, "Native handshakes, from attachment to welcome"),
                timer(registry, HANDSHAKE_DELAY, "Handshakes that waited for their turn under the handshake rate"),
                timer(registry, HANDLER, "Handler latency, from dispatch to completion"),
                timer(registry, PUBLISH_FANOUT, "Fan-out of a publish to this node's subscribers"),
                DistributionSummary.builder(PUBLISH_RECIPIENTS).tags(tags).baseUnit("sessions")
                        .description("Subscribers on this node a publish was handed to").register(registry));
        Bound[] more = Arrays.copyOf(bound, bound.length + 1);
        more[bound.length] = b;
        bound = more;
    }

    private void gauge(MeterRegistry registry, String name, String unit, String description, ToLongFunction<Stats> field) {
        Gauge.builder(name, this, m -> m.read(field)).tags(tags).baseUnit(unit).description(description)
                .strongReference(true).register(registry);
    }

    private double read(ToLongFunction<Stats> field) {
        Supplier<Stats> s = stats;
        return s == null ? Double.NaN : field.applyAsLong(s.get());
    }

    private void counter(MeterRegistry registry, String name, String unit, String description, LongAdder count, Tags more) {
        FunctionCounter.builder(name, count, LongAdder::doubleValue).tags(tags).tags(more).baseUnit(unit)
                .description(description).register(registry);
    }

    private Timer timer(MeterRegistry registry, String name, String description) {
        return Timer.builder(name).tags(tags).description(description).register(registry);
    }

    private void protocolErrorCounter(MeterRegistry registry, int code, LongAdder n) {
        counter(registry, PROTOCOL_ERRORS, null, "Connections closed for malformed frames or impossible sequence numbers",
                n, Tags.of("code", Integer.toString(code)));
    }

    private void refusalCounter(MeterRegistry registry, String reason, LongAdder n) {
        counter(registry, REFUSALS, null, "Handshakes, resumes, subscribes, publishes and more refused",
                n, Tags.of("reason", reason));
    }

    private void handlerErrorCounter(MeterRegistry registry, String callback, LongAdder n) {
        counter(registry, HANDLER_ERRORS, null, "Application callbacks that threw", n, Tags.of("callback", callback));
    }

    /**
     * The counter of {@code key}, registered in every bound registry the first time the key is
     * seen (under {@code this}, so that a concurrent {@link #bindTo} sees it or registers it).
     */
    private synchronized <K> LongAdder firstOf(Map<K, LongAdder> counters, K key,
                                               BiConsumer<MeterRegistry, LongAdder> register) {
        LongAdder n = counters.get(key);
        if (n == null) {
            n = new LongAdder();
            counters.put(key, n);
            for (Bound b : bound) {
                register.accept(b.registry, n);
            }
        }
        return n;
    }

    // ------------------------------------------------------------ MetricsListener

    /** Takes the hub's {@link dev.tether.core.Tether#stats()} for the gauges. */
    @Override
    public void hubStarted(Supplier<Stats> stats) {
        this.stats = Objects.requireNonNull(stats, "stats");
    }

    @Override
    public void handshakeCompleted(long nanos) {
        for (Bound b : bound) {
            b.handshake.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void handshakeDelayed(long nanos) {
        for (Bound b : bound) {
            b.handshakeDelay.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void sessionResumed() {
        resumed.increment();
    }

    @Override
    public void messageReceived() {
        received.increment();
    }

    @Override
    public void duplicateReceived() {
        duplicates.increment();
    }

    @Override
    public void messagesWritten(int count) {
        sent.add(count);
    }

    @Override
    public void volatileDropped() {
        dropped.increment();
    }

    @Override
    public void reliableOverflowed() {
        overflowed.increment();
    }

    @Override
    public void messagesAcked(int count) {
        acked.add(count);
    }

    @Override
    public void messagesReplayed(int count) {
        replayed.add(count);
    }

    @Override
    public void gapReported() {
        gaps.increment();
    }

    @Override
    public void slowConsumerClosed() {
        slowConsumerCloses.increment();
    }

    @Override
    public void protocolError(int closeCode) {
        LongAdder n = protocolErrors.get(closeCode);
        if (n == null) {
            n = firstOf(protocolErrors, closeCode, (registry, count) -> protocolErrorCounter(registry, closeCode, count));
        }
        n.increment();
    }

    @Override
    public void refused(String what) {
        String reason = what == null ? "unknown" : what;
        LongAdder n = refusals.get(reason);
        if (n == null) {
            n = firstOf(refusals, reason, (registry, count) -> refusalCounter(registry, reason, count));
        }
        n.increment();
    }

    @Override
    public void handlerCompleted(long nanos) {
        for (Bound b : bound) {
            b.handler.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void handlerFailed(String callback) {
        String name = callback == null ? "unknown" : callback;
        LongAdder n = handlerErrors.get(name);
        if (n == null) {
            n = firstOf(handlerErrors, name, (registry, count) -> handlerErrorCounter(registry, name, count));
        }
        n.increment();
    }

    @Override
    public void published(int recipients, long nanos) {
        for (Bound b : bound) {
            b.fanout.record(nanos, TimeUnit.NANOSECONDS);
            b.recipients.record(recipients);
        }
    }

    @Override
    public String toString() {
        return "TetherMetrics" + tags;
    }
}
