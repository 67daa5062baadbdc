package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tether.core.InMemoryCluster;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.socketio.Socket;
import dev.tether.socketio.SocketIo;
import dev.tether.socketio.SocketIoConfig;
import dev.tether.testing.Await;
import dev.tether.testing.ChaosProxy;
import dev.tether.testing.LogCapture;
import dev.tether.testing.NodeSocketIoClient;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The graceful drain of a Socket.IO server with stock {@code socket.io-client}s: 300 of them (a
 * third WebSocket only, a third long-polling only, a third long-polling upgraded to WebSocket) on
 * node A of a two-node cluster ({@link InMemoryCluster}), behind a proxy that plays the load
 * balancer. Node A shuts down in the documented order, hub then server, while node B's
 * application keeps emitting to a room every client is in. Every client is sent away by a
 * transport close ("transport close", which socket.io-client reconnects from; never
 * "transport error"), at its own time within the drain window; Tether logs nothing at WARNING or
 * above; and every client, once the balancer sends it to B, recovers its session
 * ({@code socket.recovered === true}, the same id) with every room event it missed, once and in
 * order.
 *
 * <p>A cluster because that is where a drained client's session can be recovered: a single
 * server's sessions end with its hub.
 *
 * <p>Without a drain ({@code drainTimeout} 0) the hub closes every transport at once and stops;
 * the closes its transports report after its handler pool stopped change nothing and log
 * nothing, and every client and every server-side socket is still told.
 */
class SocketIoDrainIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int PER_KIND = 100;
    private static final int CLIENTS = 3 * PER_KIND;
    private static final Duration WINDOW_MIN = Duration.ofMillis(300);
    private static final Duration WINDOW_MAX = Duration.ofMillis(2300);
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);
    private static final String ROOM = "sio:/#room";

    private final InMemoryCluster cluster = new InMemoryCluster();
    /** Closed after each test, last registered first: clients, the proxy, then each node (hub, then server). */
    private final List<AutoCloseable> closing = new ArrayList<>();

    private record Node(Tether tether, SocketIo io, TetherServer server, Queue<Socket> recovered,
                        Queue<String> disconnects) {
        InetSocketAddress address() {
            return new InetSocketAddress("127.0.0.1", server.port());
        }
    }

    private Node startNode() {
        return startNode(TetherConfig.builder().broker(cluster.node())
                .drainTimeout(DRAIN_TIMEOUT).drainReconnectWindow(WINDOW_MIN, WINDOW_MAX));
    }

    private Node startNode(TetherConfig.Builder config) {
        Tether tether = Tether.create(config.build(), new SessionHandler() { });
        SocketIo io = SocketIo.create(tether, SocketIoConfig.builder().connectionStateRecovery(true).build());
        Queue<Socket> recovered = new ConcurrentLinkedQueue<>();
        Queue<String> disconnects = new ConcurrentLinkedQueue<>();
        io.on("connection", socket -> {
            socket.join("room");
            socket.onDisconnect(disconnects::add);
            if (socket.recovered()) {
                recovered.add(socket);
            }
        });
        TetherServer server = TetherServer.start(io, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        closing.add(server);
        closing.add(tether);
        return new Node(tether, io, server, recovered, disconnects);
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    /** Each socket's events of type {@code e}, in the order seen, indexed by socket. */
    private static List<List<JsonNode>> bySocket(NodeSocketIoClient client, String e) {
        List<List<JsonNode>> all = new ArrayList<>();
        for (int i = 0; i < PER_KIND; i++) {
            all.add(new ArrayList<>());
        }
        for (JsonNode n : client.seen()) {
            if (n.path("e").asText().equals(e)) {
                all.get(n.path("i").asInt()).add(n);
            }
        }
        return all;
    }

    /** Each socket's ticks, in the order received. */
    private static List<List<Integer>> ticks(NodeSocketIoClient client) {
        List<List<Integer>> all = new ArrayList<>();
        for (List<JsonNode> events : bySocket(client, "event")) {
            all.add(events.stream().filter(n -> n.path("name").asText().equals("tick"))
                    .map(n -> n.path("args").get(0).asInt()).toList());
        }
        return all;
    }

    private List<NodeSocketIoClient> startClients(String url, int perKind, String options) throws Exception {
        List<NodeSocketIoClient> clients = new ArrayList<>();
        for (String transports : List.of("\"transports\":[\"websocket\"],", "\"transports\":[\"polling\"],", "")) {
            NodeSocketIoClient client = NodeSocketIoClient.start(url, perKind, "{" + transports + options + "}");
            closing.add(client);
            clients.add(client);
        }
        for (NodeSocketIoClient client : clients) {
            client.next("all-connected", WAIT);
        }
        NodeSocketIoClient upgrading = clients.get(2);
        Await.until(() -> upgrading.seen().stream().filter(n -> n.path("e").asText().equals("upgrade")).count() == perKind,
                WAIT, "every default client upgraded to WebSocket");
        return clients;
    }

    private static boolean allSeeTick(List<NodeSocketIoClient> clients, int k) {
        for (NodeSocketIoClient client : clients) {
            for (List<Integer> ticks : ticks(client)) {
                if (ticks.isEmpty() || ticks.get(ticks.size() - 1) < k) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean allConnectedTwice(List<NodeSocketIoClient> clients) {
        for (NodeSocketIoClient client : clients) {
            for (List<JsonNode> connects : bySocket(client, "connect")) {
                if (connects.size() < 2) {
                    return false;
                }
            }
        }
        return true;
    }

    @Test
    void threeHundredClientsAreClosedSpreadOverTheWindowQuietlyAndRecoverOnTheOtherNode() throws Exception {
        LogCapture logs = LogCapture.start("dev.tether", Level.WARNING);
        closing.add(logs);
        Node b = startNode();
        Node a = startNode();
        ChaosProxy balancer = ChaosProxy.start(a.address());
        closing.add(balancer);
        List<NodeSocketIoClient> clients = startClients("http://127.0.0.1:" + balancer.port(), PER_KIND, "\"brief\":true");
        Await.until(() -> a.tether().subscribers(ROOM) == CLIENTS, WAIT, "every socket in the room");

        // Node B's application emits to the room all along: before, during and after A's drain.
        AtomicInteger published = new AtomicInteger();
        ScheduledExecutorService publisher = Executors.newSingleThreadScheduledExecutor();
        closing.add(publisher::shutdownNow);
        Runnable tick = () -> b.io().to("room").emit("tick", published.incrementAndGet());
        for (int k = 0; k < 3; k++) {
            publisher.submit(tick).get();
        }
        Await.until(() -> allSeeTick(clients, 3), WAIT, "the first ticks through node A");

        publisher.scheduleAtFixedRate(tick, 0, 50, TimeUnit.MILLISECONDS);
        long drainStartedMs = System.currentTimeMillis();
        a.tether().close();
        long hubClosedMs = System.currentTimeMillis();
        a.server().close();
        balancer.retarget(b.address());

        assertThat(Duration.ofMillis(hubClosedMs - drainStartedMs)).as("every client closed by the drain, none at its deadline")
                .isLessThan(DRAIN_TIMEOUT);
        List<Long> disconnectedAtMs = new ArrayList<>();
        for (NodeSocketIoClient client : clients) {
            for (int i = 0; i < PER_KIND; i++) {
                JsonNode gone = client.next(n -> n.path("e").asText().equals("disconnect"), "a disconnect", WAIT);
                assertThat(gone.path("reason").asText()).as("%s", gone).isEqualTo("transport close");
                disconnectedAtMs.add(gone.path("t").asLong() - drainStartedMs);
            }
        }
        disconnectedAtMs.sort(null);
        // Never before the window opens; the upper end is when the hub had seen every close (plus delivery).
        assertThat(disconnectedAtMs.get(0)).as("%s", disconnectedAtMs).isGreaterThanOrEqualTo(WINDOW_MIN.toMillis() - 20);
        assertThat(disconnectedAtMs.get(CLIENTS - 1)).as("%s", disconnectedAtMs)
                .isLessThan(hubClosedMs - drainStartedMs + 5_000);
        long middleHalfMs = disconnectedAtMs.get(3 * CLIENTS / 4) - disconnectedAtMs.get(CLIENTS / 4);
        assertThat(middleHalfMs).as("spread over the window, not in lock-step: %s", disconnectedAtMs)
                .isGreaterThanOrEqualTo((WINDOW_MAX.toMillis() - WINDOW_MIN.toMillis()) / 4);

        // On node B: every client recovers its session within the retention window.
        Await.until(() -> allConnectedTwice(clients), WAIT, "every client reconnected");
        for (NodeSocketIoClient client : clients) {
            List<List<JsonNode>> bySocket = bySocket(client, "connect");
            for (int i = 0; i < PER_KIND; i++) {
                List<JsonNode> connects = bySocket.get(i);
                assertThat(connects).as("client %d", i).hasSize(2);
                assertThat(connects.get(0).path("recovered").asBoolean()).isFalse();
                assertThat(connects.get(1).path("recovered").asBoolean()).as("%s", connects.get(1)).isTrue();
                assertThat(connects.get(1).path("id").asText()).isEqualTo(connects.get(0).path("id").asText());
            }
        }
        Await.until(() -> b.recovered().size() == CLIENTS, WAIT, "B's connection listeners saw every recovery");
        publisher.shutdownNow();
        assertThat(publisher.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        for (int k = 0; k < 3; k++) {
            tick.run();
        }
        int last = published.get();
        Await.until(() -> allSeeTick(clients, last), WAIT, "the last tick on every client");
        List<Integer> expected = new ArrayList<>();
        for (int k = 1; k <= last; k++) {
            expected.add(k);
        }
        for (NodeSocketIoClient client : clients) {
            List<List<Integer>> ticks = ticks(client);
            List<List<JsonNode>> disconnects = bySocket(client, "disconnect");
            for (int i = 0; i < PER_KIND; i++) {
                assertThat(ticks.get(i)).as("client %d: every tick once, in order, across the drain", i)
                        .isEqualTo(expected);
                assertThat(disconnects.get(i)).as("client %d", i).hasSize(1);
            }
        }
        assertThat(b.tether().stats().resumed()).isEqualTo(CLIENTS);
        assertThat(logs.records()).as("logged at WARNING or above:%s", logs.describe()).isEmpty();
    }

    @Test
    void withoutADrainEveryTransportClosesAtOnceAndLateReportsAreQuiet() throws Exception {
        LogCapture logs = LogCapture.start("dev.tether", Level.WARNING);
        closing.add(logs);
        Node node = startNode(TetherConfig.builder().drainTimeout(Duration.ZERO));
        int perKind = 30;
        List<NodeSocketIoClient> clients = startClients("http://127.0.0.1:" + node.server().port(), perKind,
                "\"reconnection\":false");
        Await.until(() -> node.tether().stats().connections() == 3 * perKind, WAIT, "every connection counted");

        node.tether().close();
        node.server().close();

        for (NodeSocketIoClient client : clients) {
            for (int i = 0; i < perKind; i++) {
                JsonNode gone = client.next(n -> n.path("e").asText().equals("disconnect"), "a disconnect", WAIT);
                assertThat(gone.path("reason").asText()).as("%s", gone).isEqualTo("transport close");
            }
        }
        Await.until(() -> node.disconnects().size() >= 3 * perKind, WAIT, "every socket's disconnect listener");
        assertThat(node.disconnects()).hasSize(3 * perKind).containsOnly("server shutting down");
        Await.until(() -> node.tether().stats().connections() == 0, WAIT, "every late close reached the hub");
        assertThat(logs.records()).as("logged at WARNING or above:%s", logs.describe()).isEmpty();
    }
}
