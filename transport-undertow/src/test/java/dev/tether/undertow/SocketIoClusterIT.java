package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.InMemoryCluster;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Broker;
import dev.tether.socketio.Socket;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.testing.Await;
import dev.tether.testing.ChaosProxy;
import dev.tether.testing.NodeSocketIoClient;
import dev.tether.testing.SocketIoTestServer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Stock {@code socket.io-client} against two Tether nodes joined by an {@link InMemoryCluster},
 * each with its own Undertow server on loopback: a room emit on one node reaches the room's
 * clients on the other, {@code socket.to(room)} leaves out its sender wherever it is, and a
 * WebSocket-only client whose node crashes reconnects to the other node (through a proxy that
 * plays the load balancer) with {@code recovered === true} and every event it missed, once and in
 * order.
 */
class SocketIoClusterIT {

    private static final Duration WAIT = SocketIoTestServer.WAIT;
    private static final String ROOM = "sio:/#room";
    /** WebSocket only, reconnecting within 100 ms (the driver's jitter on top). */
    private static final String WS_ONLY = "{\"transports\":[\"websocket\"]}";

    private final InMemoryCluster cluster = new InMemoryCluster();
    private final List<AutoCloseable> closing = new ArrayList<>();

    /** One node: its broker (to crash it), its server, and what its error handler was told. */
    private record Node(Broker broker, SocketIoTestServer sio, List<String> errors) {
        InetSocketAddress address() {
            return new InetSocketAddress("127.0.0.1", sio.server().port());
        }
    }

