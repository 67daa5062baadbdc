package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.Payload;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Stats;
import dev.tether.core.TetherConfig;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gauges of {@link Hub#stats()} are kept as events happen (no walk over the sessions): they
 * move with queues, drains, acks and session ends, and agree with what the sessions hold.
 */
class StatsGaugesTest {

    private static final Principal ALICE = () -> "alice";

    private final BlockingQueue<Session> opened = new LinkedBlockingQueue<>();
    private final AtomicLong clock = new AtomicLong(System.nanoTime());
    private Hub hub;

    private final SessionHandler handler = new SessionHandler() {
        @Override
        public void onOpen(Session session) {
            opened.add(session);
        }
    };

    private Hub start(TetherConfig.Builder config) {
        hub = new Hub(config.errorHandler((context, error) -> { }).drainTimeout(Duration.ZERO).build(),
                handler, clock::get);
        return hub;
    }

    @AfterEach
    void stop() {
        if (hub != null) {
            hub.close();
        }
    }

    private Session openedSession() throws InterruptedException {
        Session s = opened.poll(10, TimeUnit.SECONDS);
        assertThat(s).as("onOpen").isNotNull();
        return s;
    }

    /** The gauges as the removed walk over every session computed them. */
    private long[] walk() {
        long queued = 0;
        long pending = 0;
        for (ServerSession s : hub.liveSessions()) {
            queued += s.queued();
            pending += s.pendingAcks();
        }
        return new long[] {queued, pending};
    }

    private void assertGaugesAgreeWithTheSessions() {
        Stats stats = hub.stats();
        assertThat(new long[] {stats.queued(), stats.pendingAcks()}).isEqualTo(walk());
    }

    @Test
    void queuedAndPendingAcksFollowQueueDrainAndAck() throws Exception {
        start(TetherConfig.builder());
        InMemoryConnection c = InMemoryConnection.open(hub, ALICE);
        c.hello();
        Session s = openedSession();
        CountDownLatch release = c.blockIo();
        for (int i = 0; i < 5; i++) {
            s.send("n", Payload.text("m" + i));
        }
        s.sendVolatile("v", Payload.EMPTY);
        assertThat(hub.stats().queued()).isEqualTo(6);
        assertThat(hub.stats().pendingAcks()).isZero();
        release.countDown();
        for (int i = 0; i < 6; i++) {
            c.next("msg");
        }
        assertThat(hub.stats().queued()).isZero();
        assertThat(hub.stats().pendingAcks()).as("reliable messages only").isEqualTo(5);
        c.send("{\"t\":\"ack\",\"seq\":3}");
        c.onIo(() -> { });
        assertThat(hub.stats().pendingAcks()).isEqualTo(2);
        assertGaugesAgreeWithTheSessions();
        s.close("done");
        assertThat(hub.stats().pendingAcks()).as("an ended session's buffer is not pending").isZero();
        assertThat(hub.stats().sessions()).isZero();
    }

    @Test
    void aSessionThatEndsWithMessagesQueuedTakesThemOutAtOnce() throws Exception {
        start(TetherConfig.builder());
        InMemoryConnection c = InMemoryConnection.open(hub, ALICE);
        c.hello();
        Session s = openedSession();
        CountDownLatch release = c.blockIo();
        for (int i = 0; i < 3; i++) {
            s.send("n", Payload.EMPTY);
        }
        assertThat(hub.stats().queued()).isEqualTo(3);
        s.close("done");
        assertThat(hub.stats().queued()).isZero();
        release.countDown();
        c.awaitClose();
        c.onIo(() -> { });
        assertThat(hub.stats().queued()).isZero();
        assertThat(hub.stats().pendingAcks()).isZero();
    }

    @Test
    void gaugesAgreeWithTheSessionsAfterConcurrentPublishesAndAcks() throws Exception {
        start(TetherConfig.builder().replayBufferMessages(1024));
        int sessions = 8;
        int publishers = 4;
        int perPublisher = 50;
        List<InMemoryConnection> connections = new ArrayList<>();
        for (int i = 0; i < sessions; i++) {
            InMemoryConnection c = InMemoryConnection.open(hub, ALICE);
            c.hello();
            openedSession().subscribe("room");
            connections.add(c);
        }
        List<CompletableFuture<Void>> running = new ArrayList<>();
        for (int p = 0; p < publishers; p++) {
            running.add(CompletableFuture.runAsync(() -> {
                for (int i = 0; i < perPublisher; i++) {
                    hub.publish("room", "n", Payload.EMPTY);
                }
            }));
        }
        CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
        int total = publishers * perPublisher;
        for (InMemoryConnection c : connections) {
            for (int i = 0; i < total; i++) {
                c.next("msg");
            }
        }
        assertThat(hub.stats().queued()).isZero();
        assertThat(hub.stats().pendingAcks()).isEqualTo((long) sessions * total);
        assertGaugesAgreeWithTheSessions();
        for (InMemoryConnection c : connections) {
            c.send("{\"t\":\"ack\",\"seq\":" + total + "}");
            c.onIo(() -> { });
        }
        assertThat(hub.stats().pendingAcks()).isZero();
        assertThat(hub.stats().oldestUnackedMs()).isZero();
        assertGaugesAgreeWithTheSessions();
    }

    @Test
    void oldestUnackedAgeIsTheOldestSessionsOldestMessageAndDropsWhenAcked() throws Exception {
        start(TetherConfig.builder());
        InMemoryConnection first = InMemoryConnection.open(hub, ALICE);
        first.hello();
        Session s1 = openedSession();
        s1.send("n", Payload.EMPTY);
        first.next("msg");
        assertThat(hub.stats().oldestUnackedMs()).isZero();

        clock.addAndGet(TimeUnit.SECONDS.toNanos(5));
        InMemoryConnection second = InMemoryConnection.open(hub, ALICE);
        second.hello();
        Session s2 = openedSession();
        s2.send("n", Payload.EMPTY);
        second.next("msg");
        s1.send("n", Payload.EMPTY); // younger than s1's first: the age stays that of the first
        first.next("msg");
        clock.addAndGet(TimeUnit.SECONDS.toNanos(2));
        assertThat(hub.stats().oldestUnackedMs()).isEqualTo(7_000);

        first.send("{\"t\":\"ack\",\"seq\":1}");
        first.onIo(() -> { });
        assertThat(hub.stats().oldestUnackedMs()).as("s1's second and s2's message, written 2 s ago")
                .isEqualTo(2_000);
        first.send("{\"t\":\"ack\",\"seq\":2}");
        second.send("{\"t\":\"ack\",\"seq\":1}");
        first.onIo(() -> { });
        second.onIo(() -> { });
        assertThat(hub.stats().oldestUnackedMs()).isZero();
    }

    @Test
    void aDetachedSessionKeepsItsAgeUntilItEnds() throws Exception {
        start(TetherConfig.builder());
        InMemoryConnection c = InMemoryConnection.open(hub, ALICE);
        JsonNode welcome = c.hello();
        Session s = openedSession();
        s.send("n", Payload.EMPTY);
        c.next("msg");
        c.drop();
        c.awaitClose();
        clock.addAndGet(TimeUnit.SECONDS.toNanos(3));
        assertThat(welcome.path("sid").asText()).isEqualTo(s.id());
        assertThat(hub.stats().oldestUnackedMs()).isEqualTo(3_000);
        assertThat(hub.stats().pendingAcks()).isEqualTo(1);
        s.close("gone");
        assertThat(hub.stats().oldestUnackedMs()).isZero();
        assertThat(hub.stats().pendingAcks()).isZero();
    }
}
