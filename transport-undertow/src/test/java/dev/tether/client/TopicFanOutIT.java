package dev.tether.client;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One topic, 1,000 real clients on loopback: every publish reaches every subscriber exactly once
 * and in order, and a volatile publish reaches every subscriber that is keeping up.
 */
class TopicFanOutIT {

    private static final int CLIENTS = 1_000;
    private static final int MESSAGES = 20;

    private final List<TetherClient> clients = new ArrayList<>();
    private Tether tether;
    private TetherServer server;
    private HttpClient http;

    @BeforeEach
    void start() {
        tether = Tether.create(TetherConfig.builder()
                .authorizer(Authorizer.topics("room"::equals, topic -> false)) // clients subscribe; the server publishes
                .build(), new SessionHandler() { });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
        http = HttpClient.newHttpClient();
    }

    @AfterEach
    void stop() {
        clients.forEach(TetherClient::close);
        tether.close();
        server.close();
    }

    @Test
    void everyPublishReachesAThousandSubscribersExactlyOnceInOrder() throws Exception {
        URI uri = URI.create("ws://127.0.0.1:" + server.port() + "/tether");
        CountDownLatch allReliable = new CountDownLatch(CLIENTS * MESSAGES);
        CountDownLatch allVolatile = new CountDownLatch(CLIENTS);
        List<ConcurrentLinkedQueue<Integer>> seen = new ArrayList<>();
        List<CompletableFuture<Void>> subscribed = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            ConcurrentLinkedQueue<Integer> mine = new ConcurrentLinkedQueue<>();
            seen.add(mine);
            TetherClient client = TetherClient.builder(uri).httpClient(http).listener(new TetherClient.Listener() {
                @Override
                public void onMessage(TetherClient c, Message message) {
                    if (message.event().equals("n")) {
                        mine.add(Integer.parseInt(message.payload().asText()));
                        allReliable.countDown();
                    } else if (message.event().equals("typing")) {
                        allVolatile.countDown();
                    }
                }
            }).build();
            clients.add(client);
            subscribed.add(client.connect().thenCompose(c -> c.subscribe("room")));
        }
        CompletableFuture.allOf(subscribed.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        assertThat(tether.subscribers("room")).isEqualTo(CLIENTS);

        for (int n = 0; n < MESSAGES; n++) {
            assertThat(tether.publish("room", "n", Payload.text(Integer.toString(n)))).isEqualTo(CLIENTS);
        }
        assertThat(tether.publishVolatile("room", "typing", Payload.EMPTY)).isEqualTo(CLIENTS);

        assertThat(allReliable.await(60, TimeUnit.SECONDS)).as("all reliable deliveries").isTrue();
        assertThat(allVolatile.await(60, TimeUnit.SECONDS)).as("all volatile deliveries").isTrue();
        List<Integer> expected = new ArrayList<>();
        for (int n = 0; n < MESSAGES; n++) {
            expected.add(n);
        }
        for (ConcurrentLinkedQueue<Integer> mine : seen) {
            assertThat(mine).containsExactlyElementsOf(expected);
        }
        assertThat(tether.stats().volatileDropped()).isZero();
        assertThat(tether.stats().reliableOverflowed()).isZero();
    }
}