    private Node startNode() {
        Broker broker = cluster.node();
        List<String> errors = new CopyOnWriteArrayList<>();
        SocketIoTestServer sio = SocketIoTestServer.start(
                TetherConfig.builder().broker(broker).errorHandler((context, error) -> errors.add(context + ": " + error)),
                SocketIoConfig.builder().connectionStateRecovery(true).build(), TetherUndertowConfig.builder(),
                s -> s.io().on("connection", socket -> {
                    socket.join("room");
                    socket.on("shout", (args, ack) -> socket.to("room").emit("shouted", args.get(0)));
                }));
        closing.add(0, sio);
        return new Node(broker, sio, errors);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    private static boolean isEvent(JsonNode e, String name) {
        return e.path("e").asText().equals("event") && e.path("name").asText().equals(name);
    }

    private static List<Integer> ticks(NodeSocketIoClient client) {
        List<Integer> got = new ArrayList<>();
        for (JsonNode e : client.seen()) {
            if (isEvent(e, "tick")) {
                got.add(e.path("args").get(0).asInt());
            }
        }
        return got;
    }

    @Test
    void aRoomEmitOnNodeBReachesTheClientOnNodeAAndToRoomLeavesOutItsSenderAcrossNodes() throws Exception {
        Node a = startNode();
        Node b = startNode();
        NodeSocketIoClient onA = a.sio().client(1, WS_ONLY);
        onA.next("connect", WAIT);
        NodeSocketIoClient onB = b.sio().client(1, WS_ONLY);
        onB.next("connect", WAIT);
        Await.until(() -> a.sio().tether().subscribers(ROOM) == 1 && b.sio().tether().subscribers(ROOM) == 1,
                WAIT, "a socket of each node in the room, through the broker");

        b.sio().io().to("room").emit("news", "from B");
        JsonNode news = onA.next(e -> isEvent(e, "news"), "news on A", WAIT);
        assertThat(news.path("args").toString()).isEqualTo("[\"from B\",\"1\"]");
        onB.next(e -> isEvent(e, "news"), "news on B", WAIT);

        // A's handler runs socket.to("room").emit: everyone in the room but the sender, on any node.
        onA.send("{\"cmd\":\"emit\",\"event\":\"shout\",\"args\":[\"hey\"]}");
        JsonNode shouted = onB.next(e -> isEvent(e, "shouted"), "shouted on B", WAIT);
        assertThat(shouted.path("args").get(0).asText()).isEqualTo("hey");
        b.sio().io().to("room").emit("news", "after");
        JsonNode after = onA.next(e -> isEvent(e, "news"), "the next news on A", WAIT);
        assertThat(after.path("args").toString()).as("nothing before it, and its offset is the next one")
                .isEqualTo("[\"after\",\"2\"]");
        assertThat(onA.seen()).noneMatch(e -> isEvent(e, "shouted"));
        assertThat(a.errors()).isEmpty();
        assertThat(b.errors()).isEmpty();
    }

    @Test
    void aWebSocketOnlyClientWhoseNodeCrashesRecoversOnAnotherNodeWithEveryEventOnceInOrder() throws Exception {
        Node a = startNode();
        Node b = startNode();
        ChaosProxy proxy = ChaosProxy.start(a.address());
        closing.add(0, proxy);
        NodeSocketIoClient client = NodeSocketIoClient.start("http://127.0.0.1:" + proxy.port(), 1, WS_ONLY);
        closing.add(0, client);
        JsonNode first = client.next("connect", WAIT);
        assertThat(first.path("recovered").asBoolean()).isFalse();
        Socket onA = a.sio().nextSocket();
        Await.until(() -> a.sio().tether().subscribers(ROOM) == 1, WAIT, "the socket in the room, through the broker");

        // A steady stream of room emits from node B's application.
        AtomicInteger published = new AtomicInteger();
        ScheduledExecutorService publisher = Executors.newSingleThreadScheduledExecutor();
        closing.add(0, publisher::shutdownNow);
        publisher.scheduleAtFixedRate(() -> b.sio().io().to("room").emit("tick", published.incrementAndGet()),
                0, 5, TimeUnit.MILLISECONDS);
        client.next(e -> isEvent(e, "tick") && e.path("args").get(0).asInt() >= 20, "20 ticks through node A", WAIT);

        // Node A crashes: it stops talking to the cluster and its connections die without a word;
        // the balancer sends newcomers to B, but only once some ticks were certainly missed.
        proxy.refuseNew(true);
        proxy.retarget(b.address());
        a.broker().close();
        proxy.cutAll();
        int atCrash = published.get();
        Await.until(() -> published.get() >= atCrash + 20, WAIT, "20 ticks published while the client is away");
        proxy.refuseNew(false);

        JsonNode again = client.next("connect", WAIT);
        assertThat(again.path("recovered").asBoolean()).isTrue();
        assertThat(again.path("id").asText()).isEqualTo(first.path("id").asText());
        Socket onB = b.sio().nextSocket();
        assertThat(onB.recovered()).isTrue();
        assertThat(onB.id()).isEqualTo(onA.id());
        int atRecovery = published.get();
        client.next(e -> isEvent(e, "tick") && e.path("args").get(0).asInt() >= atRecovery + 20,
                "20 ticks after the recovery", WAIT);
        publisher.shutdownNow();

        List<Integer> ticks = ticks(client);
        List<Integer> expected = new ArrayList<>();
        for (int i = 1; i <= ticks.size(); i++) {
            expected.add(i);
        }
        assertThat(ticks).as("every tick once, in order, across the crash").isEqualTo(expected);
        assertThat(ticks.size()).isGreaterThanOrEqualTo(atCrash + 20);
        // No goodbye from the crashed node: no DISCONNECT packet, no close frame, only a dead transport.
        assertThat(client.seen()).filteredOn(e -> e.path("e").asText().equals("disconnect")).singleElement()
                .satisfies(e -> {
                    assertThat(e.path("reason").asText()).isIn("transport close", "transport error");
                    assertThat(e.path("code").isNull() || e.path("code").asInt() == 1006).as("close code " + e).isTrue();
                });
        assertThat(b.sio().tether().stats().resumed()).isEqualTo(1);
        assertThat(b.sio().tether().stats().replayed()).isGreaterThanOrEqualTo(20);
        assertThat(b.errors()).isEmpty();
    }
}
