package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.CloseCodes;
import dev.tether.core.InMemoryCluster;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.testing.Await;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Native sessions of two hubs on one {@link InMemoryCluster}, on an in-memory transport. */
class ClusterSessionTest {

    private static final Principal ALICE = () -> "alice";
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final InMemoryCluster cluster = new InMemoryCluster();
    private final BlockingQueue<Session> opened = new LinkedBlockingQueue<>();
    private final List<Tether> hubs = new ArrayList<>();

    private Hub hub() {
        Tether t = Tether.create(TetherConfig.builder().broker(cluster.node()).errorHandler((c, e) -> { })
                .drainTimeout(Duration.ZERO).build(), new SessionHandler() {
                    @Override
                    public void onOpen(Session session) {
                        session.subscribe("room");
                        opened.add(session);
                    }
                });
        hubs.add(t);
        return (Hub) t;
    }

    @AfterEach
    void stop() {
        hubs.forEach(Tether::close);
    }

    private Session nextOpened() throws InterruptedException {
        Session s = opened.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(s).as("onOpen").isNotNull();
        return s;
    }

    private static String msg(JsonNode frame) {
        return frame.path("seq").asLong() + ":" + frame.path("d").asText();
    }

    @Test
    void anEntryExceptingASessionIsLeftOutOfItsFeedLiveAndWhenAnotherNodeResumesIt() throws Exception {
        Hub a = hub();
        Hub b = hub();
        InMemoryConnection c1 = InMemoryConnection.open(a, ALICE);
        JsonNode welcome = c1.hello();
        Session s1 = nextOpened();
        InMemoryConnection c2 = InMemoryConnection.open(a, ALICE);
        c2.hello();
        nextOpened();
        Await.until(() -> a.subscribers("room") == 2, WAIT, "both subscribed through the broker");

        a.publish("room", "n", Payload.text("1"), false, null);
        a.publish("room", "n", Payload.text("2"), false, s1); // for everyone but s1
        b.publish("room", "n", Payload.text("3"));
        assertThat(msg(c1.next("msg"))).isEqualTo("1:1");
        assertThat(msg(c1.next("msg"))).as("numbered without the excepted entry").isEqualTo("2:3");
        assertThat(msg(c2.next("msg"))).isEqualTo("1:1");
        assertThat(msg(c2.next("msg"))).isEqualTo("2:2");
        assertThat(msg(c2.next("msg"))).isEqualTo("3:3");

        // s1's client saw only seq 1 before its connection died; B resumes it from the broker's feed.
        c1.drop();
        b.publish("room", "n", Payload.text("4"), false, s1);
        b.publish("room", "n", Payload.text("5"));
        InMemoryConnection r = InMemoryConnection.open(b, ALICE);
        r.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText() + "\",\"token\":\""
                + welcome.path("token").asText() + "\",\"last\":1}");
        assertThat(r.next("welcome").path("resumed").asBoolean()).isTrue();
        assertThat(msg(r.next("msg"))).as("the same numbering as node A's").isEqualTo("2:3");
        assertThat(msg(r.next("msg"))).isEqualTo("3:5");
        assertThat(b.session(s1.id()).orElseThrow().topics()).as("subscriptions come with the claim").containsExactly("room");
    }

    @Test
    void aResumeTheBrokerDoesNotKnowIsUnknownOnlyWhereTheNodeCanTellItNeverIssuedTheId() throws Exception {
        Hub a = hub();
        Hub b = hub();
        InMemoryConnection c = InMemoryConnection.open(a, ALICE);
        String sid = c.hello().path("sid").asText();
        nextOpened();
        String prefix = sid.substring(0, sid.indexOf('.') + 1);
        String neverIssued = prefix + "AAAAAAAAAAAAAAAAAAAA"; // node A's prefix, not A's tag

        assertThat(resumeReason(a, neverIssued)).as("A never issued it, so no node had it").isEqualTo("unknown");
        assertThat(resumeReason(b, neverIssued)).as("B cannot tell A's ids: the broker's answer stands")
                .isEqualTo("expired");
        assertThat(resumeReason(b, "someone-elses")).isEqualTo("expired");
    }

    private String resumeReason(Hub node, String sid) {
        InMemoryConnection r = InMemoryConnection.open(node, ALICE);
        r.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + sid + "\",\"token\":\"x\",\"last\":0}");
        JsonNode welcome = r.next("welcome");
        assertThat(welcome.path("resumed").asBoolean()).isFalse();
        return welcome.path("gap").path("reason").asText();
    }

    @Test
    void publishAsyncInAHandlerCompletesWithItsMessagesCommitAndOutsideOnceTheBrokerHasIt() throws Exception {
        BlockingQueue<CompletableFuture<Void>> published = new LinkedBlockingQueue<>();
        Tether[] self = new Tether[1];
        Tether t = Tether.create(TetherConfig.builder().broker(cluster.node()).errorHandler((c, e) -> { })
                .drainTimeout(Duration.ZERO).build(), new SessionHandler() {
                    @Override
                    public void onOpen(Session session) {
                        session.subscribe("room");
                        opened.add(session);
                    }

                    @Override
                    public void onMessage(Session session, Message message) {
                        CompletableFuture<Void> f = self[0].publishAsync("room", "n", message.payload());
                        assertThat(f).as("not before the handler returned and its message committed").isNotDone();
                        published.add(f);
                    }
                });
        self[0] = t;
        hubs.add(t);
        InMemoryConnection c = InMemoryConnection.open((Hub) t, ALICE);
        c.hello();
        nextOpened();
        Await.until(() -> t.subscribers("room") == 1, WAIT, "subscribed through the broker");

        c.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"m\",\"d\":\"in a handler\"}");
        CompletableFuture<Void> inHandler = published.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(inHandler).isNotNull();
        inHandler.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(c.next("msg").path("d").asText()).isEqualTo("in a handler");

        t.publishAsync("room", "n", Payload.text("outside")).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(c.next("msg").path("d").asText()).isEqualTo("outside");
    }

    /** A hub whose handler subscribes its session to the topic a {@code join} message names. */
    private Hub joiningHub(dev.tether.core.spi.Broker broker, BlockingQueue<String> errors) {
        Tether t = Tether.create(TetherConfig.builder().broker(broker).errorHandler((c, e) -> errors.add(c))
                .drainTimeout(Duration.ZERO).build(), new SessionHandler() {
                    @Override
                    public void onMessage(Session session, Message message) {
                        if (message.event().equals("join")) {
                            session.subscribe(message.payload().asText());
                        }
                    }
                });
        hubs.add(t);
        return (Hub) t;
    }

    /** Waits until the error handler reports a commit that failed and is being retried. */
    private static void awaitRetriedCommit(BlockingQueue<String> errors, String what) throws InterruptedException {
        String reported;
        do {
            reported = errors.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(reported).as(what).isNotNull();
        } while (!reported.contains("(retrying)"));
    }

    @Test
    void aSubscriptionMadeWhileTheBrokerIsUnreachableIsCommittedWithItsMessageAndKeptWhereTheSessionResumes()
            throws Exception {
        BlockingQueue<String> errors = new LinkedBlockingQueue<>();
        dev.tether.core.spi.Broker cutOff = cluster.node();
        Hub a = joiningHub(cutOff, errors);
        Hub b = joiningHub(cluster.node(), errors);
        InMemoryConnection c = InMemoryConnection.open(a, ALICE);
        JsonNode welcome = c.hello();

        cluster.setReachable(cutOff, false);
        c.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"join\",\"d\":\"news\"}");
        awaitRetriedCommit(errors, "the failed commit is reported");
        assertThat(c.received).as("not acknowledged while the broker cannot record it")
                .noneMatch(f -> f.path("t").asText().equals("ack"));
        cluster.setReachable(cutOff, true);

        assertThat(c.next("ack").path("seq").asLong()).as("acknowledged once recorded").isEqualTo(1);
        Await.until(() -> a.subscribers("news") == 1, WAIT, "the subscription's marker reached node A");
        b.publish("news", "n", Payload.text("1"));
        assertThat(msg(c.next("msg"))).isEqualTo("1:1");

        c.drop();
        InMemoryConnection r = InMemoryConnection.open(b, ALICE);
        r.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText() + "\",\"token\":\""
                + welcome.path("token").asText() + "\",\"last\":1}");
        JsonNode resumed = r.next("welcome");
        assertThat(resumed.path("resumed").asBoolean()).isTrue();
        assertThat(resumed.path("lastClientSeq").asLong()).isEqualTo(1);
        a.publish("news", "n", Payload.text("2"));
        assertThat(msg(r.next("msg"))).as("node B has the subscription from the broker").isEqualTo("2:2");
    }

    @Test
    void aClientsSubIsAnsweredOkOnlyOnceTheClusterRecordedIt() throws Exception {
        dev.tether.core.spi.Broker cutOff = cluster.node();
        Tether t = Tether.create(TetherConfig.builder().broker(cutOff).errorHandler((c, e) -> { })
                .authorizer(dev.tether.core.spi.Authorizer.allowAll()).drainTimeout(Duration.ZERO).build(),
                new SessionHandler() { });
        hubs.add(t);
        Hub a = (Hub) t;
        InMemoryConnection c = InMemoryConnection.open(a, ALICE);
        c.hello();

        cluster.setReachable(cutOff, false);
        c.send("{\"t\":\"sub\",\"id\":1,\"topic\":\"news\"}");
        c.send("{\"t\":\"unsub\",\"id\":2,\"topic\":\"other\"}");
        assertThat(c.next("ok").path("id").asLong()).as("nothing to record: answered at once").isEqualTo(2);
        assertThat(c.received).as("no answer to the sub while the cluster cannot record it")
                .noneMatch(f -> f.path("t").asText().equals("ok"));
        cluster.setReachable(cutOff, true);
        assertThat(c.next("ok").path("id").asLong()).isEqualTo(1);
        Await.until(() -> a.subscribers("news") == 1, WAIT, "the subscription's marker reached the node");
    }

    @Test
    void aStaleResumeOnAnotherNodeIsRefusedAndLeavesTheSessionWithItsSuccessor() throws Exception {
        Hub a = hub();
        Hub b = hub();
        InMemoryConnection c = InMemoryConnection.open(a, ALICE);
        JsonNode welcome = c.hello();
        nextOpened();
        String resume = "{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText() + "\",\"token\":\""
                + welcome.path("token").asText() + "\",\"last\":0,\"attempt\":";
        c.drop();

        InMemoryConnection second = InMemoryConnection.open(b, ALICE);
        second.send(resume + "2}");
        assertThat(second.next("welcome").path("resumed").asBoolean()).isTrue();
        InMemoryConnection late = InMemoryConnection.open(a, ALICE);
        late.send(resume + "1}");
        assertThat(late.awaitClose()).as("the late hello of attempt 1, on another node").isEqualTo(CloseCodes.SESSION_TAKEN_OVER);
        InMemoryConnection lateHere = InMemoryConnection.open(b, ALICE);
        lateHere.send(resume + "2}");
        assertThat(lateHere.awaitClose()).as("the same attempt again, on the session's node").isEqualTo(CloseCodes.SESSION_TAKEN_OVER);

        a.publish("room", "n", Payload.text("1"));
        assertThat(msg(second.next("msg"))).as("the successor still has the session").isEqualTo("1:1");
    }

    /** A node's broker that counts the checkpoints its hub writes. */
    private static dev.tether.core.spi.Broker counting(dev.tether.core.spi.Broker node, java.util.concurrent.atomic.AtomicInteger checkpoints) {
        return intercepting(node, (method, args) -> {
            if (method.getName().startsWith("checkpoint")) {
                checkpoints.incrementAndGet();
            }
            return null;
        });
    }

    /**
     * {@code node} with {@code interceptor} asked first on every call: its non-null answer is the
     * call's, null passes the call on to {@code node}.
     */
    private static dev.tether.core.spi.Broker intercepting(dev.tether.core.spi.Broker node,
            java.util.function.BiFunction<java.lang.reflect.Method, Object[], Object> interceptor) {
        return (dev.tether.core.spi.Broker) java.lang.reflect.Proxy.newProxyInstance(ClusterSessionTest.class.getClassLoader(),
                new Class<?>[] {dev.tether.core.spi.Broker.class}, (proxy, method, args) -> {
                    Object answer = interceptor.apply(method, args);
                    if (answer != null) {
                        return answer;
                    }
                    try {
                        return method.invoke(node, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void aVersion3ClientHoldsItsPositionSoItsAcksWriteNoCheckpointAndAnotherNodeResumesFromIt() throws Exception {
        java.util.concurrent.atomic.AtomicInteger checkpoints = new java.util.concurrent.atomic.AtomicInteger();
        Tether t = Tether.create(TetherConfig.builder().broker(counting(cluster.node(), checkpoints))
                .errorHandler((c, e) -> { }).drainTimeout(Duration.ZERO).build(), new SessionHandler() {
                    @Override
                    public void onOpen(Session session) {
                        session.subscribe("room");
                        opened.add(session);
                    }
                });
        hubs.add(t);
        Hub a = (Hub) t;
        Hub b = hub();
        InMemoryConnection v3 = InMemoryConnection.open(a, ALICE);
        JsonNode welcome = v3.hello(3);
        assertThat(welcome.path("v").asInt()).isEqualTo(3);
        nextOpened();
        InMemoryConnection v1 = InMemoryConnection.open(a, ALICE);
        v1.hello(1);
        nextOpened();
        Await.until(() -> a.subscribers("room") == 2, WAIT, "both subscribed through the broker");

        List<Long> positions = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            b.publish("room", "n", Payload.text(Integer.toString(i)));
            JsonNode m = v3.next("msg");
            assertThat(msg(m)).isEqualTo(i + ":" + i);
            positions.add(m.path("pos").asLong());
            assertThat(v1.next("msg").has("pos")).as("a version 1 connection gets no positions").isFalse();
        }
        assertThat(positions).isSorted().doesNotHaveDuplicates().allMatch(p -> p > 0);
        v1.send("{\"t\":\"ack\",\"seq\":5}");
        Await.until(() -> checkpoints.get() > 0, WAIT, "the version 1 session's ack is checkpointed");
        int before = checkpoints.get();
        v3.send("{\"t\":\"ack\",\"seq\":5}");
        v3.drop();

        InMemoryConnection r = InMemoryConnection.open(b, ALICE);
        r.send("{\"t\":\"hello\",\"v\":3,\"sid\":\"" + welcome.path("sid").asText() + "\",\"token\":\""
                + welcome.path("token").asText() + "\",\"last\":3,\"attempt\":1,\"pos\":" + positions.get(2) + "}");
        assertThat(r.next("welcome").path("resumed").asBoolean()).isTrue();
        JsonNode four = r.next("msg");
        assertThat(msg(four)).as("replayed from the client's position").isEqualTo("4:4");
        assertThat(four.path("pos").asLong()).isEqualTo(positions.get(3));
        assertThat(msg(r.next("msg"))).isEqualTo("5:5");
        assertThat(checkpoints.get()).as("the version 3 session's acks wrote no checkpoint").isEqualTo(before);
    }

    /** {@code node}, except that its commits fail with {@code no_session} while {@code lost} is set. */
    private static dev.tether.core.spi.Broker losingSessions(dev.tether.core.spi.Broker node,
            java.util.concurrent.atomic.AtomicBoolean lost) {
        return intercepting(node, (method, args) -> method.getName().equals("commit") && lost.get()
                ? CompletableFuture.failedFuture(new dev.tether.core.spi.BrokerException(
                        dev.tether.core.spi.BrokerException.NO_SESSION, "session " + args[0] + " is unknown"))
                : null);
    }

    /**
     * Redis restarted empty under a session attached here: its commits fail with no_session. The
     * session ends here too and its connection closes with 4013, so its client learns at its next
     * hello that the session is gone, rather than waiting for an acknowledgement or a reply that
     * never comes (seen once in ClusterProcessesIT's Redis restart). What its next hello gets is
     * the broker's answer: with Redis emptied, the session is unknown there (ClusterProcessesIT).
     */
    @Test
    void aSessionTheClusterNoLongerHasIsEndedHereSoItsClientIsToldNotLeftWaiting() throws Exception {
        BlockingQueue<String> errors = new LinkedBlockingQueue<>();
        java.util.concurrent.atomic.AtomicBoolean lost = new java.util.concurrent.atomic.AtomicBoolean();
        Hub a = joiningHub(losingSessions(cluster.node(), lost), errors);
        InMemoryConnection c = InMemoryConnection.open(a, ALICE);
        c.hello();

        lost.set(true);
        c.send("{\"t\":\"msg\",\"seq\":1,\"e\":\"join\",\"d\":\"news\"}");
        assertThat(c.awaitClose()).isEqualTo(CloseCodes.TRY_AGAIN_LATER);
        assertThat(c.closeReason).isEqualTo("session lost by the cluster");
        assertThat(c.received).as("never acknowledged: it was not recorded")
                .noneMatch(f -> f.path("t").asText().equals("ack"));
        assertThat(a.sessionCount()).isZero();
        assertThat(errors).anyMatch(e -> e.contains("the cluster no longer has it"));
    }

    @Test
    void aReplyGivenInTheHandlerFollowsTheCommitOfWhatTheHandlerDid() throws Exception {
        BlockingQueue<String> errors = new LinkedBlockingQueue<>();
        dev.tether.core.spi.Broker cutOff = cluster.node();
        Tether t = Tether.create(TetherConfig.builder().broker(cutOff).errorHandler((c, e) -> errors.add(c))
                .drainTimeout(Duration.ZERO).build(), new SessionHandler() {
                    @Override
                    public void onRequest(Session session, Message message, dev.tether.core.Responder responder) {
                        session.subscribe(message.payload().asText());
                        responder.reply(Payload.text("joined"));
                    }
                });
        hubs.add(t);
        Hub a = (Hub) t;
        InMemoryConnection c = InMemoryConnection.open(a, ALICE);
        c.hello();

        cluster.setReachable(cutOff, false);
        c.send("{\"t\":\"msg\",\"seq\":1,\"rid\":1,\"e\":\"join\",\"d\":\"news\"}");
        awaitRetriedCommit(errors, "the handler ran and its commit failed");
        assertThat(c.received).as("no reply while the subscription cannot be recorded")
                .noneMatch(f -> f.path("t").asText().equals("reply"));
        cluster.setReachable(cutOff, true);
        assertThat(c.next("reply").path("d").asText()).isEqualTo("joined");
        Await.until(() -> a.subscribers("news") == 1, WAIT, "subscribed on the node as the reply says");
    }

    @Test
    void aSessionWhoseFeedWasHeldWhenTheBrokerStreamWasInterruptedIsReadAgainOnceLive() throws Exception {
        Hub a = hub();
        Hub b = hub();
        InMemoryConnection c = InMemoryConnection.open(a, ALICE);
        c.hello(3);
        ServerSession s = (ServerSession) nextOpened();
        Await.until(() -> a.subscribers("room") == 1, WAIT, "subscribed through the broker");

        long held = s.holdFeed(); // a claim or re-read of its own is under way
        a.removeSubscriber("room", s); // and the marker that would put it in the topic table was lost
        a.cluster.onInterrupted(); // with the stream: the held session cannot be re-read yet
        assertThat(a.subscribers("room")).isZero();
        s.goLive(held, List.of());
        Await.until(() -> a.subscribers("room") == 1, WAIT, "read again once live: its claim marker restores the topic");
        b.publish("room", "n", Payload.text("1"));
        assertThat(msg(c.next("msg"))).isEqualTo("1:1");
    }
}
