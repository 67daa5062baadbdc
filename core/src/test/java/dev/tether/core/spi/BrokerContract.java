package dev.tether.core.spi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.Payload;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The compatibility kit of {@link Broker}: what every implementation must do, as the engine
 * relies on it. A subclass per implementation says how to make nodes of one cluster.
 */
public abstract class BrokerContract {

    /** How long a test waits for a listener call or a future. */
    protected static final long WAIT_SECONDS = 10;

    private final List<Broker> started = new ArrayList<>();

    /**
     * A new node of this test's cluster (every call in one test joins the same cluster), not
     * started, keeping at most {@code historyLength} entries per topic.
     */
    protected abstract Broker newNode(int historyLength);

    @AfterEach
    void closeNodes() {
        started.forEach(Broker::close);
    }

    /** Records listener calls as short strings, in order. */
    protected static final class Recorder implements BrokerListener {
        public final BlockingQueue<String> events = new LinkedBlockingQueue<>();

        /** A recorder of nothing yet; subclasses in other packages build one too. */
        public Recorder() {
        }

        @Override
        public void onPublished(long position, String topic, BrokerMessage message) {
            events.add("pub " + topic + " " + message.payload().asText() + (position == 0 ? " volatile" : "")
                    + (message.except() == null ? "" : " except " + message.except()));
        }

        @Override
        public void onSent(long position, String sessionId, BrokerMessage message) {
            events.add("sent " + sessionId + " " + message.payload().asText());
        }

        @Override
        public void onSubscribed(long position, String sessionId, String topic) {
            events.add("sub " + sessionId + " " + topic);
        }

        @Override
        public void onUnsubscribed(long position, String sessionId, String topic) {
            events.add("unsub " + sessionId + " " + topic);
        }

        @Override
        public void onClaimed(long position, String sessionId, Set<String> topics) {
            events.add("claimed " + sessionId + " " + new java.util.TreeSet<>(topics));
        }

        @Override
        public void onReleased(String sessionId) {
            events.add("released " + sessionId);
        }

        @Override
        public void onPresence(String topic, String sessionId, String principal, boolean joined) {
            events.add((joined ? "join " : "leave ") + topic + " " + sessionId);
        }

        @Override
        public void onInterrupted() {
            events.add("interrupted");
        }

        @Override
        public void onReset() {
            events.add("reset");
        }

        /** The next event that is not presence; fails if none comes in time. */
        public String next() throws InterruptedException {
            for (;;) {
                String e = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
                assertThat(e).as("a listener call").isNotNull();
                if (!e.startsWith("join ") && !e.startsWith("leave ")) {
                    return e;
                }
            }
        }

        /** The next presence event ({@code "join <topic> <session>"} or leave); fails if none comes in time. */
        public String nextPresence() throws InterruptedException {
            for (;;) {
                String e = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
                assertThat(e).as("a presence event").isNotNull();
                if (e.startsWith("join ") || e.startsWith("leave ")) {
                    return e;
                }
            }
        }
    }

    protected final Broker start(Broker node, Recorder recorder) {
        node.start(new Broker.Node(recorder, 60_000, () -> 0));
        started.add(node);
        return node;
    }

