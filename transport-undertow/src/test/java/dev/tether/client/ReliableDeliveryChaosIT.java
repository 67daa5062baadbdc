package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.SendResult;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Stats;
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
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Reliable delivery under abrupt connection loss, both ways: real clients talk to a real server
 * through a proxy that resets random connections while both sides stream numbered messages.
 * Every application must see every message exactly once and in order.
 *
 * <p>Sizes come from system properties so that the same test is the larger benchmark run:
 * {@code -Dtether.chaos.clients=1000 -Dtether.chaos.serverMessages=10000
 * -Dtether.chaos.minCuts=3000}; {@code -Dtether.chaos.seed=N} replays a run.
 */
class ReliableDeliveryChaosIT {

    private static final int CLIENTS = Integer.getInteger("tether.chaos.clients", 200);
    private static final int SERVER_MESSAGES = Integer.getInteger("tether.chaos.serverMessages", 2_000);
    private static final int CLIENT_MESSAGES = Integer.getInteger("tether.chaos.clientMessages", 500);
    private static final int MIN_CUTS = Integer.getInteger("tether.chaos.minCuts", 300);
    /** Time between two rounds of server sends (one message to every client per round). */
    private static final long SERVER_PERIOD_US = Long.getLong("tether.chaos.serverPeriodUs", 5_000);
    private static final long CUT_MEAN_MS = Long.getLong("tether.chaos.cutMeanMs", 20);
    private static final long TIMEOUT_S = Long.getLong("tether.chaos.timeoutSeconds", 180);

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final Map<String, ConcurrentLinkedQueue<Integer>> serverReceived = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    private final List<TetherClient> clients = new ArrayList<>();
    private final ScheduledExecutorService pacer = Executors.newScheduledThreadPool(2);
    private Tether tether;
    private TetherServer server;
    private ChaosProxy proxy;

    @BeforeEach
    void start() throws Exception {
        int window = Integer.highestOneBit(Math.max(SERVER_MESSAGES, 1024) * 2 - 1);
        tether = Tether.create(TetherConfig.builder()
                // Bounds large enough for the whole stream: this test is about loss by the network,
                // not by policy (overflow has its own tests and gives an explicit gap).
                .outboundQueueCapacity(window)
                .volatileQueueLimit(0)
                .replayBufferMessages(window)
                .replayBufferBytes(64L * window)
                .authenticator(Authenticator.sync(request -> {
                    String name = request.bearerToken().orElseThrow();
                    return AuthResult.accept(() -> name);
                }))
                .build(), new SessionHandler() {
                    @Override
                    public void onOpen(Session session) {
                        sessions.put(session.principal().getName(), session);
                    }

                    @Override
                    public void onMessage(Session session, Message message) {
                        serverReceived.computeIfAbsent(session.principal().getName(), k -> new ConcurrentLinkedQueue<>())
                                .add(Integer.parseInt(message.payload().asText()));
                    }

                    @Override
                    public void onGap(Session session, long fromSeq, long toSeq, String reason) {
                        failures.add("server gap " + session.principal().getName() + " " + fromSeq + ".." + toSeq);
                    }

                    @Override
                    public void onResumeFailed(Session session, String previousSessionId, String reason) {
                        failures.add("resume failed " + session.principal().getName() + ": " + reason);
                    }
                });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        proxy = ChaosProxy.start(new InetSocketAddress("127.0.0.1", server.port()));
    }

    @AfterEach
    void stop() {
        pacer.shutdownNow();
        clients.forEach(TetherClient::close);
        proxy.close();
        tether.close();
        server.close();
    }

