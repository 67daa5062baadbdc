package dev.tether.redis;

import dev.tether.core.spi.TransportHub;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.PresenceListener;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.testing.Await;
import dev.tether.core.testing.InMemoryTransport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Presence through the application API ({@link Tether#presence}, {@link Tether#connectionCount},
 * {@link Tether#onPresence}) on two hubs whose brokers share a real redis-server: joins and
 * leaves cross nodes, and a node killed without a goodbye loses its sessions' presence within
 * the documented bound, node timeout plus one heartbeat interval of a live node (its sweep).
 */
class TetherPresenceTest {

    private static final long HEARTBEAT_MS = 100;
    private static final long NODE_TIMEOUT_MS = 500;
    private static final long WAIT_SECONDS = 10;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static RedisServerProcess server;

    private final String prefix = "presence" + PREFIXES.incrementAndGet() + ":";
    private final List<Tether> hubs = new ArrayList<>();
    private final BlockingQueue<String> errors = new LinkedBlockingQueue<>();

    @BeforeAll
    static void startRedis() {
        server = RedisServerProcess.start();
    }

    @AfterAll
    static void stopRedis() {
        server.close();
    }

    @AfterEach
    void stop() {
        hubs.forEach(Tether::close);
    }

    private record Node(Tether tether, RedisBroker broker) { }

    private Node node(Duration sessionRetention) {
        RedisBroker broker = new RedisBroker(RedisBrokerConfig.builder()
                .uri(server.uri())
                .keyPrefix(prefix)
                .commandTimeout(Duration.ofSeconds(1))
                .heartbeatInterval(Duration.ofMillis(HEARTBEAT_MS))
                .nodeTimeout(Duration.ofMillis(NODE_TIMEOUT_MS))
                .build());
        Tether tether = Tether.create(TetherConfig.builder()
                .broker(broker)
                .sessionRetention(sessionRetention)
                .drainTimeout(Duration.ZERO)
                .errorHandler((context, error) -> errors.add(context + ": " + error))
                .build(), new SessionHandler() { });
        hubs.add(tether);
        return new Node(tether, broker);
    }

    private Node node() {
        return node(TetherConfig.DEFAULT_SESSION_RETENTION);
    }

    /** A client of the native protocol without sockets: enough to open and resume a session. */
    private static final class Client extends InMemoryTransport {
        private final BlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();

        Client(Tether tether, Principal principal) {
            super("client-io", 40000);
            assertThat(TransportHub.of(tether).admit()).isEqualTo(TransportHub.ADMITTED);
            connect(() -> TransportHub.of(tether).connect(this, principal));
        }

        JsonNode hello(String json) {
            receive(json.getBytes(StandardCharsets.UTF_8), false);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            try {
                for (;;) {
                    JsonNode f = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                    assertThat(f).as("a welcome").isNotNull();
                    if (f.path("t").asText().equals("welcome")) {
                        return f;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }

        @Override
        protected void delivered(byte[] bytes, boolean binary) {
            try {
                received.add(JSON.readTree(bytes));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** A session opened by a client on {@code node}, with the welcome it got. */
    private record Opened(Client client, JsonNode welcome, Session session) {
        String id() {
            return session.id();
        }
    }

    private static Opened open(Node node, String user) {
        Client c = new Client(node.tether(), () -> user);
        JsonNode welcome = c.hello("{\"t\":\"hello\",\"v\":1}");
        Session s = node.tether().session(welcome.path("sid").asText()).orElseThrow();
        return new Opened(c, welcome, s);
    }

    private static final class Events implements PresenceListener {
        final BlockingQueue<String> events = new LinkedBlockingQueue<>();
        final BlockingQueue<String> threads = new LinkedBlockingQueue<>();

        void on(String topic, String sessionId, String principal, boolean joined) {
            threads.add(Thread.currentThread().getName());
            events.add((joined ? "join " : "leave ") + topic + " " + sessionId + " " + principal);
        }

        @Override
        public void onPresence(String topic, String sessionId, String principal, boolean joined) {
            on(topic, sessionId, principal, joined);
        }

        @Override
        public void onGap(String topic) {
            threads.add(Thread.currentThread().getName());
            events.add("gap " + topic);
        }

        String next() throws InterruptedException {
            String e = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            assertThat(e).as("a presence event within " + WAIT_SECONDS + " s").isNotNull();
            return e;
        }
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    /** Polls the cluster's connection count until it is {@code expected}; nodes report it with their heartbeats. */
    private static void awaitConnections(Tether tether, long expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        long count;
        while ((count = get(tether.connectionCount())) != expected) {
            assertThat(System.nanoTime() - deadline).as("connection count " + count + ", want " + expected).isNegative();
            TimeUnit.MILLISECONDS.sleep(HEARTBEAT_MS / 2); // a poll interval, not a synchronisation
        }
    }

    /**
     * Registers {@code listener} on {@code node} and waits until the broker has its watch: the
     * listener hears other nodes' events from then on (Tether#onPresence).
     */
    private void watch(Node node, String topic, PresenceListener listener) {
        node.tether().onPresence(topic, listener);
        Await.until(() -> ":1".equals(server.command("SISMEMBER " + prefix + "t:" + topic + ":watch "
                + node.broker().nodeId())), Duration.ofSeconds(WAIT_SECONDS), "the watch of '" + topic + "' registered");
    }

    @Test
    void presenceAndJoinsAndLeavesSpanTheNodes() throws Exception {
        Node a = node();
        Node b = node();
        Events onA = new Events();
        watch(a, "room", onA::on);
        Opened bob = open(b, "bob");
        Opened alice = open(a, "alice");

        bob.session().subscribe("room");
        assertThat(onA.next()).as("A has no subscriber of its own").isEqualTo("join room " + bob.id() + " bob");
        alice.session().subscribe("room");
        assertThat(onA.next()).isEqualTo("join room " + alice.id() + " alice");
        Map<String, String> both = Map.of(alice.id(), "alice", bob.id(), "bob");
        assertThat(get(a.tether().presence("room"))).isEqualTo(both);
        assertThat(get(b.tether().presence("room"))).isEqualTo(both);
        awaitConnections(a.tether(), 2);

        bob.session().unsubscribe("room");
        assertThat(onA.next()).isEqualTo("leave room " + bob.id() + " bob");
        alice.session().close("bye");
        assertThat(onA.next()).isEqualTo("leave room " + alice.id() + " alice");
        assertThat(get(b.tether().presence("room"))).isEmpty();
        assertThat(onA.threads).allMatch(name -> name.startsWith("tether-handler-"));
        assertThat(errors).isEmpty();
    }

    @Test
    void aKilledNodesSessionsLeaveWithinTheBoundAndJoinAgainWhenTheyResumeElsewhere() throws Exception {
        Node a = node();
        Node b = node();
        Events onA = new Events();
        watch(a, "room", onA::on);
        Opened alice = open(a, "alice");
        alice.session().subscribe("room");
        assertThat(onA.next()).isEqualTo("join room " + alice.id() + " alice");
        Opened bob = open(b, "bob");
        bob.session().subscribe("room");
        assertThat(onA.next()).isEqualTo("join room " + bob.id() + " bob");
        awaitConnections(a.tether(), 2);

        long t0 = System.nanoTime();
        b.broker().kill(); // no goodbye: B's heartbeats stop, as with kill -9
        assertThat(onA.next()).isEqualTo("leave room " + bob.id() + " bob");
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        // The documented bound is node timeout + one heartbeat of a live node; the rest is slack
        // for a loaded machine.
        assertThat(tookMs).isLessThan(NODE_TIMEOUT_MS + HEARTBEAT_MS + 1_000);
        assertThat(get(a.tether().presence("room"))).isEqualTo(Map.of(alice.id(), "alice"));
        awaitConnections(a.tether(), 1);

        // Bob's client reconnects to A and resumes: present again, with a join.
        Client again = new Client(a.tether(), () -> "bob");
        JsonNode welcome = again.hello("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + bob.id() + "\",\"token\":\""
                + bob.welcome().path("token").asText() + "\",\"last\":0}");
        assertThat(welcome.path("resumed").asBoolean()).isTrue();
        assertThat(onA.next()).isEqualTo("join room " + bob.id() + " bob");
        assertThat(get(a.tether().presence("room"))).isEqualTo(Map.of(alice.id(), "alice", bob.id(), "bob"));
    }

    @Test
    void aSessionWhoseRetentionPassedLeavesEveryNode() throws Exception {
        Node a = node();
        Node b = node(Duration.ofMillis(300));
        Events onA = new Events();
        watch(a, "room", onA::on);
        Opened bob = open(b, "bob");
        bob.session().subscribe("room");
        assertThat(onA.next()).isEqualTo("join room " + bob.id() + " bob");

        bob.client().drop();
        bob.client().awaitClose();
        assertThat(onA.next()).isEqualTo("leave room " + bob.id() + " bob");
        assertThat(get(a.tether().presence("room"))).isEmpty();
        assertThat(errors).isEmpty();
    }

    @Test
    void anInterruptedBrokerStreamIsAGapForPresenceListeners() throws Exception {
        Node a = node();
        Events onA = new Events();
        watch(a, "room", onA);
        Opened alice = open(a, "alice");
        alice.session().subscribe("room");
        assertThat(onA.next()).isEqualTo("join room " + alice.id() + " alice");

        // Redis drops the subscriber connections: what was published meanwhile is lost to them.
        assertThat(server.command("CLIENT KILL TYPE pubsub")).startsWith(":");
        assertThat(onA.next()).isEqualTo("gap room");
        assertThat(get(a.tether().presence("room"))).isEqualTo(Map.of(alice.id(), "alice"));
        assertThat(onA.threads).allMatch(name -> name.startsWith("tether-handler-"));
    }
}
