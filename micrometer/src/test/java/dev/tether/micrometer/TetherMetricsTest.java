package dev.tether.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.CloseCodes;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.SendResult;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Stats;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.TransportHub;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link TetherMetrics} on a real hub over the in-memory transport, read from a {@link SimpleMeterRegistry}. */
class TetherMetricsTest {

    private static final Principal ALICE = () -> "alice";

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final TetherMetrics metrics = new TetherMetrics("tether", "/tether");
    private final BlockingQueue<Session> opened = new LinkedBlockingQueue<>();
    private final BlockingQueue<Message> handled = new LinkedBlockingQueue<>();
    private final List<FakeClient> clients = new ArrayList<>();
    private Tether tether;

    private final SessionHandler handler = new SessionHandler() {
        @Override
        public void onOpen(Session session) {
            opened.add(session);
        }

        @Override
        public void onMessage(Session session, Message message) {
            if (message.event().equals("boom")) {
                throw new IllegalStateException("handler bug (expected by the test)");
            }
            handled.add(message);
        }
    };

    @AfterEach
    void stop() {
        if (tether != null) {
            tether.close();
        }
    }

    private Tether start(TetherConfig.Builder config) {
        tether = Tether.create(config.metrics(metrics).drainTimeout(Duration.ZERO).build(), handler);
        return tether;
    }

    private FakeClient connect() {
        FakeClient c = FakeClient.open(tether, ALICE);
        clients.add(c);
        return c;
    }

    private Session openedSession() throws InterruptedException {
        Session s = opened.poll(10, TimeUnit.SECONDS);
        assertThat(s).as("onOpen").isNotNull();
        return s;
    }

    private double gauge(String name) {
        return registry.get(name).tags(metrics.tags()).gauge().value();
    }

    private double counter(String name, String... tags) {
        return registry.get(name).tags(metrics.tags()).tags(tags).functionCounter().count();
    }

    private long timerCount(String name) {
        return registry.get(name).tags(metrics.tags()).timer().count();
    }

    /** Waits, at most 10 s, for {@code value} to reach {@code atLeast}: for a gauge that moves with time. */
    private static void awaitAtLeast(DoubleSupplier value, double atLeast) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (value.getAsDouble() < atLeast && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        assertThat(value.getAsDouble()).isGreaterThanOrEqualTo(atLeast);
    }

    @Test
    void everyMeterMovesWithTheHubAndAgreesWithItsStats() throws Exception {
        metrics.bindTo(registry);
        CountDownLatch handlerFailed = new CountDownLatch(1);
        // Handlers on the I/O thread: once a connection's I/O thread settles, its handlers have run.
        start(TetherConfig.builder().handlerExecutor(Runnable::run).outboundQueueCapacity(8).volatileQueueLimit(2)
                .errorHandler((context, error) -> {
            if (context.equals("handler.onMessage")) {
                handlerFailed.countDown();
            }
        }));

        // Gauges: a connection, its session and topic, queued then unacknowledged messages.
        FakeClient first = connect();
        JsonNode welcome = first.hello();
        Session session = openedSession();
        session.subscribe("room");
        assertThat(gauge(TetherMetrics.CONNECTIONS)).isEqualTo(1);
        assertThat(gauge(TetherMetrics.SESSIONS)).isEqualTo(1);
        assertThat(gauge(TetherMetrics.TOPICS)).isEqualTo(1);
        CountDownLatch release = first.blockIo();
        for (int i = 0; i < 3; i++) {
            session.send("n", Payload.text("m" + i));
        }
        assertThat(gauge(TetherMetrics.QUEUED)).isEqualTo(3);
        release.countDown();
        for (int i = 0; i < 3; i++) {
            first.next("msg");
        }
        assertThat(gauge(TetherMetrics.QUEUED)).isZero();
        assertThat(gauge(TetherMetrics.UNACKED)).isEqualTo(3);
        awaitAtLeast(() -> gauge(TetherMetrics.UNACKED_OLDEST_AGE), 1.0); // whole seconds: one must pass
        first.send("{\"t\":\"ack\",\"seq\":2}");
        first.settle();
        assertThat(gauge(TetherMetrics.UNACKED)).isEqualTo(1);

        // Inbound messages, a handler that throws, a refused subscribe, a publish.
        first.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"m\",\"d\":1}");
        first.send("{\"t\":\"msg\",\"seq\":2,\"e\":\"boom\",\"d\":2}");
        first.send("{\"t\":\"sub\",\"id\":7,\"topic\":\"secret\"}");
        assertThat(first.next("error").path("id").asLong()).isEqualTo(7);
        assertThat(handled.poll(10, TimeUnit.SECONDS)).isNotNull();
        assertThat(handlerFailed.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(tether.publish("room", "news", Payload.text("x"))).isEqualTo(1);
        first.next("msg");

        // A resume: replay after seq 2, and the client's resend of its seq 1 is a duplicate.
        first.drop();
        first.awaitClose();
        FakeClient second = connect();
        assertThat(second.resume(welcome, 2).path("resumed").asBoolean()).isTrue();
        second.next("msg");
        second.next("msg");
        second.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"m\",\"d\":1}");
        second.settle();

