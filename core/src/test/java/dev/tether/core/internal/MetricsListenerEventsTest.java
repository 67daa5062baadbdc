package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.CloseCodes;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Stats;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.MetricsListener;
import java.security.Principal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link MetricsListener} hears every event that {@link Stats} counts, as often as it counts it. */
class MetricsListenerEventsTest {

    private static final Principal ALICE = () -> "alice";

    private final BlockingQueue<Session> opened = new LinkedBlockingQueue<>();
    private final BlockingQueue<Message> handled = new LinkedBlockingQueue<>();
    private final Recording metrics = new Recording();
    private Tether tether;

    private final SessionHandler handler = new SessionHandler() {
        @Override
        public void onOpen(Session session) {
            opened.add(session);
        }

        @Override
        public void onMessage(Session session, Message message) {
            if (message.event().equals("boom")) {
                throw new IllegalStateException("handler bug");
            }
            handled.add(message);
        }
    };

    /** Counts each event under its name; keeps the arguments that carry a reason or a duration. */
    static final class Recording implements MetricsListener {
        final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
        final List<Integer> protocolErrorCodes = new CopyOnWriteArrayList<>();
        final List<String> failedCallbacks = new CopyOnWriteArrayList<>();
        final List<Long> handshakeNanos = new CopyOnWriteArrayList<>();
        final List<Integer> publishRecipients = new CopyOnWriteArrayList<>();
        volatile Supplier<Stats> stats;

        private void count(String event, long n) {
            counts.computeIfAbsent(event, e -> new AtomicLong()).addAndGet(n);
        }

        long count(String event) {
            AtomicLong n = counts.get(event);
            return n == null ? 0 : n.get();
        }

        @Override
        public void hubStarted(Supplier<Stats> stats) {
            this.stats = stats;
        }

        @Override
        public void handshakeCompleted(long nanos) {
            handshakeNanos.add(nanos);
        }

        @Override
        public void messageReceived() {
            count("in", 1);
        }

        @Override
        public void duplicateReceived() {
            count("duplicates", 1);
        }

        @Override
        public void messagesWritten(int count) {
            count("out", count);
        }

        @Override
        public void protocolError(int closeCode) {
            protocolErrorCodes.add(closeCode);
        }

        @Override
        public void handlerFailed(String callback) {
            failedCallbacks.add(callback);
        }

        @Override
        public void published(int recipients, long nanos) {
            assertThat(nanos).isNotNegative();
            publishRecipients.add(recipients);
        }
    }

    @AfterEach
    void stop() {
        if (tether != null) {
            tether.close();
        }
    }

    private Session openedSession() throws InterruptedException {
        Session s = opened.poll(10, TimeUnit.SECONDS);
        assertThat(s).as("onOpen").isNotNull();
        return s;
    }

    @Test
    void theListenerIsGivenTheHubsStatsWhenTheHubStarts() {
        tether = Tether.create(TetherConfig.builder().metrics(metrics).drainTimeout(Duration.ZERO).build(), handler);
        assertThat(metrics.stats).isNotNull();
        InMemoryConnection.open(tether, ALICE).hello();
        assertThat(metrics.stats.get().connections()).isEqualTo(1);
        assertThat(metrics.stats.get().sessions()).isEqualTo(1);
    }

    @Test
    void everyEventStatsCountsIsReported() throws Exception {
        CountDownLatch handlerFailed = new CountDownLatch(1);
        tether = Tether.create(TetherConfig.builder().metrics(metrics).errorHandler((context, error) -> {
            if (context.equals("handler.onMessage")) {
                handlerFailed.countDown();
            }
        }).drainTimeout(Duration.ZERO).build(), handler);

        InMemoryConnection first = InMemoryConnection.open(tether, ALICE);
        JsonNode welcome = first.hello();
        Session s = openedSession();
        first.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"m\",\"d\":1}");
        first.send("{\"t\":\"msg\",\"seq\":2,\"e\":\"boom\",\"d\":2}");
        assertThat(handled.poll(10, TimeUnit.SECONDS)).isNotNull();
        first.drop();
        first.awaitClose();

        InMemoryConnection second = InMemoryConnection.open(tether, ALICE);
        second.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText()
                + "\",\"token\":\"" + welcome.path("token").asText() + "\",\"last\":0}");
        assertThat(second.next("welcome").path("resumed").asBoolean()).isTrue();
        second.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"m\",\"d\":1}"); // a resend: a duplicate
        second.onIo(() -> { });

        s.subscribe("room");
        InMemoryConnection other = InMemoryConnection.open(tether, ALICE);
        other.hello();
        openedSession().subscribe("room");
        assertThat(tether.publish("room", "news", Payload.text("x"))).isEqualTo(2);
        tether.publish("empty", "news", Payload.text("x"));
        second.next("msg");
        other.next("msg");

        other.send("{\"t\":\"msg\",\"seq\":5,\"e\":\"m\"}"); // skips 1 to 4
        assertThat(other.awaitClose()).isEqualTo(CloseCodes.INVALID_SEQUENCE);
        InMemoryConnection garbled = InMemoryConnection.open(tether, ALICE);
        garbled.send("not json");
        assertThat(garbled.awaitClose()).isEqualTo(CloseCodes.BAD_REQUEST);
        assertThat(handlerFailed.await(10, TimeUnit.SECONDS)).as("the handler's error was reported").isTrue();
        for (InMemoryConnection c : List.of(first, second, other, garbled)) {
            c.onIo(() -> { }); // every drain is over
        }

        Stats stats = tether.stats();
        assertThat(stats.messagesIn()).isEqualTo(2);
        assertThat(metrics.count("in")).isEqualTo(stats.messagesIn());
        assertThat(stats.duplicatesIn()).isEqualTo(1);
        assertThat(metrics.count("duplicates")).isEqualTo(stats.duplicatesIn());
        assertThat(stats.messagesOut()).isPositive();
        assertThat(metrics.count("out")).isEqualTo(stats.messagesOut());
        assertThat(stats.protocolErrors()).isEqualTo(2);
        assertThat(metrics.protocolErrorCodes)
                .containsExactlyInAnyOrder(CloseCodes.INVALID_SEQUENCE, CloseCodes.BAD_REQUEST);
        assertThat(stats.handlerErrors()).isEqualTo(1);
        assertThat(metrics.failedCallbacks).containsExactly("handler.onMessage");
        assertThat(metrics.publishRecipients).containsExactly(2, 0);
        assertThat(metrics.handshakeNanos).as("first, second and other; garbled never said hello")
                .hasSize(3).allSatisfy(n -> assertThat(n).isNotNegative());
    }
}
