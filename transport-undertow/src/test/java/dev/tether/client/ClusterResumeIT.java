package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.InMemoryCluster;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.AuthResult;
import dev.tether.core.spi.Authenticator;
import dev.tether.testing.Await;
import dev.tether.testing.ChaosProxy;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two hubs joined by an {@link InMemoryCluster}, each with its own Undertow server, and real
 * clients behind a proxy that plays the load balancer: a publish on one node reaches the
 * subscribers of the other, and a client whose node goes away resumes on the other with every
 * message once and in order, both ways.
 */
class ClusterResumeIT {

    private final InMemoryCluster cluster = new InMemoryCluster();
    /** What the server applications of both nodes received, per client: one shared store, as a database would be. */
    private final Map<String, ConcurrentLinkedQueue<Integer>> serverReceived = new ConcurrentHashMap<>();
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> closing = new ArrayList<>();

    private record Node(Tether tether, TetherServer server) {
        InetSocketAddress address() {
            return new InetSocketAddress("127.0.0.1", server.port());
        }
    }

    private Node startNode() {
        Tether tether = Tether.create(TetherConfig.builder()
                .broker(cluster.node())
                .authenticator(Authenticator.sync(request -> {
                    String name = request.bearerToken().orElseThrow();
                    return AuthResult.accept(() -> name);
                }))
                .build(), new SessionHandler() {
                    @Override
                    public void onOpen(Session session) {
                        session.subscribe("room");
                    }

                    @Override
                    public void onMessage(Session session, Message message) {
                        serverReceived.computeIfAbsent(session.principal().getName(), k -> new ConcurrentLinkedQueue<>())
                                .add(Integer.parseInt(message.payload().asText()));
                    }

                    @Override
                    public void onResumeFailed(Session session, String previousSessionId, String reason) {
                        failures.add("resume failed: " + reason);
                    }
                });
        TetherServer server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        closing.add(0, tether);
        closing.add(0, server);
        return new Node(tether, server);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    private TetherClient client(ChaosProxy proxy, String name, ConcurrentLinkedQueue<Integer> received,
                                ConcurrentLinkedQueue<Boolean> opens) {
        TetherClient client = TetherClient.builder(URI.create("ws://127.0.0.1:" + proxy.port() + "/tether"))
                .bearerToken(name)
                .reconnectBackoff(Duration.ofMillis(10), Duration.ofMillis(200))
                .listener(new TetherClient.Listener() {
                    @Override
                    public void onOpen(TetherClient c, boolean resumed) {
                        opens.add(resumed);
                    }

                    @Override
                    public void onMessage(TetherClient c, Message message) {
                        received.add(Integer.parseInt(message.payload().asText()));
                    }

                    @Override
                    public void onGap(TetherClient c, long fromSeq, long toSeq, String reason) {
                        failures.add("client gap " + fromSeq + ".." + toSeq + " " + reason);
                    }

                    @Override
                    public void onSessionLost(TetherClient c, String reason, List<Message> unacknowledged) {
                        failures.add("session lost: " + reason);
                    }
                }).build();
        closing.add(0, client);
        return client;
    }

    private static List<Integer> upTo(int n) {
        List<Integer> all = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            all.add(i);
        }
        return all;
    }

    @Test
    void publishOnOneNodeReachesSubscribersOfTheOther() throws Exception {
        Node a = startNode();
        Node b = startNode();
        ChaosProxy proxy = ChaosProxy.start(a.address());
        closing.add(0, proxy);
        ConcurrentLinkedQueue<Integer> received = new ConcurrentLinkedQueue<>();
        client(proxy, "alice", received, new ConcurrentLinkedQueue<>()).connect().get(10, TimeUnit.SECONDS);
        Await.until(() -> a.tether().subscribers("room") == 1, Duration.ofSeconds(10), "alice subscribed on node A");

        for (int i = 1; i <= 100; i++) {
            b.tether().publish("room", "n", Payload.text(Integer.toString(i)));
        }

        Await.until(() -> received.size() >= 100, Duration.ofSeconds(10), "100 messages published on B reached A's client");
        assertThat(received).containsExactlyElementsOf(upTo(100));
        assertThat(b.tether().subscribers("room")).as("B has no local subscriber").isZero();
    }

    @Test
    void clientOfANodeThatGoesAwayResumesOnAnotherWithNothingLostOrDuplicated() throws Exception {
        Node a = startNode();
        Node b = startNode();
        ChaosProxy proxy = ChaosProxy.start(a.address());
        closing.add(0, proxy);
        ConcurrentLinkedQueue<Integer> received = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Boolean> opens = new ConcurrentLinkedQueue<>();
        TetherClient alice = client(proxy, "alice", received, opens);
        alice.connect().get(10, TimeUnit.SECONDS);
        Await.until(() -> a.tether().subscribers("room") == 1, Duration.ofSeconds(10), "alice subscribed on node A");

        int total = 600;
        for (int i = 1; i <= total; i++) {
            (i % 2 == 0 ? a : b).tether().publish("room", "n", Payload.text(Integer.toString(i)));
            alice.send("c", Payload.text(Integer.toString(i)));
            if (i == 200) {
                // Node A dies: its listener and connections go at once; the balancer sends newcomers to B.
                proxy.retarget(b.address());
                a.server().close();
                proxy.cutAll();
            }
            if (i > 200 && i % 100 == 0) {
                proxy.cutAll(); // and B's connections are cut too, now and then
            }
        }

        Await.until(() -> received.size() >= total && serverReceived.getOrDefault("alice", new ConcurrentLinkedQueue<>()).size() >= total,
                Duration.ofSeconds(30), "every message in both directions");
        assertThat(failures).isEmpty();
        assertThat(received).as("server to client: once each, in order").containsExactlyElementsOf(upTo(total));
        assertThat(serverReceived.get("alice")).as("client to server: once each, in order").containsExactlyElementsOf(upTo(total));
        List<Boolean> opened = List.copyOf(opens);
        assertThat(opened).as("opened once as new, then only resumed (on B, however often it was cut)")
                .first().isEqualTo(false);
        assertThat(opened.subList(1, opened.size())).as("every reconnect resumed").isNotEmpty().containsOnly(true);
    }
}