        // A protocol error, and a resume of a session this hub never had: a gap.
        FakeClient garbled = connect();
        garbled.send("{\"t\":\"msg\",\"seq\":1}");
        assertThat(garbled.awaitClose()).isEqualTo(CloseCodes.BAD_REQUEST);
        FakeClient stranger = connect();
        assertThat(stranger.resume(((com.fasterxml.jackson.databind.node.ObjectNode) welcome.deepCopy()).put("sid", "elsewhere-1"), 0).path("resumed").asBoolean())
                .isFalse();
        openedSession(); // the stranger's fresh one

        // A slow consumer: volatile messages dropped, then a reliable one overflows.
        FakeClient slow = connect();
        slow.hello();
        Session slowSession = openedSession();
        CountDownLatch slowRelease = slow.blockIo();
        slowSession.sendVolatile("v", Payload.EMPTY);
        slowSession.sendVolatile("v", Payload.EMPTY);
        assertThat(slowSession.sendVolatile("v", Payload.EMPTY)).isEqualTo(SendResult.DROPPED);
        SendResult last = SendResult.ENQUEUED;
        for (int i = 0; i < 100 && last != SendResult.OVERFLOW; i++) {
            last = slowSession.send("r", Payload.EMPTY);
        }
        assertThat(last).isEqualTo(SendResult.OVERFLOW);
        slowRelease.countDown();
        assertThat(slow.awaitClose()).isEqualTo(CloseCodes.SLOW_CONSUMER);
        for (FakeClient c : clients) {
            c.settle(); // every drain is over: what was written is counted
        }

