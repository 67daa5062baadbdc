package dev.tether.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tether.core.Payload;
import dev.tether.core.spi.Broker;
import dev.tether.core.spi.BrokerException;
import dev.tether.core.spi.BrokerMessage;
import dev.tether.core.spi.Claim;
import dev.tether.core.spi.Feed;
import dev.tether.core.spi.SessionRecord;
import dev.tether.core.testing.Await;
import dev.tether.redis.RecordingListener.Event;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RedisBrokerTest {

    private static final long WAIT_MS = 5_000;
    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static RedisServerProcess shared;

    private final List<RedisBroker> brokers = new ArrayList<>();
    private final List<RedisServerProcess> ownServers = new ArrayList<>();
    private final String prefix = "test" + PREFIXES.incrementAndGet() + ":";

    @BeforeAll
    static void startRedis() {
        shared = RedisServerProcess.start();
    }

    @AfterAll
    static void stopRedis() {
        shared.close();
    }

    @AfterEach
    void closeBrokers() {
        for (RedisBroker b : brokers) {
            b.kill();
        }
        for (RedisServerProcess s : ownServers) {
            s.close();
        }
    }

    /** A node on {@code server} with fast heartbeats; {@code tune} may change the configuration. */
    private Node node(RedisServerProcess server, int connections, Consumer<RedisBrokerConfig.Builder> tune) {
        return node(server, connections, 60_000, tune);
    }

    private Node node(RedisServerProcess server, int connections, long retentionMs,
                      Consumer<RedisBrokerConfig.Builder> tune) {
        RedisBrokerConfig.Builder b = RedisBrokerConfig.builder()
                .uri(server.uri())
                .keyPrefix(prefix)
                .commandTimeout(Duration.ofMillis(1_000))
                .heartbeatInterval(Duration.ofMillis(100))
                .nodeTimeout(Duration.ofMillis(500));
        tune.accept(b);
        RedisBroker broker = new RedisBroker(b.build());
        brokers.add(broker);
        RecordingListener listener = new RecordingListener();
        broker.start(new Broker.Node(listener, retentionMs, () -> connections));
        return new Node(broker, listener);
    }

    private Node node() {
        return node(shared, 0, b -> { });
    }

    private RedisServerProcess ownServer() {
        RedisServerProcess s = RedisServerProcess.start();
        ownServers.add(s);
        return s;
    }

    private record Node(RedisBroker broker, RecordingListener listener) { }

    private static <T> T get(CompletableFuture<T> f) {
        try {
            return f.get(WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("failed: " + e.getCause(), e.getCause());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static Throwable failure(CompletableFuture<?> f) {
        try {
            f.get(WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("completed normally");
    }

    private static byte[] hash(String token) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(token.getBytes());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static SessionRecord fresh(String id) {
        return SessionRecord.fresh(id, "user-" + id, hash("token-" + id), "tether-json/1");
    }

    private static BrokerMessage msg(String event) {
        return BrokerMessage.reliable(event, Payload.text("body of " + event));
    }

    private static long create(Node n, String session) {
        long at = get(n.broker().create(fresh(session)));
        n.listener().await(e -> e.kind().equals("claimed") && e.session().equals(session), WAIT_MS, "claimed " + session);
        return at;
    }

    private static void subscribe(Node n, String session, String topic) {
        long at = get(n.broker().subscribe(session, topic));
        n.listener().await(e -> e.kind().equals("subscribed") && e.position() == at, WAIT_MS, "subscribed " + session);
    }

    @Test
    void publishReachesOnlyNodesWithSubscribersInPositionOrder() {
        Node a = node();
        Node b = node();
        Node c = node();
        create(a, "sa");
        create(b, "sb");
        create(c, "sc");
        subscribe(a, "sa", "news");
        subscribe(b, "sb", "news");
        subscribe(c, "sc", "other");
        List<CompletableFuture<Void>> sent = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            sent.add((i % 2 == 0 ? a : b).broker().publish("news", msg("n" + i)));
        }
        sent.forEach(RedisBrokerTest::get);
        get(a.broker().publish("other", msg("last")));

        for (Node n : List.of(a, b)) {
            List<Long> positions = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                Event e = n.listener().await("published", WAIT_MS);
                assertThat(e.topic()).isEqualTo("news");
                assertThat(e.thread()).startsWith("tether-redis-delivery-");
                positions.add(e.position());
            }
            assertThat(positions).isSorted().doesNotHaveDuplicates();
        }
        Event last = c.listener().await("published", WAIT_MS);
        assertThat(last.topic()).as("node c has no subscriber of news").isEqualTo("other");
        assertThat(last.event()).isEqualTo("last");
        assertThat(a.listener().drain()).noneMatch(e -> "other".equals(e.topic()) && e.kind().equals("published"));
    }

    @Test
    void volatilePublishIsLiveOnlyAtPositionZero() {
        Node a = node();
        create(a, "s1");
        subscribe(a, "s1", "t");
        get(a.broker().publish("t", BrokerMessage.volatileMessage("v", Payload.text("x"))));
        Event e = a.listener().await("published", WAIT_MS);
        assertThat(e.position()).isZero();
        assertThat(e.message().reliable()).isFalse();
    }

    @Test
    void createClaimAndReleaseReachTheRightNodes() {
        Node a = node();
        Node b = node();
        long created = get(a.broker().create(fresh("s1")));
        Event claimedOnA = a.listener().await("claimed", WAIT_MS);
        assertThat(claimedOnA.position()).isEqualTo(created);
        assertThat(claimedOnA.topics()).isEmpty();
        subscribe(a, "s1", "t1");

        Claim claim = get(b.broker().claim("s1", hash("token-s1"), 0));
        assertThat(claim.status()).isEqualTo(Claim.CLAIMED);
        assertThat(claim.position()).isGreaterThan(created);
        SessionRecord r = claim.record();
        assertThat(r.principal()).isEqualTo("user-s1");
        assertThat(r.protocol()).isEqualTo("tether-json/1");
        assertThat(r.tokenHash()).isEqualTo(hash("token-s1"));
        assertThat(r.checkpointPosition()).isEqualTo(created);
        assertThat(r.subscriptions()).hasSize(1);
        assertThat(r.subscriptions().get(0).topic()).isEqualTo("t1");
        assertThat(r.subscriptions().get(0).current()).isTrue();

        Event claimedOnB = b.listener().await("claimed", WAIT_MS);
        assertThat(claimedOnB.position()).isEqualTo(claim.position());
        assertThat(claimedOnB.topics()).containsExactly("t1");
        assertThat(a.listener().await("released", WAIT_MS).session()).isEqualTo("s1");

        // Entries of the session's topic now go to b, and a subscribe marker goes to the owner.
        get(a.broker().publish("t1", msg("after-claim")));
        assertThat(b.listener().await("published", WAIT_MS).event()).isEqualTo("after-claim");
        long sub = get(a.broker().subscribe("s1", "t2"));
        assertThat(b.listener().await("subscribed", WAIT_MS).position()).isEqualTo(sub);
    }

    @Test
    void readReturnsTheExactFeedAcrossSubscriptionsAndDirectMessages() {
        Node a = node();
        long start = create(a, "s1");
        get(a.broker().publish("t1", msg("before")));
        subscribe(a, "s1", "t1");
        get(a.broker().publish("t1", msg("m1")));
        get(a.broker().send("s1", msg("d1")));
        long unsub = get(a.broker().unsubscribe("s1", "t1"));
        get(a.broker().publish("t1", msg("after")));
        subscribe(a, "s1", "t2");
        get(a.broker().publish("t2", msg("m2")));
        get(a.broker().send("s1", BrokerMessage.volatileMessage("volatile", Payload.text("x"))));
        long last = get(a.broker().subscribe("s1", "t3"));

        SessionRecord r = get(a.broker().claim("s1", hash("token-s1"), 0)).record();
        assertThat(r.subscriptions()).extracting(SessionRecord.Subscription::topic).containsExactly("t1", "t2", "t3");
        assertThat(r.subscriptions().get(0).to()).isEqualTo(unsub);

        Feed feed = get(a.broker().read(r, start, last));
        assertThat(feed.complete()).isTrue();
        assertThat(feed.entries()).extracting(e -> e.message().event()).containsExactly("m1", "d1", "m2");
        assertThat(feed.entries()).extracting(Feed.Entry::topic).containsExactly("t1", null, "t2");
        assertThat(feed.entries()).extracting(Feed.Entry::position).isSorted();

        Feed tail = get(a.broker().read(r, feed.entries().get(0).position(), last));
        assertThat(tail.entries()).extracting(e -> e.message().event()).containsExactly("d1", "m2");
    }

    @Test
    void trimmedHistoryMakesTheFeedIncomplete() {
        Node a = node(shared, 0, b -> b.topicMaxLength(3));
        long start = create(a, "s1");
        subscribe(a, "s1", "t");
        long[] at = new long[5];
        for (int i = 0; i < 5; i++) {
            get(a.broker().publish("t", msg("m" + i)));
            at[i] = a.listener().await("published", WAIT_MS).position();
        }
        SessionRecord r = get(a.broker().claim("s1", hash("token-s1"), 0)).record();
        Feed all = get(a.broker().read(r, start, at[4]));
        assertThat(all.complete()).isFalse();
        assertThat(all.reason()).isEqualTo("trimmed");
        assertThat(all.entries()).isEmpty();

        Feed kept = get(a.broker().read(r, at[1], at[4]));
        assertThat(kept.complete()).isTrue();
        assertThat(kept.entries()).extracting(e -> e.message().event()).containsExactly("m2", "m3", "m4");
    }

    @Test
    void checkpointTrimsTheInboxAndNeverMovesBackwards() {
        Node a = node();
        long start = create(a, "s1");
        List<Long> at = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            get(a.broker().send("s1", msg("d" + i)));
            at.add(a.listener().await("sent", WAIT_MS).position());
        }
        get(a.broker().checkpoint("s1", 2, at.get(1), 7));
        get(a.broker().checkpoint("s1", 1, at.get(0), 5)); // older: changes nothing

        SessionRecord r = get(a.broker().claim("s1", hash("token-s1"), 0)).record();
        assertThat(r.checkpointSeq()).isEqualTo(2);
        assertThat(r.checkpointPosition()).isEqualTo(at.get(1));
        assertThat(r.clientSeq()).isEqualTo(7);

        Feed rest = get(a.broker().read(r, at.get(1), at.get(2)));
        assertThat(rest.entries()).extracting(e -> e.message().event()).containsExactly("d2");
        Feed gone = get(a.broker().read(r, start, at.get(2)));
        assertThat(gone.complete()).isFalse();
        assertThat(gone.reason()).isEqualTo("trimmed");
    }

    @Test
    void checkpointDropsEndedSubscriptionsItPassed() {
        Node a = node();
        create(a, "s1");
        subscribe(a, "s1", "t1");
        long unsub = get(a.broker().unsubscribe("s1", "t1"));
        get(a.broker().checkpoint("s1", 1, unsub, 0));
        SessionRecord r = get(a.broker().claim("s1", hash("token-s1"), 0)).record();
        assertThat(r.subscriptions()).isEmpty();
    }

    @Test
    void anEndedSessionCannotBeClaimedNorSentTo() {
        Node a = node();
        create(a, "s1");
        subscribe(a, "s1", "t");
        get(a.broker().end("s1"));
        assertThat(get(a.broker().claim("s1", hash("token-s1"), 0)).status()).isEqualTo(Claim.ENDED);
        assertThat(failure(a.broker().send("s1", msg("x"))))
                .isInstanceOfSatisfying(BrokerException.class, e -> assertThat(e.code()).isEqualTo(BrokerException.NO_SESSION));
        assertThat(failure(a.broker().subscribe("s1", "t2")))
                .isInstanceOfSatisfying(BrokerException.class, e -> assertThat(e.code()).isEqualTo(BrokerException.NO_SESSION));
        assertThat(get(a.broker().presence("t"))).isEmpty();
        assertThat(get(a.broker().claim("nobody", hash("x"), 0)).status()).isEqualTo(Claim.MISSING);
    }

    @Test
    void aWrongTokenIsForbiddenAndChangesNothing() {
        Node a = node();
        Node b = node();
        create(a, "s1");
        assertThat(get(b.broker().claim("s1", hash("wrong"), 0)).status()).isEqualTo(Claim.FORBIDDEN);
        // Still a's: a direct message reaches a, and b heard nothing.
        get(b.broker().send("s1", msg("still-a")));
        assertThat(a.listener().await("sent", WAIT_MS).event()).isEqualTo("still-a");
        assertThat(b.listener().drain()).isEmpty();
    }

    @Test
    void aFrozenRedisFailsOperationsWithinTheCommandTimeoutAndBuffersBoundedly() throws Exception {
        RedisServerProcess server = ownServer();
        Node a = node(server, 0, b -> b.maxPendingCommands(500));
        create(a, "s1");
        server.pause();
        try {
            // Each operation's own time to fail: from the call to its failure, not from before a loop
            // of 10,000 calls that a loaded machine may take seconds to run.
            java.util.concurrent.atomic.AtomicLong slowestNanos = new java.util.concurrent.atomic.AtomicLong();
            List<CompletableFuture<Void>> futures = new ArrayList<>();
            for (int i = 0; i < 5_000; i++) {
                futures.add(timed(a.broker().publish("t", msg("p" + i)), slowestNanos));
                futures.add(timed(a.broker().send("s1", msg("d" + i)), slowestNanos));
            }
            int overloaded = 0;
            for (CompletableFuture<Void> f : futures) {
                Throwable t = failure(f);
                assertThat(t).isInstanceOf(BrokerException.class);
                String code = ((BrokerException) t).code();
                assertThat(code).isIn(BrokerException.UNAVAILABLE, BrokerException.OVERLOADED);
                if (code.equals(BrokerException.OVERLOADED)) {
                    overloaded++;
                } else {
                    assertThat(t.getMessage()).startsWith("redis unreachable: ");
                }
            }
            long tookMs = TimeUnit.NANOSECONDS.toMillis(slowestNanos.get());
            assertThat(tookMs).as("every future failed within about the command timeout").isLessThan(2_500);
            assertThat(overloaded).as("most of 10,000 operations were refused, not queued").isGreaterThan(7_000);
        } finally {
            server.resume();
        }
        // Redis answers again (once it has answered the backlog): so does the broker.
        Await.until(() -> succeeds(a.broker().publish("t", msg("again"))), Duration.ofSeconds(5), "publishes again");
    }

    /** {@code f}, keeping in {@code slowest} the longest time from now to its completion. */
    private static <T> CompletableFuture<T> timed(CompletableFuture<T> f, java.util.concurrent.atomic.AtomicLong slowest) {
        long start = System.nanoTime();
        return f.whenComplete((v, e) -> slowest.accumulateAndGet(System.nanoTime() - start, Math::max));
    }

    /** Whether {@code f} completes normally (it may fail: the broker is reconnecting). */
    private static boolean succeeds(CompletableFuture<?> f) {
        try {
            f.get(WAIT_MS, TimeUnit.MILLISECONDS);
            return true;
        } catch (ExecutionException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aStoppedRedisFailsOperationsAtOnceAsUnavailable() {
        RedisServerProcess server = ownServer();
        Node a = node(server, 0, b -> { });
        create(a, "s1");
        server.stop();
        Throwable t = failure(a.broker().publish("t", msg("x")));
        assertThat(t).isInstanceOfSatisfying(BrokerException.class,
                e -> assertThat(e.code()).isEqualTo(BrokerException.UNAVAILABLE));
        assertThat(t.getMessage()).startsWith("redis unreachable: ");
    }

    @Test
    void aRedisRestartedWithoutItsDataResetsTheNodesAndTheyWorkAgain() {
        RedisServerProcess server = ownServer();
        Node a = node(server, 0, b -> { });
        Node b = node(server, 0, x -> { });
        create(a, "s1");
        create(b, "s2");
        subscribe(a, "s1", "t");
        server.restart();
        a.listener().await("reset", 10_000);
        b.listener().await("reset", 10_000);

        assertThat(get(a.broker().claim("s1", hash("token-s1"), 0)).status()).isEqualTo(Claim.MISSING);
        long created = get(a.broker().create(fresh("s3")));
        assertThat(created).as("positions restart").isLessThan(5);
        a.listener().await(e -> e.kind().equals("claimed") && e.session().equals("s3"), WAIT_MS, "claimed s3");
        subscribe(a, "s3", "t");
        get(b.broker().publish("t", msg("after-reset")));
        assertThat(a.listener().await("published", WAIT_MS).event()).isEqualTo("after-reset");
        assertThat(a.listener().drain()).filteredOn(e -> e.kind().equals("reset")).hasSize(1);
    }

    @Test
    void aReconnectedSubscriberInterruptsTheLiveStream() {
        RedisServerProcess server = ownServer();
        Node a = node(server, 0, b -> { });
        create(a, "s1");
        subscribe(a, "s1", "t");
        assertThat(server.command("CLIENT KILL TYPE pubsub")).isEqualTo(":1");
        a.listener().await("interrupted", WAIT_MS);
        get(a.broker().publish("t", msg("after")));
        assertThat(a.listener().await("published", WAIT_MS).event()).isEqualTo("after");
        assertThat(a.listener().drain()).noneMatch(e -> e.kind().equals("reset"));
    }

    @Test
    void presenceSpansNodesAndADeadNodeLeavesWithinItsTimeout() {
        Node a = node();
        Node b = node();
        create(a, "sa");
        create(b, "sb");
        get(a.broker().subscribe("sa", "room"));
        Event joinA = a.listener().await("joined", WAIT_MS);
        assertThat(joinA.session()).isEqualTo("sa");
        assertThat(joinA.principal()).isEqualTo("user-sa");
        get(b.broker().subscribe("sb", "room"));
        assertThat(a.listener().await("joined", WAIT_MS).session()).isEqualTo("sb");
        assertThat(b.listener().await("joined", WAIT_MS).session()).isEqualTo("sb");
        assertThat(get(a.broker().presence("room"))).isEqualTo(Map.of("sa", "user-sa", "sb", "user-sb"));

        long t0 = System.nanoTime();
        b.broker().kill();
        Event left = a.listener().await("left", 5_000);
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(left.session()).isEqualTo("sb");
        assertThat(tookMs).isLessThan(500 + 100 + 1_000);
        assertThat(get(a.broker().presence("room"))).isEqualTo(Map.of("sa", "user-sa"));

        get(a.broker().unsubscribe("sa", "room"));
        assertThat(a.listener().await("left", WAIT_MS).session()).isEqualTo("sa");
        assertThat(get(a.broker().presence("room"))).isEmpty();
    }

    @Test
    void aClosedNodeLeavesPresenceAtOnceAndItsSessionsStayClaimable() {
        Node a = node();
        Node b = node();
        create(b, "sb");
        create(a, "sa");
        subscribe(a, "sa", "room");
        get(b.broker().subscribe("sb", "room"));
        a.listener().await(e -> e.kind().equals("joined") && e.session().equals("sb"), WAIT_MS, "sb joined");
        b.broker().close();
        assertThat(a.listener().await("left", WAIT_MS).session()).isEqualTo("sb");
        assertThat(get(a.broker().claim("sb", hash("token-sb"), 0)).status()).isEqualTo(Claim.CLAIMED);
    }

    @Test
    void clusterConnectionsSumsTheLiveNodes() throws InterruptedException {
        Node a = node(shared, 3, b -> { });
        Node b = node(shared, 4, x -> { });
        Await.until(() -> get(a.broker().clusterConnections()) == 7, Duration.ofSeconds(5),
                "both nodes' counts (3 + 4) reported with their heartbeats");
        b.broker().close();
        assertThat(get(a.broker().clusterConnections())).isEqualTo(3);
    }

    @Test
    void expiredHistoryMakesTheFeedIncomplete() throws InterruptedException {
        Node a = node(shared, 0, b -> b.historyTtl(Duration.ofMillis(200)));
        long start = create(a, "s1");
        subscribe(a, "s1", "t");
        get(a.broker().publish("t", msg("m")));
        long at = a.listener().await("published", WAIT_MS).position();
        awaitGone(shared, prefix + "t:t:x");
        SessionRecord r = get(a.broker().claim("s1", hash("token-s1"), 0)).record();
        Feed feed = get(a.broker().read(r, start, at));
        assertThat(feed.complete()).isFalse();
        assertThat(feed.reason()).isEqualTo("expired");
    }

    @Test
    void aRecordFromBeforeARedisRestartReadsAsReset() {
        RedisServerProcess server = ownServer();
        Node a = node(server, 0, b -> { });
        long start = create(a, "s1");
        subscribe(a, "s1", "t");
        get(a.broker().publish("t", msg("m")));
        long at = a.listener().await("published", WAIT_MS).position();
        SessionRecord r = get(a.broker().claim("s1", hash("token-s1"), 0)).record();
        server.restart();
        a.listener().await("reset", 10_000);
        Feed feed = get(a.broker().read(r, start, at));
        assertThat(feed.complete()).isFalse();
        assertThat(feed.reason()).isEqualTo("reset");
    }

    @Test
    void aSlowListenerLosesLiveMessagesBoundedlyAndIsInterrupted() {
        Node a = node(shared, 0, b -> b.deliveryQueueCapacity(4));
        create(a, "s1");
        subscribe(a, "s1", "t");
        java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
        a.listener().gate = gate;
        for (int i = 0; i < 30; i++) {
            get(a.broker().publish("t", msg("m" + i)));
        }
        get(a.broker().subscribe("s1", "marker"));
        gate.countDown();
        a.listener().await("interrupted", WAIT_MS);
        a.listener().await("subscribed", WAIT_MS);
        List<Event> all = a.listener().drain();
        long published = all.stream().filter(e -> e.kind().equals("published")).count();
        assertThat(published).as("the queue held few of 30").isLessThan(30);
        // The 30 entries have consecutive positions: wherever some were dropped, the listener
        // heard onInterrupted before the next one it got.
        long previous = -1;
        boolean interrupted = false;
        for (Event e : all) {
            if (e.kind().equals("interrupted")) {
                interrupted = true;
            } else if (e.kind().equals("published")) {
                if (previous >= 0 && e.position() != previous + 1) {
                    assertThat(interrupted).as("interrupted before " + e + " in " + all).isTrue();
                }
                previous = e.position();
                interrupted = false;
            }
        }
    }

    @Test
    void attachedRecordsAreKeptAliveAndDetachedOnesExpire() throws InterruptedException {
        Node a = node(shared, 0, 300, b -> { });
        long t0 = System.nanoTime();
        create(a, "kept");
        create(a, "left");
        get(a.broker().detach("left"));
        awaitGone(shared, prefix + "s:left");
        while (TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 800) {
            Thread.sleep(20); // outlive the first TTL of "kept" (retention + one refresh interval)
        }
        assertThat(shared.command("EXISTS " + prefix + "s:kept")).isEqualTo(":1");
        assertThat(get(a.broker().claim("left", hash("token-left"), 0)).status()).isEqualTo(Claim.MISSING);
    }

    /** Polls until {@code key} is gone (expired), with a deadline. */
    private static void awaitGone(RedisServerProcess server, String key) throws InterruptedException {
        Await.until(() -> ":0".equals(server.command("EXISTS " + key)), Duration.ofSeconds(5), key + " expires");
    }

    @Test
    void callsMadeBeforeTheConnectionIsUpKeepTheirOrder() {
        Node a = node();
        CompletableFuture<Long> created = a.broker().create(fresh("s1"));
        CompletableFuture<Long> subscribed = a.broker().subscribe("s1", "t");
        CompletableFuture<Void> published = a.broker().publish("t", msg("first"));
        get(published);
        assertThat(get(subscribed)).isGreaterThan(get(created));
        assertThat(a.listener().await("claimed", WAIT_MS).position()).isEqualTo(get(created));
        assertThat(a.listener().await("subscribed", WAIT_MS).position()).isEqualTo(get(subscribed));
        assertThat(a.listener().await("published", WAIT_MS).event()).isEqualTo("first");
    }

    @Test
    void aNodeStartedWhileRedisIsDownConnectsWhenItComesUp() throws InterruptedException {
        RedisServerProcess server = ownServer();
        server.stop();
        Node a = node(server, 0, b -> { });
        Throwable t = failure(a.broker().create(fresh("s1")));
        assertThat(t).isInstanceOfSatisfying(BrokerException.class,
                e -> assertThat(e.code()).isEqualTo(BrokerException.UNAVAILABLE));
        server.restart();
        Await.until(() -> succeeds(a.broker().create(fresh("s1"))), Duration.ofSeconds(5), "connects by itself");
        a.listener().await("claimed", WAIT_MS);
    }

    @Test
    void aNodeTakenForDeadWhileAliveKeepsItsTopicsMeanwhileAndIsInterrupted() throws InterruptedException {
        Node a = node();
        create(a, "s1");
        subscribe(a, "s1", "t");
        // What another node's sweep does to a node whose heartbeats stalled: forgotten, interest kept.
        String id = a.broker().nodeId();
        assertThat(shared.command("ZREM " + prefix + "nodes " + id)).isEqualTo(":1");
        assertThat(shared.command("ZADD " + prefix + "gone 1 " + id)).isEqualTo(":1");
        get(a.broker().publish("t", msg("while forgotten")));
        assertThat(a.listener().await("published", WAIT_MS).event()).as("no entry missed while forgotten")
                .isEqualTo("while forgotten");
        // Its next heartbeat finds it forgotten: it registers again and its listener is interrupted
        // (before or after the publish above, whichever came first).
        Await.until(() -> a.listener().drain().stream().anyMatch(e -> e.kind().equals("interrupted")),
                Duration.ofMillis(WAIT_MS), "the listener interrupted");
        assertThat(shared.command("ZSCORE " + prefix + "gone " + id)).as("back among the living").isEqualTo("$-1");
        get(a.broker().publish("t", msg("after")));
        assertThat(a.listener().await("published", WAIT_MS).event()).isEqualTo("after");
        assertThat(interest("t", id)).as("counted once").isEqualTo(":1");
    }

    /** How many subscribed sessions of {@code node} Redis counts in {@code topic}'s interest, as a reply line. */
    private String interest(String topic, String node) {
        return shared.command("EVAL \"return tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')\" 1 "
                + prefix + "t:" + topic + ":nodes " + node);
    }

    @Test
    void aNodeWhoseInterestWasDroppedCountsItsSessionsInAgain() {
        Node a = node();
        create(a, "s1");
        subscribe(a, "s1", "t");
        create(a, "s2");
        subscribe(a, "s2", "t");
        // What the heartbeats of other nodes do to a node forgotten for longer than the grace.
        String id = a.broker().nodeId();
        assertThat(shared.command("DEL " + prefix + "t:t:nodes")).isEqualTo(":1");
        assertThat(shared.command("DEL " + prefix + "n:" + id + ":t")).isEqualTo(":1");
        assertThat(shared.command("SET " + prefix + "n:" + id + ":dropped 1")).isEqualTo("+OK");
        assertThat(shared.command("ZREM " + prefix + "nodes " + id)).isEqualTo(":1");
        a.listener().await("interrupted", WAIT_MS);
        get(a.broker().publish("t", msg("after")));
        assertThat(a.listener().await("published", WAIT_MS).event()).isEqualTo("after");
        assertThat(interest("t", id)).as("each session counted once").isEqualTo(":2");
    }

    @Test
    void aNodeTakenForDeadWhileAliveWatchesAgain() {
        Node a = node();
        Node b = node();
        get(a.broker().watchPresence("w"));
        // What another node's sweep does to a node whose heartbeats stalled.
        assertThat(shared.command("DEL " + prefix + "t:w:watch")).isEqualTo(":1");
        assertThat(shared.command("ZREM " + prefix + "nodes " + a.broker().nodeId())).isEqualTo(":1");
        a.listener().await("interrupted", WAIT_MS);
        create(b, "s2");
        get(b.broker().subscribe("s2", "w"));
        assertThat(a.listener().await("joined", WAIT_MS).session()).isEqualTo("s2");
    }

    @Test
    void aWatchThatFailedIsRegisteredOnceRedisAnswers() throws InterruptedException {
        RedisServerProcess server = ownServer();
        server.stop();
        Node a = node(server, 0, b -> { });
        assertThat(failure(a.broker().watchPresence("w"))).isInstanceOfSatisfying(BrokerException.class,
                e -> assertThat(e.code()).isEqualTo(BrokerException.UNAVAILABLE));
        server.restart();
        String key = prefix + "t:w:watch";
        Await.until(() -> ":1".equals(server.command("SISMEMBER " + key + " " + a.broker().nodeId())),
                Duration.ofSeconds(5), "the watch registered by the next heartbeat");
    }

    @Test
    void aDeadNodesWatchesGoWithIt() throws InterruptedException {
        Node a = node();
        node(); // sweeps A
        get(a.broker().watchPresence("w"));
        assertThat(shared.command("EXISTS " + prefix + "t:w:watch")).isEqualTo(":1");
        a.broker().kill();
        awaitGone(shared, prefix + "t:w:watch");
        awaitGone(shared, prefix + "n:" + a.broker().nodeId() + ":w");
    }

    @Test
    void sendToAnUnknownSessionFails() {
        Node a = node();
        assertThat(failure(a.broker().send("nobody", msg("x"))))
                .isInstanceOfSatisfying(BrokerException.class, e -> assertThat(e.code()).isEqualTo(BrokerException.NO_SESSION));
        assertThat(failure(a.broker().checkpoint("nobody", 1, 1, 1)))
                .isInstanceOfSatisfying(BrokerException.class, e -> assertThat(e.code()).isEqualTo(BrokerException.NO_SESSION));
    }

    @Test
    void configurationNamesTheInvalidField() {
        assertThatThrownBy(() -> RedisBrokerConfig.builder().build()).hasMessageContaining("uri");
        assertThatThrownBy(() -> RedisBrokerConfig.builder().uri("http://x").build()).hasMessageContaining("uri");
        assertThatThrownBy(() -> RedisBrokerConfig.builder().uri("redis://x").topicMaxLength(0).build())
                .hasMessageContaining("topicMaxLength");
        assertThatThrownBy(() -> RedisBrokerConfig.builder().uri("redis://x").nodeTimeout(Duration.ofMillis(100)).build())
                .hasMessageContaining("nodeTimeout");
        RedisBrokerConfig c = RedisBrokerConfig.of("redis://:secret@localhost:6379");
        assertThat(c.keyPrefix()).isEqualTo("tether:");
        assertThat(c.metaTtl()).isEqualTo(Duration.ofHours(1));
        assertThat(c.toString()).doesNotContain("secret");
        assertThat(Set.of(c.commandTimeout(), c.heartbeatInterval(), c.nodeTimeout()))
                .containsExactlyInAnyOrder(Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(5));
    }
}
