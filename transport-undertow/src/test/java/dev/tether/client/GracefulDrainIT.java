package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.CloseCodes;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Authorizer;
import dev.tether.undertow.TetherServer;
import dev.tether.undertow.TetherUndertowConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Graceful drain with 1,000 clients: everything published before close() is delivered, every
 * client comes back to a second server instance on the same port, and the returns are spread over
 * the announced window rather than arriving in lock-step.
 */
class GracefulDrainIT {

    private static final int CLIENTS = 1_000;
    private static final int MESSAGES = 20;
    private static final Duration WINDOW_MIN = Duration.ofMillis(500);
    private static final Duration WINDOW_MAX = Duration.ofMillis(2_500);
    /** Clients subscribe to "news" themselves (again on the second server); only the servers publish. */
    private static final Authorizer NEWS = Authorizer.topics("news"::equals, topic -> false);

    private final List<TetherClient> clients = new ArrayList<>();
    private Tether first;
    private TetherServer firstServer;
    private Tether second;
    private TetherServer secondServer;

    @AfterEach
    void stop() {
        clients.forEach(TetherClient::close);
        for (AutoCloseable c : new AutoCloseable[] {second, secondServer, first, firstServer}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    @Test
    void drainDeliversEverythingAndClientsReturnSpreadOverTheWindow() throws Exception {
        first = Tether.create(TetherConfig.builder().drainTimeout(Duration.ofSeconds(20)).authorizer(NEWS)
                .drainReconnectWindow(WINDOW_MIN, WINDOW_MAX).build(), new SessionHandler() { });
        firstServer = TetherServer.start(first, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        int port = firstServer.port();
        URI uri = URI.create("ws://127.0.0.1:" + port + "/tether");
        HttpClient http = HttpClient.newHttpClient();

        CountDownLatch delivered = new CountDownLatch(CLIENTS * MESSAGES);
        CountDownLatch returned = new CountDownLatch(CLIENTS);
        List<ConcurrentLinkedQueue<Integer>> seen = new ArrayList<>();
        List<AtomicLong> awayMs = new ArrayList<>();
        List<CompletableFuture<Void>> ready = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            ConcurrentLinkedQueue<Integer> mine = new ConcurrentLinkedQueue<>();
            AtomicLong leftAt = new AtomicLong();
            AtomicLong away = new AtomicLong(-1);
            seen.add(mine);
            awayMs.add(away);
            TetherClient client = TetherClient.builder(uri).httpClient(http)
                    .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
                    .listener(new TetherClient.Listener() {
                        @Override
                        public void onMessage(TetherClient c, Message message) {
                            mine.add(Integer.parseInt(message.payload().asText()));
                            delivered.countDown();
                        }

                        @Override
                        public void onDisconnected(TetherClient c, int code, String reason) {
                            if (code == CloseCodes.SERVER_RESTART) {
                                leftAt.set(System.nanoTime());
                            }
                        }

                        @Override
                        public void onOpen(TetherClient c, boolean resumed) {
                            if (leftAt.get() != 0 && away.compareAndSet(-1,
                                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - leftAt.get()))) {
                                returned.countDown();
                            }
                        }
                    }).build();
            clients.add(client);
            ready.add(client.connect().thenCompose(c -> c.subscribe("news")));
        }
        CompletableFuture.allOf(ready.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

        for (int n = 0; n < MESSAGES; n++) {
            first.publish("news", "n", Payload.text(Integer.toString(n)));
        }
        first.close(); // drains: delivered and acknowledged, then 4012 with a reconnect delay each
        assertThat(first.stats().pendingAcks()).as("acknowledged before the close").isZero();
        firstServer.close();
        second = Tether.create(TetherConfig.builder().authorizer(NEWS).build(), new SessionHandler() { });
        secondServer = TetherServer.start(second, TetherUndertowConfig.builder().host("127.0.0.1").port(port).build());

        assertThat(delivered.await(30, TimeUnit.SECONDS)).as("everything published before close").isTrue();
        assertThat(returned.await(60, TimeUnit.SECONDS)).as("every client back on the second server").isTrue();
        assertThat(second.stats().sessions()).isEqualTo(CLIENTS);
        List<Integer> expected = new ArrayList<>();
        for (int n = 0; n < MESSAGES; n++) {
            expected.add(n);
        }
        for (ConcurrentLinkedQueue<Integer> mine : seen) {
            assertThat(List.copyOf(mine)).isEqualTo(expected);
        }

        // Spread: no client came back before the window opened, and the returns fill the window.
        long[] buckets = new long[5];
        long width = (WINDOW_MAX.toMillis() - WINDOW_MIN.toMillis()) / buckets.length;
        long earliest = Long.MAX_VALUE;
        for (AtomicLong away : awayMs) {
            long ms = away.get();
            earliest = Math.min(earliest, ms);
            int b = (int) Math.min(buckets.length - 1, Math.max(0, (ms - WINDOW_MIN.toMillis()) / width));
            buckets[b]++;
        }
        assertThat(earliest).as("earliest return (ms)").isGreaterThanOrEqualTo(WINDOW_MIN.toMillis());
        System.out.println("GracefulDrainIT: returns per " + width + " ms bucket from " + WINDOW_MIN.toMillis()
                + " ms: " + java.util.Arrays.toString(buckets));
        for (long count : buckets) {
            assertThat(count).as("returns in every part of the window: %s", java.util.Arrays.toString(buckets))
                    .isGreaterThan(CLIENTS / 50);
        }
    }
}
