package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.InMemoryCluster;
import dev.tether.core.Registration;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Presence through the application API: {@link Tether#presence}, {@link Tether#connectionCount}
 * and {@link Tether#onPresence}, on a single hub and on two hubs of an {@link InMemoryCluster}.
 * The Redis counterpart, with a killed node, is {@code TetherPresenceTest} in tether-redis.
 */
class PresenceTest {

    private static final Principal ALICE = () -> "alice";
    private static final Principal BOB = () -> "bob";
    private static final long WAIT_SECONDS = 10;

    private final List<Tether> hubs = new ArrayList<>();
    private final BlockingQueue<String> errors = new LinkedBlockingQueue<>();

    @AfterEach
    void stop() {
        hubs.forEach(Tether::close);
    }

    private Tether hub(InMemoryCluster cluster, UnaryOperator<TetherConfig.Builder> tune) {
        TetherConfig.Builder b = TetherConfig.builder()
                .drainTimeout(Duration.ZERO)
                .errorHandler((context, error) -> errors.add(context + ": " + error.getMessage()));
        if (cluster != null) {
            b.broker(cluster.node());
        }
        Tether t = Tether.create(tune.apply(b).build(), new SessionHandler() { });
        hubs.add(t);
        return t;
    }

    private Tether hub() {
        return hub(null, b -> b);
    }

    /** A connected client's session and the welcome it got. */
    private record Client(InMemoryConnection connection, JsonNode welcome, Session session) {
        String id() {
            return session.id();
        }
    }

    private static Client connect(Tether tether, Principal principal) {
        InMemoryConnection c = InMemoryConnection.open(tether, principal);
        JsonNode welcome = c.hello();
        Session s = tether.session(welcome.path("sid").asText()).orElseThrow();
        return new Client(c, welcome, s);
    }

    /** Records events as {@code "join <topic> <session> <principal>"} with the listener's thread. */
    private static final class Events {
        final BlockingQueue<String> events = new LinkedBlockingQueue<>();
        final BlockingQueue<String> threads = new LinkedBlockingQueue<>();

        void on(String topic, String sessionId, String principal, boolean joined) {
            threads.add(Thread.currentThread().getName());
            events.add((joined ? "join " : "leave ") + topic + " " + sessionId + " " + principal);
        }

        String next() throws InterruptedException {
            String e = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            assertThat(e).as("a presence event within " + WAIT_SECONDS + " s").isNotNull();
            return e;
        }
    }

    private static <T> T get(java.util.concurrent.CompletableFuture<T> f) throws Exception {
        return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    // ---------------------------------------------------------------- single hub

    @Test
    void aSingleHubListsItsSubscribersAndTellsJoinsAndLeavesInOrder() throws Exception {
        Tether tether = hub();
        Events events = new Events();
        tether.onPresence("room", events::on);
        Client a = connect(tether, ALICE);
        Client b = connect(tether, BOB);
        assertThat(get(tether.presence("room"))).isEmpty();

        a.session().subscribe("room");
        b.session().subscribe("room");
        b.session().subscribe("elsewhere");
        assertThat(events.next()).isEqualTo("join room " + a.id() + " alice");
        assertThat(events.next()).isEqualTo("join room " + b.id() + " bob");
        assertThat(get(tether.presence("room"))).isEqualTo(Map.of(a.id(), "alice", b.id(), "bob"));
        assertThat(get(tether.connectionCount())).isEqualTo(2L);

        b.session().unsubscribe("room");
        assertThat(events.next()).isEqualTo("leave room " + b.id() + " bob");
        a.session().close("bye");
        assertThat(events.next()).isEqualTo("leave room " + a.id() + " alice");
        assertThat(get(tether.presence("room"))).isEmpty();
        assertThat(events.threads).allMatch(name -> name.startsWith("tether-handler-"));
    }

    @Test
    void aSessionWhoseConnectionDroppedStaysPresentUntilItsRetentionPasses() throws Exception {
        Tether tether = hub(null, b -> b.sessionRetention(Duration.ofMillis(200)));
        Events events = new Events();
        tether.onPresence("room", events::on);
        Client a = connect(tether, ALICE);
        a.session().subscribe("room");
        assertThat(events.next()).startsWith("join room " + a.id());

        a.connection().drop();
        a.connection().awaitClose();
        assertThat(get(tether.presence("room"))).containsOnlyKeys(a.id());
        assertThat(events.next()).isEqualTo("leave room " + a.id() + " alice");
        assertThat(get(tether.presence("room"))).isEmpty();
    }

    @Test
    void aClosedRegistrationHearsNothingMoreAndAThrowingListenerIsReported() throws Exception {
        Tether tether = hub();
        Events kept = new Events();
        Events removed = new Events();
        tether.onPresence("room", kept::on);
        Registration registration = tether.onPresence("room", removed::on);
        tether.onPresence("room", (topic, session, principal, joined) -> {
            throw new IllegalStateException("listener bug");
        });
        Client a = connect(tether, ALICE);
        a.session().subscribe("room");
        assertThat(removed.next()).startsWith("join room");
        assertThat(kept.next()).startsWith("join room");

        registration.close();
        registration.close(); // idempotent
        a.session().unsubscribe("room");
        assertThat(kept.next()).startsWith("leave room");
        assertThat(removed.events).isEmpty();
        assertThat(errors.poll(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo("presence.onPresence: listener bug");
        assertThat(errors.poll(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo("presence.onPresence: listener bug");
        assertThat(tether.stats().handlerErrors()).isEqualTo(2);
    }

    @Test
    void aListenerRunInlineMaySubscribeFromItsCallback() throws Exception {
        Tether tether = hub(null, b -> b.handlerExecutor(Runnable::run));
        Client a = connect(tether, ALICE);
        Client b = connect(tether, BOB);
        Events events = new Events();
        tether.onPresence("room", (topic, session, principal, joined) -> {
            events.on(topic, session, principal, joined);
            if (joined && session.equals(a.id())) {
                b.session().subscribe("room"); // the same topic, from inside its own event
            }
        });
        a.session().subscribe("room");
        assertThat(events.next()).isEqualTo("join room " + a.id() + " alice");
        assertThat(events.next()).isEqualTo("join room " + b.id() + " bob");
        assertThat(get(tether.presence("room"))).containsOnlyKeys(a.id(), b.id());
        assertThat(errors).isEmpty();
    }

    // ---------------------------------------------------------------- two hubs on one cluster

    @Test
    void presenceAndEventsSpanTheNodesOfACluster() throws Exception {
        InMemoryCluster cluster = new InMemoryCluster();
        Tether nodeA = hub(cluster, b -> b);
        Tether nodeB = hub(cluster, b -> b);
        Events onA = new Events();
        nodeA.onPresence("room", onA::on); // no session of A subscribes: A hears B's sessions all the same
        Client b1 = connect(nodeB, BOB);
        Client a1 = connect(nodeA, ALICE);

        b1.session().subscribe("room");
        assertThat(onA.next()).isEqualTo("join room " + b1.id() + " bob");
        a1.session().subscribe("room");
        assertThat(onA.next()).as("a local subscriber and the watch: one event").isEqualTo("join room " + a1.id() + " alice");
        assertThat(get(nodeA.presence("room"))).isEqualTo(Map.of(a1.id(), "alice", b1.id(), "bob"));
        assertThat(get(nodeB.presence("room"))).isEqualTo(Map.of(a1.id(), "alice", b1.id(), "bob"));
        assertThat(get(nodeA.connectionCount())).isEqualTo(2L);

        b1.session().unsubscribe("room");
        assertThat(onA.next()).isEqualTo("leave room " + b1.id() + " bob");
        a1.session().close("bye");
        assertThat(onA.next()).isEqualTo("leave room " + a1.id() + " alice");
        assertThat(get(nodeB.presence("room"))).isEmpty();
        assertThat(onA.threads).allMatch(name -> name.startsWith("tether-handler-"));
    }

    @Test
    void aClosedNodesSessionsLeaveAndJoinAgainWhenTheyResumeElsewhere() throws Exception {
        InMemoryCluster cluster = new InMemoryCluster();
        Tether nodeA = hub(cluster, b -> b);
        Tether nodeB = hub(cluster, b -> b);
        Events onA = new Events();
        nodeA.onPresence("room", onA::on);
        Client b1 = connect(nodeB, BOB);
        b1.session().subscribe("room");
        assertThat(onA.next()).isEqualTo("join room " + b1.id() + " bob");

        nodeB.close();
        assertThat(onA.next()).isEqualTo("leave room " + b1.id() + " bob");
        assertThat(get(nodeA.presence("room"))).isEmpty();
        assertThat(get(nodeA.connectionCount())).isEqualTo(0L);

        InMemoryConnection again = InMemoryConnection.open(nodeA, BOB);
        again.send("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + b1.id() + "\",\"token\":\""
                + b1.welcome().path("token").asText() + "\",\"last\":0}");
        assertThat(again.next("welcome").path("resumed").asBoolean()).isTrue();
        assertThat(onA.next()).isEqualTo("join room " + b1.id() + " bob");
        assertThat(get(nodeA.presence("room"))).isEqualTo(Map.of(b1.id(), "bob"));
    }

    @Test
    void aClusteredSessionWhoseRetentionPassedLeavesEveryNode() throws Exception {
        InMemoryCluster cluster = new InMemoryCluster();
        Tether nodeA = hub(cluster, b -> b);
        Tether nodeB = hub(cluster, b -> b.sessionRetention(Duration.ofMillis(200)));
        Events onA = new Events();
        nodeA.onPresence("room", onA::on);
        Client b1 = connect(nodeB, BOB);
        b1.session().subscribe("room");
        assertThat(onA.next()).isEqualTo("join room " + b1.id() + " bob");

        b1.connection().drop();
        b1.connection().awaitClose();
        assertThat(onA.next()).isEqualTo("leave room " + b1.id() + " bob");
        assertThat(get(nodeA.presence("room"))).isEmpty();
        assertThat(errors).isEmpty();
    }
}
