package dev.tether.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.redis.RedisServerProcess;
import dev.tether.testing.Await;
import dev.tether.testing.ChaosProxy;
import dev.tether.testing.NodeSocketIoClient;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tether nodes in separate JVMs ({@link NodeProcess}) on one real {@code redis-server}, with real
 * WebSocket clients in this JVM: what issue 12 promises across processes, checked per client.
 */
class ClusterProcessesIT {

    private final List<AutoCloseable> closing = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();
    private RedisServerProcess redis;

    @BeforeEach
    void startRedis() {
        redis = RedisServerProcess.start();
    }

    @AfterEach
    void stopAll() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        redis.close();
    }

    private NodeProcess node(String name) throws Exception {
        NodeProcess node = NodeProcess.start(name, redis.uri());
        closing.add(node);
        return node;
    }

    private Peer peer(String name, URI uri) {
        Peer peer = new Peer(name, uri, http);
        closing.add(0, peer);
        return peer;
    }

    private static void connectAll(List<Peer> peers) throws Exception {
        CompletableFuture.allOf(peers.stream().map(p -> p.client.connect()).toArray(CompletableFuture[]::new))
                .get(60, TimeUnit.SECONDS);
    }

    private static URI via(ChaosProxy proxy) {
        return URI.create("ws://127.0.0.1:" + proxy.port() + "/tether");
    }

    @ParameterizedTest(name = "{0} nodes")
    @ValueSource(ints = {2, 3})
    void aPublishOnAnyNodeReachesEverySubscriberOnEveryNodeOnceInTopicOrder(int nodeCount) throws Exception {
        List<NodeProcess> nodes = new ArrayList<>();
        for (int i = 0; i < nodeCount; i++) {
            nodes.add(node("n" + i));
        }
        List<Peer> subscribers = new ArrayList<>();
        List<Peer> publishers = new ArrayList<>();
        for (NodeProcess node : nodes) {
            for (int s = 0; s < 3; s++) {
                subscribers.add(peer("sub-" + node.name() + "-" + s, node.uri()));
            }
            publishers.add(peer("pub-" + node.name(), node.uri()));
        }
        connectAll(subscribers);
        connectAll(publishers);
        for (Peer s : subscribers) {
            s.join("room");
        }

        int perPublisher = 200;
        for (int i = 0; i < perPublisher; i++) {
            for (Peer p : publishers) {
                p.sendTick("room");
            }
        }

        List<Peer> everyone = new ArrayList<>(publishers);
        everyone.addAll(subscribers);
        Await.until(() -> subscribers.stream().allMatch(s -> s.tickOrder.size() >= perPublisher * nodeCount),
                Duration.ofSeconds(120), "every subscriber has every tick", () -> counts(everyone, nodes));
        List<String> topicOrder = subscribers.get(0).tickOrder;
        for (Peer s : subscribers) {
            assertThat(s.losses).as(s.name).isEmpty();
            for (Peer p : publishers) {
                assertThat(s.ticksFrom(p.name)).as(s.name + " from " + p.name + ": once each, in order")
                        .containsExactlyElementsOf(Peer.upTo(perPublisher));
            }
            assertThat(s.tickOrder).as(s.name + " sees the topic in the same order as every other subscriber")
                    .containsExactlyElementsOf(topicOrder);
        }
    }

    /**
     * Acceptance 2: three node processes, 300 clients behind a round-robin balancer that also cuts
     * connections at random, publishes on four topics and echoes both ways at a steady rate; one
     * node is killed with SIGKILL and restarted, then another. Every client ends connected, on its
     * one session, with every echo and every tick of its topics once and in order.
     */
    @Test
    void killingNodesAndCuttingClientsLosesAndRepeatsNothing() throws Exception {
        List<NodeProcess> nodes = new ArrayList<>(List.of(node("a"), node("b"), node("c")));
        ChaosProxy balancer = ChaosProxy.start(nodes.get(0).address());
        closing.add(0, balancer);
        balancer.retarget(addresses(nodes));

        int topics = 4;
        List<Peer> publishers = new ArrayList<>();
        for (int t = 0; t < topics; t++) {
            publishers.add(peer("P" + t, via(balancer)));
        }
        List<Peer> subscribers = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            subscribers.add(peer("c" + i, via(balancer)));
        }
        connectAll(publishers);
        connectAll(subscribers);
        for (int i = 0; i < subscribers.size(); i++) {
            subscribers.get(i).join("t" + i % topics);
            subscribers.get(i).join("t" + (i + 1) % topics);
        }

        int ticksPerPublisher = 150;
        AtomicInteger round = new AtomicInteger();
        AtomicBoolean done = new AtomicBoolean();
        ScheduledExecutorService traffic = Executors.newSingleThreadScheduledExecutor();
        closing.add(0, traffic::shutdownNow);
        // Every 200 ms: a tick from each publisher (5/s per topic) and an echo from 60 clients (300/s).
        traffic.scheduleAtFixedRate(() -> {
            int r = round.getAndIncrement();
            if (r >= ticksPerPublisher) {
                done.set(true);
                return;
            }
            for (int t = 0; t < topics; t++) {
                publishers.get(t).sendTick("t" + t);
            }
            for (int i = 0; i < 60; i++) {
                subscribers.get((r * 60 + i) % subscribers.size()).sendEcho();
            }
        }, 0, 200, TimeUnit.MILLISECONDS);
        balancer.startRandomCuts(12, Duration.ofMillis(400));

        for (int kill = 0; kill < 2; kill++) {
            int at = (kill + 1) * ticksPerPublisher / 3;
            Await.until(() -> round.get() >= at, Duration.ofSeconds(60), "traffic reached round " + at);
            NodeProcess victim = nodes.remove(kill);
            balancer.retarget(addresses(nodes));
            victim.kill();
            NodeProcess restarted = node(victim.name() + "'");
            nodes.add(kill, restarted);
            balancer.retarget(addresses(nodes));
        }
        Await.until(done::get, Duration.ofSeconds(90), "traffic ended");
        balancer.stopRandomCuts();

        List<Peer> all = new ArrayList<>(publishers);
        all.addAll(subscribers);
        Await.until(() -> all.stream().allMatch(Peer::settled)
                        && subscribers.stream().allMatch(s -> s.echoes.size() >= s.echoesSent.get()
                        && s.ticksFrom("P" + subscribers.indexOf(s) % topics).size() >= ticksPerPublisher
                        && s.ticksFrom("P" + (subscribers.indexOf(s) + 1) % topics).size() >= ticksPerPublisher),
                Duration.ofSeconds(60), "every message delivered both ways", () -> lagging(all, nodes, ticksPerPublisher));

        for (Peer p : publishers) {
            assertThat(p.ticksSent.get()).as(p.name + " published every tick").isEqualTo(ticksPerPublisher);
        }
        for (int i = 0; i < subscribers.size(); i++) {
            Peer s = subscribers.get(i);
            assertThat(s.losses).as(s.name + ": nothing lost, nothing reported lost").isEmpty();
            assertThat(s.echoes).as(s.name + ": client → server → client, once each, in order")
                    .containsExactlyElementsOf(Peer.upTo(s.echoesSent.get()));
            for (String publisher : List.of("P" + i % topics, "P" + (i + 1) % topics)) {
                assertThat(s.ticksFrom(publisher)).as(s.name + " from " + publisher + ": once each, in order")
                        .containsExactlyElementsOf(Peer.upTo(ticksPerPublisher));
            }
            assertThat(s.ticks.keySet()).as(s.name + " got only its topics")
                    .containsExactlyInAnyOrder("P" + i % topics, "P" + (i + 1) % topics);
            assertThat(s.opens.subList(1, s.opens.size())).as(s.name + ": every reconnect resumed its session")
                    .doesNotContain(false);
        }
        long resumed = all.stream().mapToLong(p -> p.opens.size() - 1).sum();
        assertThat(resumed).as("clients resumed after kills and cuts").isGreaterThanOrEqualTo(subscribers.size() / 3);
    }

    /**
     * Acceptance 4 across processes: a stock, WebSocket-only socket.io-client on node A gets the
     * room broadcasts an application emits on node B; node A is killed with SIGKILL; the client
     * reconnects (through the balancer) to node B with {@code recovered:true}, the same socket id,
     * and every broadcast once and in order.
     */
    @Test
    void aSocketIoClientWhoseNodeIsKilledRecoversOnAnotherNodeWithEveryBroadcastOnceInOrder() throws Exception {
        NodeProcess a = node("a");
        NodeProcess b = node("b");
        ChaosProxy balancer = ChaosProxy.start(a.socketIoAddress());
        closing.add(0, balancer);
        NodeSocketIoClient client = NodeSocketIoClient.start("http://127.0.0.1:" + balancer.port(), 1,
                "{\"transports\":[\"websocket\"]}");
        closing.add(0, client);
        JsonNode first = client.next("connect", Duration.ofSeconds(30));
        assertThat(first.path("recovered").asBoolean()).isFalse();

        // The emitter is node B's application: a native client's "pub" makes it publish to the room's topic.
        Peer emitter = peer("E", b.uri());
        emitter.client.connect().get(30, TimeUnit.SECONDS);
        ScheduledExecutorService traffic = Executors.newSingleThreadScheduledExecutor();
        closing.add(0, traffic::shutdownNow);
        int total = 200;
        traffic.scheduleAtFixedRate(() -> {
            if (emitter.ticksSent.get() < total) {
                emitter.sendTick("sio:/#room");
            }
        }, 0, 20, TimeUnit.MILLISECONDS);
        client.next(e -> isTick(e) && tickNumber(e) >= 30, "30 broadcasts from node B on node A", Duration.ofSeconds(30));

        balancer.retarget(b.socketIoAddress());
        a.kill();
        JsonNode again = client.next("connect", Duration.ofSeconds(30));
        assertThat(again.path("recovered").asBoolean()).as("recovered on node B").isTrue();
        assertThat(again.path("id").asText()).isEqualTo(first.path("id").asText());

        client.next(e -> isTick(e) && tickNumber(e) >= total, "every broadcast", Duration.ofSeconds(60));
        List<Integer> ticks = new ArrayList<>();
        for (JsonNode e : client.seen()) {
            if (isTick(e)) {
                ticks.add(tickNumber(e));
            }
        }
        assertThat(ticks).as("every broadcast once, in order, across the kill").containsExactlyElementsOf(Peer.upTo(total));
    }

    private static boolean isTick(JsonNode e) {
        return e.path("e").asText().equals("event") && e.path("name").asText().equals("tick");
    }

    private static int tickNumber(JsonNode e) {
        String text = e.path("args").get(0).asText();
        return Integer.parseInt(text.substring(text.indexOf(':') + 1));
    }

    /** Ticks from {@code publisher} on topic {@code t} every 100 ms until {@code count} were sent. */
    private ScheduledExecutorService ticking(Peer publisher, int count) {
        ScheduledExecutorService traffic = Executors.newSingleThreadScheduledExecutor();
        closing.add(0, traffic::shutdownNow);
        traffic.scheduleAtFixedRate(() -> {
            if (publisher.ticksSent.get() < count) {
                publisher.sendTick("t");
            }
        }, 0, 100, TimeUnit.MILLISECONDS);
        return traffic;
    }

    /** Two nodes, a publisher on the first and 10 subscribers of topic {@code t} over both. */
    private record TwoNodes(List<NodeProcess> nodes, Peer publisher, List<Peer> subscribers) {
    }

    /** {@link TwoNodes} with {@code total} ticks flowing, 20 of them already everywhere. */
    private TwoNodes ticksFlowing(int total) throws Exception {
        List<NodeProcess> nodes = List.of(node("a"), node("b"));
        Peer publisher = peer("P", nodes.get(0).uri());
        List<Peer> subscribers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            subscribers.add(peer("c" + i, nodes.get(i % 2).uri()));
        }
        publisher.client.connect().get(30, TimeUnit.SECONDS);
        connectAll(subscribers);
        for (Peer s : subscribers) {
            s.join("t");
        }
        ticking(publisher, total);
        Await.until(() -> subscribers.stream().allMatch(s -> s.ticksFrom("P").size() >= 20),
                Duration.ofSeconds(30), "20 ticks everywhere");
        return new TwoNodes(nodes, publisher, subscribers);
    }

    /**
     * Acceptance 3, first half: Redis restarts empty while ticks flow. Every client is told of the
     * loss (a new session with reason {@code reset}, or a gap); between two ticks it received, a
     * missing one is always explained by such a report before it.
     */
    @Test
    void aRedisRestartWithoutPersistenceGivesEveryClientAnExplicitLossNeverASilentOne() throws Exception {
        int total = 80;
        TwoNodes setup = ticksFlowing(total);
        List<NodeProcess> nodes = setup.nodes();
        Peer publisher = setup.publisher();
        List<Peer> subscribers = setup.subscribers();

        redis.restart();

        Await.until(() -> publisher.ticksSent.get() >= total && publisher.settled()
                        && subscribers.stream().allMatch(s -> s.settled() && s.ticksFrom("P").contains(total)),
                Duration.ofSeconds(60), "the last tick everywhere, after the restart",
                () -> state(publisher, subscribers, nodes));
        for (Peer s : subscribers) {
            assertThat(s.losses).as(s.name + " was told of the loss").isNotEmpty()
                    .allMatch(l -> l.contains("reset"), "names the reset as the reason");
            int previous = 0;
            boolean reported = false;
            for (String entry : s.tickOrder) {
                if (entry.equals(Peer.LOSS)) {
                    reported = true;
                    continue;
                }
                int n = Integer.parseInt(entry.substring(entry.indexOf(':') + 1));
                assertThat(n).as(s.name + ": never twice, never backwards").isGreaterThan(previous);
                if (n != previous + 1) {
                    assertThat(reported).as(s.name + ": ticks " + (previous + 1) + ".." + (n - 1)
                            + " missing without a report before them").isTrue();
                }
                previous = n;
                reported = false;
            }
        }
    }

    /**
     * Acceptance 3, second half: Redis does not answer for 10 s (SIGSTOP). Publishes fail within
     * the command timeout with a clear error; connected clients stay connected on their sessions;
     * when Redis answers again the cluster works again by itself, and what clients sent meanwhile
     * arrives once, in order.
     */
    @Test
    void redisUnreachableForTenSecondsFailsFastKeepsClientsAndRecoversByItself() throws Exception {
        int total = 250;
        TwoNodes setup = ticksFlowing(total);
        List<NodeProcess> nodes = setup.nodes();
        Peer publisher = setup.publisher();
        List<Peer> subscribers = setup.subscribers();

        redis.pause();
        long pausedAt = System.nanoTime();
        NodeProcess b = nodes.get(1);
        for (int i = 0; i < 5; i++) {
            b.command("publish down" + i + " side during-outage");
            String answer = b.awaitLine("publish-failed down" + i + " ", Duration.ofSeconds(5));
            assertThat(answer).as("publish " + i + " during the outage fails within 5 s, clearly; node said "
                    + b.output()).isNotNull().contains("BrokerException");
            long ms = Long.parseLong(answer.split(" ")[2]);
            assertThat(ms).as("failed fast: within the 2 s command timeout (and a margin)").isLessThan(3_000);
        }
        Await.until(() -> System.nanoTime() - pausedAt >= TimeUnit.SECONDS.toNanos(10), Duration.ofSeconds(15),
                "ten seconds of outage");
        for (Peer s : subscribers) {
            assertThat(s.client.isConnected()).as(s.name + " still connected during the outage").isTrue();
        }
        redis.resume();

        Await.until(() -> {
            b.command("publish up side after-outage");
            try {
                return b.awaitLine("published up ", Duration.ofMillis(500)) != null;
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, Duration.ofSeconds(30), "publishes work again by themselves");
        Await.until(() -> publisher.ticksSent.get() >= total && publisher.settled()
                        && subscribers.stream().allMatch(s -> s.settled() && s.ticksFrom("P").size() >= total),
                Duration.ofSeconds(60), "every tick everywhere", () -> state(publisher, subscribers, nodes));
        for (Peer s : subscribers) {
            assertThat(s.losses).as(s.name).isEmpty();
            assertThat(s.ticksFrom("P")).as(s.name + ": every tick once, in order").containsExactlyElementsOf(Peer.upTo(total));
            assertThat(s.disconnects.get()).as(s.name + " never lost its connection").isZero();
            assertThat(s.opens).as(s.name + " stayed on its first connection").containsExactly(false);
        }
    }

    /** What a timed-out chaos wait shows: the clients that are not done, and what the nodes printed. */
    private static String lagging(List<Peer> peers, List<NodeProcess> nodes, int ticksPerPublisher) {
        StringBuilder b = new StringBuilder();
        peers.stream().filter(p -> !p.settled() || p.echoes.size() < p.echoesSent.get() || !p.losses.isEmpty()
                        || p.name.startsWith("c") && (p.ticks.size() < 2
                        || p.ticks.values().stream().anyMatch(t -> t.size() < ticksPerPublisher)))
                .limit(10).forEach(p ->
                b.append("\n").append(p.name).append(": echoes ").append(p.echoes.size()).append("/").append(p.echoesSent)
                        .append(", ticks ").append(new java.util.TreeMap<>(p.ticks).entrySet().stream()
                                .map(e -> e.getKey() + "=" + e.getValue().size()).toList())
                        .append(", losses ").append(p.losses).append(", opens ").append(p.opens).append(", ").append(p.client.stats()));
        for (NodeProcess n : nodes) {
            b.append("\n").append(n).append(": ").append(n.output());
        }
        return b.toString();
    }

    /** What a timed-out wait shows: every client's ticks per publisher, losses and opens, and what the nodes printed. */
    private static String counts(List<Peer> peers, List<NodeProcess> nodes) {
        StringBuilder b = new StringBuilder();
        for (Peer p : peers) {
            b.append("\n").append(p.name).append(": sent ").append(p.ticksSent).append(", ticks ")
                    .append(new java.util.TreeMap<>(p.ticks).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue().size()).toList())
                    .append(", losses ").append(p.losses).append(", opens ").append(p.opens).append(", ").append(p.client.stats());
        }
        for (NodeProcess n : nodes) {
            b.append("\n").append(n).append(": ").append(n.output());
        }
        return b.toString();
    }

    /** What a timed-out wait shows: each client's counts and what the nodes printed. */
    private static String state(Peer publisher, List<Peer> subscribers, List<NodeProcess> nodes) {
        StringBuilder b = new StringBuilder("\npublisher ").append(publisher.ticksSent).append(" sent, ").append(publisher);
        for (Peer s : subscribers) {
            b.append("\n").append(s.name).append(": ticks ").append(s.ticksFrom("P").size()).append(", losses ")
                    .append(s.losses).append(", opens ").append(s.opens).append(", ").append(s.client.stats());
        }
        for (NodeProcess n : nodes) {
            b.append("\n").append(n).append(": ").append(n.output());
        }
        return b.toString();
    }

    private static List<InetSocketAddress> addresses(List<NodeProcess> nodes) {
        return nodes.stream().map(NodeProcess::address).toList();
    }
}