    @Test
    void noMessageIsLostOrDuplicatedInEitherDirectionWhileConnectionsAreCut() throws Exception {
        long seed = Long.getLong("tether.chaos.seed", ThreadLocalRandom.current().nextLong());
        System.out.printf("ReliableDeliveryChaosIT: %d clients, %d server->client and %d client->server messages each,"
                + " at least %d cuts, seed=%d%n", CLIENTS, SERVER_MESSAGES, CLIENT_MESSAGES, MIN_CUTS, seed);
        URI uri = URI.create("ws://127.0.0.1:" + proxy.port() + "/tether");
        HttpClient http = HttpClient.newHttpClient();
        List<ConcurrentLinkedQueue<Integer>> clientReceived = new ArrayList<>();
        CountDownLatch allToClients = new CountDownLatch(CLIENTS * SERVER_MESSAGES);
        List<CompletableFuture<TetherClient>> connecting = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            String name = "client-" + i;
            ConcurrentLinkedQueue<Integer> received = new ConcurrentLinkedQueue<>();
            clientReceived.add(received);
            TetherClient client = TetherClient.builder(uri).bearerToken(name).httpClient(http)
                    .reconnectBackoff(Duration.ofMillis(10), Duration.ofMillis(250))
                    .maxUnacked(Math.max(1024, CLIENT_MESSAGES))
                    .listener(new TetherClient.Listener() {
                        @Override
                        public void onMessage(TetherClient c, Message message) {
                            received.add(Integer.parseInt(message.payload().asText()));
                            allToClients.countDown();
                        }

                        @Override
                        public void onGap(TetherClient c, long fromSeq, long toSeq, String reason) {
                            failures.add("client gap " + name + " " + fromSeq + ".." + toSeq + " " + reason);
                        }

                        @Override
                        public void onSessionLost(TetherClient c, String reason, List<Message> unacknowledged) {
                            failures.add("session lost " + name + ": " + reason);
                        }

                        @Override
                        public void onClosed(TetherClient c, Throwable cause) {
                            if (cause != null) {
                                failures.add("client closed " + name + ": " + cause);
                            }
                        }
                    }).build();
            clients.add(client);
            connecting.add(client.connect());
        }
        CompletableFuture.allOf(connecting.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        awaitUntil(() -> sessions.size() == CLIENTS, "every session opened");

        proxy.startRandomCuts(seed, Duration.ofMillis(CUT_MEAN_MS));
        AtomicInteger serverRound = new AtomicInteger();
        AtomicLong refusedSends = new AtomicLong();
        CountDownLatch serverDone = new CountDownLatch(1);
        ScheduledFuture<?> serverSender = pacer.scheduleAtFixedRate(() -> {
            int k = serverRound.getAndIncrement();
            if (k >= SERVER_MESSAGES) {
                serverDone.countDown();
                return;
            }
            for (Session session : sessions.values()) {
                if (session.send("n", Payload.text(Integer.toString(k))) != SendResult.ENQUEUED) {
                    refusedSends.incrementAndGet();
                }
            }
        }, 0, SERVER_PERIOD_US, TimeUnit.MICROSECONDS);
        AtomicInteger clientRound = new AtomicInteger();
        CountDownLatch clientsDone = new CountDownLatch(1);
        long clientPeriodUs = SERVER_PERIOD_US * SERVER_MESSAGES / CLIENT_MESSAGES;
        ScheduledFuture<?> clientSender = pacer.scheduleAtFixedRate(() -> {
            int k = clientRound.getAndIncrement();
            if (k >= CLIENT_MESSAGES) {
                clientsDone.countDown();
                return;
            }
            for (TetherClient client : clients) {
                if (client.send("n", Payload.text(Integer.toString(k))) != SendResult.ENQUEUED) {
                    refusedSends.incrementAndGet();
                }
            }
        }, 0, clientPeriodUs, TimeUnit.MICROSECONDS);

        assertThat(serverDone.await(TIMEOUT_S, TimeUnit.SECONDS)).as("server sending finished").isTrue();
        assertThat(clientsDone.await(TIMEOUT_S, TimeUnit.SECONDS)).as("client sending finished").isTrue();
        serverSender.cancel(false);
        clientSender.cancel(false);
        awaitUntil(() -> proxy.cuts() >= MIN_CUTS, "at least " + MIN_CUTS + " cuts");
        proxy.stopRandomCuts();
        long cuts = proxy.cuts();

        boolean delivered = allToClients.await(TIMEOUT_S, TimeUnit.SECONDS);
        awaitUntil(() -> serverReceived.values().stream().mapToInt(ConcurrentLinkedQueue::size).sum()
                >= CLIENTS * CLIENT_MESSAGES, "every client message received by the server");
        Stats stats = tether.stats();
        long resumes = clients.stream().mapToLong(c -> c.stats().resumes()).sum();
        System.out.printf("ReliableDeliveryChaosIT: seed=%d cuts=%d client resumes=%d server resumed=%d"
                        + " replayed=%d duplicatesIn=%d%n",
                seed, cuts, resumes, stats.resumed(), stats.replayed(), stats.duplicatesIn());

        assertThat(failures).as("gaps, lost sessions or closed clients (seed %d)", seed).isEmpty();
        assertThat(refusedSends.get()).as("sends refused").isZero();
        assertThat(delivered).as("every server message delivered (seed %d)", seed).isTrue();
        assertThat(cuts).isGreaterThanOrEqualTo(MIN_CUTS);
        assertThat(stats.resumed()).as("sessions resumed").isPositive();
        List<Integer> toClients = sequence(SERVER_MESSAGES);
        for (int i = 0; i < CLIENTS; i++) {
            assertThat(List.copyOf(clientReceived.get(i))).as("client-%d received (seed %d)", i, seed)
                    .isEqualTo(toClients);
        }
        List<Integer> toServer = sequence(CLIENT_MESSAGES);
        for (int i = 0; i < CLIENTS; i++) {
            assertThat(List.copyOf(serverReceived.getOrDefault("client-" + i, new ConcurrentLinkedQueue<>())))
                    .as("server received from client-%d (seed %d)", i, seed).isEqualTo(toServer);
        }
    }

    private static List<Integer> sequence(int n) {
        List<Integer> expected = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            expected.add(k);
        }
        return expected;
    }

    private static void awaitUntil(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        Await.until(condition, Duration.ofSeconds(TIMEOUT_S), what);
    }
}