        Stats stats = tether.stats();
        assertThat(counter(TetherMetrics.RECEIVED)).isEqualTo(stats.messagesIn()).isEqualTo(2);
        assertThat(counter(TetherMetrics.SENT)).isEqualTo(stats.messagesOut()).isPositive();
        assertThat(counter(TetherMetrics.DUPLICATES)).isEqualTo(stats.duplicatesIn()).isEqualTo(1);
        assertThat(counter(TetherMetrics.DROPPED)).isEqualTo(stats.volatileDropped()).isEqualTo(1);
        assertThat(counter(TetherMetrics.OVERFLOWED)).isEqualTo(stats.reliableOverflowed()).isEqualTo(1);
        assertThat(counter(TetherMetrics.REPLAYED)).isEqualTo(stats.replayed()).isEqualTo(2);
        assertThat(counter(TetherMetrics.RESUMED)).isEqualTo(stats.resumed()).isEqualTo(1);
        // The stranger's, and the slow consumer's overflow, written after what was queued before it.
        assertThat(counter(TetherMetrics.GAPS)).isEqualTo(stats.gaps()).isEqualTo(2);
        assertThat(counter(TetherMetrics.SLOW_CONSUMER_CLOSES)).isEqualTo(stats.slowConsumerCloses()).isEqualTo(1);
        assertThat(counter(TetherMetrics.PROTOCOL_ERRORS, "code", "4500")).isEqualTo(stats.protocolErrors()).isEqualTo(1);
        assertThat(counter(TetherMetrics.REFUSALS, "reason", "subscribe")).isEqualTo(stats.refused()).isEqualTo(1);
        assertThat(counter(TetherMetrics.HANDLER_ERRORS, "callback", "handler.onMessage"))
                .isEqualTo(stats.handlerErrors()).isEqualTo(1);
        assertThat(counter(TetherMetrics.ACKED)).isEqualTo(2);
        assertThat(timerCount(TetherMetrics.HANDSHAKE)).as("first, second, stranger, slow").isEqualTo(4);
        assertThat(timerCount(TetherMetrics.HANDLER)).isEqualTo(2);
        assertThat(timerCount(TetherMetrics.PUBLISH_FANOUT)).isEqualTo(1);
        assertThat(registry.get(TetherMetrics.PUBLISH_RECIPIENTS).summary().totalAmount()).isEqualTo(1);
        assertThat(gauge(TetherMetrics.CONNECTIONS)).isEqualTo(stats.connections());
        assertThat(gauge(TetherMetrics.UNACKED)).isEqualTo(stats.pendingAcks());
    }

    @Test
    void aHandshakeThatWaitedForItsTurnIsTimed() {
        metrics.bindTo(registry);
        TransportHub hub = TransportHub.of(start(TetherConfig.builder().maxHandshakesPerSecond(10).handshakeBurst(1)));
        assertThat(hub.admitOrDelay()).isZero();
        long delay = hub.admitOrDelay();
        assertThat(delay).isPositive();
        assertThat(timerCount(TetherMetrics.HANDSHAKE_DELAY)).isEqualTo(1);
        assertThat(registry.get(TetherMetrics.HANDSHAKE_DELAY).timer().totalTime(TimeUnit.NANOSECONDS)).isEqualTo(delay);
    }

    @Test
    void everyMeterCarriesTheProtocolAndEndpointTags() {
        TetherMetrics tagged = new TetherMetrics("socketio", "/socket.io/", Tags.of("node", "a"));
        tagged.bindTo(registry);
        tagged.refused("handshake");
        tagged.protocolError(CloseCodes.INVALID_SEQUENCE);
        tagged.handlerFailed("handler.onOpen");
        assertThat(registry.getMeters()).extracting(m -> m.getId().getName()).containsOnly(
                TetherMetrics.CONNECTIONS, TetherMetrics.SESSIONS, TetherMetrics.TOPICS, TetherMetrics.QUEUED,
                TetherMetrics.UNACKED, TetherMetrics.UNACKED_OLDEST_AGE, TetherMetrics.RECEIVED, TetherMetrics.SENT,
                TetherMetrics.DUPLICATES, TetherMetrics.DROPPED, TetherMetrics.OVERFLOWED, TetherMetrics.REPLAYED,
                TetherMetrics.ACKED, TetherMetrics.RESUMED, TetherMetrics.GAPS, TetherMetrics.SLOW_CONSUMER_CLOSES,
                TetherMetrics.PROTOCOL_ERRORS, TetherMetrics.REFUSALS, TetherMetrics.HANDLER_ERRORS,
                TetherMetrics.HANDSHAKE, TetherMetrics.HANDSHAKE_DELAY, TetherMetrics.HANDLER,
                TetherMetrics.PUBLISH_FANOUT, TetherMetrics.PUBLISH_RECIPIENTS);
        for (Meter m : registry.getMeters()) {
            assertThat(m.getId().getName()).startsWith("tether.");
            assertThat(m.getId().getTag("protocol")).as(m.getId().getName()).isEqualTo("socketio");
            assertThat(m.getId().getTag("endpoint")).as(m.getId().getName()).isEqualTo("/socket.io/");
            assertThat(m.getId().getTag("node")).as(m.getId().getName()).isEqualTo("a");
        }
        assertThatThrownBy(() -> new TetherMetrics("tether", "/", Tags.of("endpoint", "x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("endpoint");
    }

    @Test
    void gaugesReadNaNUntilAHubStartsAndCountersCountEventsFromBeforeTheBinding() {
        metrics.bindTo(registry);
        assertThat(gauge(TetherMetrics.SESSIONS)).isNaN();
        assertThat(counter(TetherMetrics.PROTOCOL_ERRORS, "code", "4505")).as("listed before any event").isZero();
        assertThat(counter(TetherMetrics.REFUSALS, "reason", "admission: handshake rate")).isZero();
        assertThat(counter(TetherMetrics.HANDLER_ERRORS, "callback", "handler.onClose")).isZero();
        TetherMetrics early = new TetherMetrics("tether", "/early");
        early.messageReceived();
        early.refused("admission: connections");
        early.bindTo(registry);
        assertThat(registry.get(TetherMetrics.RECEIVED).tag("endpoint", "/early").functionCounter().count()).isEqualTo(1);
        assertThat(registry.get(TetherMetrics.REFUSALS).tag("endpoint", "/early").tag("reason", "admission: connections")
                .functionCounter().count()).isEqualTo(1);
        start(TetherConfig.builder());
        assertThat(gauge(TetherMetrics.SESSIONS)).isZero();
    }

    @Test
    void aReasonNotKnownInAdvanceAppearsWithItsFirstEvent() {
        metrics.bindTo(registry);
        assertThat(registry.find(TetherMetrics.REFUSALS).tag("reason", "something new").functionCounter()).isNull();
        metrics.refused("something new");
        metrics.refused("something new");
        assertThat(counter(TetherMetrics.REFUSALS, "reason", "something new")).isEqualTo(2);
    }

    @Test
    void oneInstanceServesSeveralRegistriesAndBindsEachOnce() {
        MeterRegistry other = new SimpleMeterRegistry();
        metrics.bindTo(registry);
        metrics.bindTo(registry);
        metrics.bindTo(other);
        metrics.handlerCompleted(TimeUnit.MILLISECONDS.toNanos(3));
        metrics.refused("resume");
        for (MeterRegistry r : List.of(registry, other)) {
            assertThat(r.get(TetherMetrics.HANDLER).timer().count()).isEqualTo(1);
            assertThat(r.get(TetherMetrics.REFUSALS).tag("reason", "resume").functionCounter().count()).isEqualTo(1);
        }
    }
}