    protected static byte[] hash(String token) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII));
    }

    protected static <T> T await(java.util.concurrent.CompletableFuture<T> f) throws Exception {
        return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    private static BrokerMessage text(String s) {
        return BrokerMessage.reliable("e", Payload.text(s));
    }

    protected static SessionRecord record(String id, String token) throws Exception {
        return SessionRecord.fresh(id, "user-" + id, hash(token), "tether-json/1");
    }

    @Test
    public void publishReachesOnlyNodesWithSubscribersInOrder() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        Broker a = start(newNode(100), ra);
        Broker b = start(newNode(100), rb);
        await(a.create(record("s1", "t1")));
        assertThat(ra.next()).isEqualTo("claimed s1 []");
        await(a.subscribe("s1", "room"));
        assertThat(ra.next()).isEqualTo("sub s1 room");
        for (int i = 1; i <= 50; i++) {
            await(b.publish("room", text(Integer.toString(i))));
        }
        await(b.publish("room", BrokerMessage.volatileMessage("e", Payload.text("v"))));
        for (int i = 1; i <= 50; i++) {
            assertThat(ra.next()).isEqualTo("pub room " + i);
        }
        assertThat(ra.next()).isEqualTo("pub room v volatile");
        assertThat(rb.events.poll()).as("B has no subscriber").isNull();
    }

    @Test
    public void readReturnsTheFeedAcrossSubscriptionsAndDirectMessages() throws Exception {
        Recorder ra = new Recorder();
        Broker a = start(newNode(100), ra);
        long start = await(a.create(record("s1", "t1")));
        await(a.publish("x", text("before"))); // not subscribed yet
        await(a.subscribe("s1", "x"));
        await(a.publish("x", text("x1")));
        await(a.send("s1", text("d1")));
        await(a.subscribe("s1", "y"));
        await(a.publish("y", text("y1")));
        await(a.unsubscribe("s1", "x"));
        await(a.publish("x", text("after"))); // unsubscribed
        await(a.publish("y", text("y2")));
        Claim claim = await(a.claim("s1", hash("t1"), 0));
        assertThat(claim.status()).isEqualTo(Claim.CLAIMED);
        assertThat(claim.record().principal()).isEqualTo("user-s1");
        Feed feed = await(a.read(claim.record(), start, claim.position()));
        assertThat(feed.complete()).isTrue();
        List<String> texts = new ArrayList<>();
        for (Feed.Entry e : feed.entries()) {
            texts.add((e.topic() == null ? "direct" : e.topic()) + ":" + e.message().payload().asText());
        }
        assertThat(texts).containsExactly("x:x1", "direct:d1", "y:y1", "y:y2");
        long previous = 0;
        for (Feed.Entry e : feed.entries()) {
            assertThat(e.position()).isGreaterThan(previous);
            previous = e.position();
        }

        // A checkpoint after the second entry: a read from it returns the rest only.
        Feed.Entry second = feed.entries().get(1);
        await(a.checkpoint("s1", 2, second.position(), 7));
        Claim again = await(a.claim("s1", hash("t1"), 0));
        assertThat(again.record().checkpointSeq()).isEqualTo(2);
        assertThat(again.record().checkpointPosition()).isEqualTo(second.position());
        assertThat(again.record().clientSeq()).isEqualTo(7);
        Feed rest = await(a.read(again.record(), again.record().checkpointPosition(), again.position()));
        assertThat(rest.entries()).extracting(e -> e.message().payload().asText()).containsExactly("y1", "y2");
    }

    /** The code of the {@link BrokerException} that {@code call} fails with; fails if it does not. */
    private static String failureCode(CompletableFuture<?> call) throws Exception {
        Throwable failure = call.handle((v, t) -> t).get(WAIT_SECONDS, TimeUnit.SECONDS);
        if (failure instanceof java.util.concurrent.CompletionException c) {
            failure = c.getCause();
        }
        assertThat(failure).isInstanceOf(BrokerException.class);
        return ((BrokerException) failure).code();
    }

    @Test
    public void commitAppliesEffectsAndTheClientSeqOnceAndInOrder() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        Broker a = start(newNode(100), ra);
        Broker b = start(newNode(100), rb);
        await(a.create(record("s1", "t1")));
        assertThat(ra.next()).isEqualTo("claimed s1 []");
        await(b.create(record("s2", "t2")));
        assertThat(rb.next()).isEqualTo("claimed s2 []");
        await(b.subscribe("s2", "room"));
        assertThat(rb.next()).isEqualTo("sub s2 room");

        List<Broker.Effect> effects = List.of(Broker.Effect.send("s1", text("reply")),
                Broker.Effect.publish("room", text("one")), Broker.Effect.send("gone", text("skipped")),
                Broker.Effect.publish("room", text("two")));
        await(a.commit("s1", 3, effects));
        assertThat(ra.next()).isEqualTo("sent s1 reply");
        assertThat(rb.next()).isEqualTo("pub room one");
        assertThat(rb.next()).isEqualTo("pub room two");
        assertThat(await(a.claim("s1", hash("t1"), 0)).record().clientSeq()).isEqualTo(3);
        assertThat(ra.next()).isEqualTo("claimed s1 []");

        await(a.commit("s1", 3, effects)); // a retry of a commit that was applied: ignored
        await(a.commit("s1", 4, List.of()));
        await(a.publish("room", text("after")));
        assertThat(rb.next()).as("the retried effects were not applied again").isEqualTo("pub room after");
        assertThat(await(b.claim("s1", hash("t1"), 0)).record().clientSeq()).isEqualTo(4);
        assertThat(rb.next()).isEqualTo("claimed s1 []");

        assertThat(failureCode(a.commit("nobody", 1, effects))).isEqualTo(BrokerException.NO_SESSION);
        await(b.publish("room", text("last")));
        assertThat(rb.next()).as("a commit of an unknown session applied nothing").isEqualTo("pub room last");
    }

    @Test
    public void aClaimWithAnAttemptNotAboveTheHighestSeenIsStaleAndChangesNothing() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        Broker a = start(newNode(100), ra);
        Broker b = start(newNode(100), rb);
        await(a.create(record("s1", "t1")));
        assertThat(ra.next()).isEqualTo("claimed s1 []");

        assertThat(await(b.claim("s1", hash("t1"), 2)).status()).isEqualTo(Claim.CLAIMED);
        assertThat(rb.next()).isEqualTo("claimed s1 []");
        assertThat(await(a.claim("s1", hash("t1"), 1)).status()).as("an older attempt").isEqualTo(Claim.STALE);
        assertThat(await(a.claim("s1", hash("t1"), 2)).status()).as("the same attempt").isEqualTo(Claim.STALE);
        await(a.send("s1", text("still b's")));
        assertThat(rb.next()).as("the stale claims moved nothing").isEqualTo("sent s1 still b's");
        assertThat(await(a.claim("s1", hash("wrong"), 9)).status()).as("a wrong token records no attempt")
                .isEqualTo(Claim.FORBIDDEN);
        assertThat(await(a.claim("s1", hash("t1"), 3)).status()).isEqualTo(Claim.CLAIMED);
        assertThat(await(b.claim("s1", hash("t1"), 0)).status()).as("no attempt, no check").isEqualTo(Claim.CLAIMED);
    }

    @Test
    public void aCommitChangesSubscriptionsAtItsPlaceAndAgainOnARetryButNotItsMessages() throws Exception {
        Recorder ra = new Recorder();
        Broker a = start(newNode(100), ra);
        await(a.create(record("s1", "t1")));
        assertThat(ra.next()).isEqualTo("claimed s1 []");

        // A handler subscribed, then published on the topic: the session's feed has its own publish.
        await(a.commit("s1", 1, List.of(Broker.Effect.subscribe("s1", "room"), Broker.Effect.publish("room", text("mine")))));
        assertThat(ra.next()).isEqualTo("sub s1 room");
        assertThat(ra.next()).isEqualTo("pub room mine");
        assertThat(await(a.presence("room"))).containsOnlyKeys("s1");

        // The same commit again (its caller saw a timeout): the subscription holds, the publish is not repeated.
        await(a.commit("s1", 1, List.of(Broker.Effect.subscribe("s1", "room"), Broker.Effect.publish("room", text("mine")))));
        assertThat(ra.next()).isEqualTo("sub s1 room");
        await(a.publish("room", text("next")));
        assertThat(ra.next()).as("the retried publish was not applied again").isEqualTo("pub room next");

        // Outside any handler (client seq 0): applied, the client seq untouched.
        await(a.commit("s1", 0, List.of(Broker.Effect.unsubscribe("s1", "room"), Broker.Effect.subscribe("s1", "news"))));
        assertThat(ra.next()).isEqualTo("unsub s1 room");
        assertThat(ra.next()).isEqualTo("sub s1 news");
        Claim claim = await(a.claim("s1", hash("t1"), 0));
        assertThat(ra.next()).isEqualTo("claimed s1 [news]");
        assertThat(claim.record().clientSeq()).isEqualTo(1);
        Feed feed = await(a.read(claim.record(), claim.record().checkpointPosition(), claim.position()));
        assertThat(feed.entries()).extracting(e -> e.message().payload().asText()).containsExactly("mine", "next");
    }

    @Test
    public void aLateCommitOfTheFormerOwnerAppliesNoMessagesButItsSubscriptions() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        Broker a = start(newNode(100), ra);
        Broker b = start(newNode(100), rb);
        await(a.create(record("s1", "t1")));
        assertThat(ra.next()).isEqualTo("claimed s1 []");
        await(b.claim("s1", hash("t1"), 0));
        assertThat(rb.next()).isEqualTo("claimed s1 []");

        assertThat(failureCode(a.commit("s1", 5, List.of(Broker.Effect.publish("room", text("late")),
                Broker.Effect.subscribe("s1", "room"))))).isEqualTo(BrokerException.NOT_OWNER);

        // A subscription made on the former node outside any handler still counts, marked to the owner.
        await(a.commit("s1", 0, List.of(Broker.Effect.subscribe("s1", "news"))));
        assertThat(rb.next()).isEqualTo("sub s1 news");
        Claim claim = await(b.claim("s1", hash("t1"), 0));
        assertThat(rb.next()).isEqualTo("claimed s1 [news]");
        assertThat(claim.record().clientSeq()).as("the refused commit recorded nothing").isZero();
    }

    @Test
    public void anEntryExceptingASessionKeepsItsExceptLiveAndOnRead() throws Exception {
        // The engine leaves such an entry out of that session's feed; the broker only carries the field.
        Recorder ra = new Recorder();
        Broker a = start(newNode(100), ra);
        long start = await(a.create(record("s1", "t1")));
        await(a.subscribe("s1", "room"));
        assertThat(ra.next()).isEqualTo("claimed s1 []");
        assertThat(ra.next()).isEqualTo("sub s1 room");
        await(a.publish("room", new BrokerMessage("e", Payload.text("1"), true, 0, "s1")));
        await(a.publish("room", new BrokerMessage("e", Payload.text("2"), true, 0, "s2")));
        await(a.publish("room", new BrokerMessage("e", Payload.text("3"), false, 0, "s1")));
        assertThat(ra.next()).isEqualTo("pub room 1 except s1");
        assertThat(ra.next()).isEqualTo("pub room 2 except s2");
        assertThat(ra.next()).isEqualTo("pub room 3 volatile except s1");
        Claim claim = await(a.claim("s1", hash("t1"), 0));
        Feed feed = await(a.read(claim.record(), start, claim.position()));
        assertThat(feed.entries()).extracting(e -> e.message().payload().asText() + ":" + e.message().except())
                .containsExactly("1:s1", "2:s2");
    }

    @Test
    public void checkpointsOfSeveralSessionsAreRecordedTogetherAndUnknownOnesFlagged() throws Exception {
        Recorder ra = new Recorder();
        Broker a = start(newNode(100), ra);
        await(a.create(record("s1", "t1")));
        await(a.create(record("s2", "t2")));
        await(a.send("s1", text("x")));
        long p1 = await(a.create(record("s3", "t3"))); // a position after the message to s1
        List<Boolean> known = await(a.checkpoints(List.of(new Broker.Checkpoint("s1", 1, p1, 2),
                new Broker.Checkpoint("nobody", 1, 1, 1), new Broker.Checkpoint("s2", 0, 0, 5))));
        assertThat(known).containsExactly(true, false, true);
        SessionRecord r1 = await(a.claim("s1", hash("t1"), 0)).record();
        assertThat(r1.checkpointSeq()).isEqualTo(1);
        assertThat(r1.clientSeq()).isEqualTo(2);
        assertThat(await(a.claim("s2", hash("t2"), 0)).record().clientSeq()).isEqualTo(5);
    }

    @Test
    public void aLateCheckpointOfTheFormerOwnerChangesNothing() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        Broker a = start(newNode(100), ra);
        Broker b = start(newNode(100), rb);
        long start = await(a.create(record("s1", "t1")));
        await(a.send("s1", text("one")));
        Claim claim = await(b.claim("s1", hash("t1"), 0));
        await(a.checkpoint("s1", 1, claim.position(), 0)); // too late: b owns s1
        SessionRecord record = await(b.claim("s1", hash("t1"), 0)).record();
        assertThat(record.checkpointSeq()).as("unchanged by the former owner").isZero();
        Feed feed = await(b.read(record, record.checkpointPosition(), claim.position()));
        assertThat(feed.complete()).isTrue();
        assertThat(feed.entries()).extracting(e -> e.message().payload().asText()).containsExactly("one");
        assertThat(record.checkpointPosition()).isEqualTo(start);
    }

    @Test
    public void claimMovesTheSessionAndReleasesItOnItsFormerNode() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        Broker a = start(newNode(100), ra);
        Broker b = start(newNode(100), rb);
        await(a.create(record("s1", "t1")));
        await(a.subscribe("s1", "room"));
        assertThat(ra.next()).isEqualTo("claimed s1 []");
        assertThat(ra.next()).isEqualTo("sub s1 room");

        assertThat(await(b.claim("s1", hash("wrong"), 0)).status()).isEqualTo(Claim.FORBIDDEN);
        Claim claim = await(b.claim("s1", hash("t1"), 0));
        assertThat(claim.status()).isEqualTo(Claim.CLAIMED);
        assertThat(ra.next()).isEqualTo("released s1");
        assertThat(rb.next()).isEqualTo("claimed s1 [room]");

        await(a.publish("room", text("1")));
        await(a.send("s1", text("2")));
        assertThat(rb.next()).isEqualTo("pub room 1");
        assertThat(rb.next()).isEqualTo("sent s1 2");

        await(b.end("s1"));
        assertThat(await(a.claim("s1", hash("t1"), 0)).status()).isEqualTo(Claim.ENDED);
        assertThat(await(a.claim("nobody", hash("t1"), 0)).status()).isEqualTo(Claim.MISSING);
    }

    @Test
    public void aFeedWhoseHistoryWasTrimmedIsIncomplete() throws Exception {
        Recorder ra = new Recorder();
        Broker a = start(newNode(5), ra);
        long start = await(a.create(record("s1", "t1")));
        await(a.subscribe("s1", "room"));
        for (int i = 1; i <= 10; i++) {
            await(a.publish("room", text(Integer.toString(i))));
        }
        Claim claim = await(a.claim("s1", hash("t1"), 0));
        Feed feed = await(a.read(claim.record(), start, claim.position()));
        assertThat(feed.complete()).isFalse();
        assertThat(feed.reason()).isEqualTo("trimmed");
        assertThat(feed.entries()).isEmpty();
    }

    @Test
    public void presenceShowsSubscribersOfEveryNode() throws Exception {
        Broker a = start(newNode(100), new Recorder());
        Broker b = start(newNode(100), new Recorder());
        await(a.create(record("s1", "t1")));
        await(b.create(record("s2", "t2")));
        await(a.subscribe("s1", "room"));
        await(b.subscribe("s2", "room"));
        assertThat(await(a.presence("room"))).containsOnlyKeys("s1", "s2").containsEntry("s2", "user-s2");
        await(b.unsubscribe("s2", "room"));
        assertThat(await(a.presence("room"))).containsOnlyKeys("s1");
    }

    @Test
    public void aWatchingNodeHearsJoinsAndLeavesWithoutASubscriberOfItsOwn() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        Broker a = start(newNode(100), ra);
        Broker b = start(newNode(100), rb);
        await(a.watchPresence("room"));
        await(a.watchPresence("room")); // twice is once
        await(b.create(record("s2", "t2")));
        await(b.subscribe("s2", "room"));
        assertThat(ra.nextPresence()).isEqualTo("join room s2");
        await(b.unsubscribe("s2", "room"));
        assertThat(ra.nextPresence()).isEqualTo("leave room s2");

        await(a.create(record("s1", "t1")));
        await(a.subscribe("s1", "room"));
        assertThat(ra.nextPresence()).as("a subscriber and a watch: heard once").isEqualTo("join room s1");
        await(a.unsubscribe("s1", "room"));
        assertThat(ra.nextPresence()).isEqualTo("leave room s1");

        await(a.unwatchPresence("room"));
        await(b.subscribe("s2", "room")); // not for A any more
        await(a.subscribe("s1", "room"));
        assertThat(ra.nextPresence()).as("events reach a node in order: no join of s2 before").isEqualTo("join room s1");
    }

    @Test
    public void anExpiredSessionLeavesPresenceAndCannotBeClaimed() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        Broker a = start(newNode(100), ra);
        Broker b = start(newNode(100), rb);
        await(a.create(record("s1", "t1")));
        await(a.subscribe("s1", "room"));
        await(b.create(record("s2", "t2")));
        await(b.subscribe("s2", "room"));
        assertThat(rb.nextPresence()).isEqualTo("join room s2");

        await(a.expire("s2")); // not A's: nothing happens
        await(a.expire("s1"));
        assertThat(rb.nextPresence()).isEqualTo("leave room s1");
        assertThat(await(b.presence("room"))).containsOnlyKeys("s2");
        assertThat(await(b.claim("s1", hash("t1"), 0)).status()).isEqualTo(Claim.MISSING);
    }

    @Test
    public void theSessionsOfAClosedNodeLeaveAndJoinAgainWhenClaimed() throws Exception {
        Recorder ra = new Recorder();
        Recorder rb = new Recorder();
        Broker a = start(newNode(100), ra);
        Broker b = start(newNode(100), rb);
        await(a.create(record("s1", "t1")));
        await(a.subscribe("s1", "room"));
        await(b.create(record("s2", "t2")));
        await(b.subscribe("s2", "room"));
        assertThat(rb.nextPresence()).isEqualTo("join room s2");

        a.close();
        assertThat(rb.nextPresence()).isEqualTo("leave room s1");
        assertThat(await(b.presence("room"))).containsOnlyKeys("s2");

        assertThat(await(b.claim("s1", hash("t1"), 0)).status()).isEqualTo(Claim.CLAIMED);
        assertThat(rb.nextPresence()).isEqualTo("join room s1");
        assertThat(await(b.presence("room"))).containsOnlyKeys("s1", "s2");
    }
}
