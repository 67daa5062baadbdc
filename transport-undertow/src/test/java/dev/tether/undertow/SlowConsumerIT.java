package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.client.TetherClient;
import dev.tether.core.CloseCodes;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Stats;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Authorizer;
import dev.tether.testing.Await;
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
 * One client stops reading (and so acknowledging) while 1,000 others receive a topic stream: its
 * memory stays within the configured queue and replay bounds, it is closed as a slow consumer,
 * the others get every message, and when it comes back it gets everything the server still held
 * followed by an explicit gap for the rest.
 */
class SlowConsumerIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int OTHERS = 1_000;
    private static final int QUEUE = 256;
    private static final int REPLAY = 256;
    private static final int MESSAGES = 600;

    private final List<TetherClient> clients = new ArrayList<>();
    private Tether tether;
    private TetherServer server;

    @BeforeEach
    void start() {
        tether = Tether.create(TetherConfig.builder()
                .outboundQueueCapacity(QUEUE).volatileQueueLimit(QUEUE / 2).replayBufferMessages(REPLAY)
                .drainTimeout(java.time.Duration.ZERO)
                .authorizer(Authorizer.topics("stream"::equals, topic -> false)) // clients subscribe; the server publishes
                .build(), new SessionHandler() { });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    @AfterEach
    void stop() {
        clients.forEach(TetherClient::close);
        tether.close();
        server.close();
    }

    private static void awaitUntil(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        Await.until(condition, java.time.Duration.ofSeconds(60), what);
    }

    @Test
    void aClientThatStopsReadingIsBoundedClosedAndToldOfItsGapWhileOthersGetEverything() throws Exception {
        URI uri = URI.create("ws://127.0.0.1:" + server.port() + "/tether");
        HttpClient http = HttpClient.newHttpClient();
        CountDownLatch othersDone = new CountDownLatch(OTHERS * MESSAGES);
        List<ConcurrentLinkedQueue<Integer>> seen = new ArrayList<>();
        List<CompletableFuture<Void>> ready = new ArrayList<>();
        for (int i = 0; i < OTHERS; i++) {
            ConcurrentLinkedQueue<Integer> mine = new ConcurrentLinkedQueue<>();
            seen.add(mine);
            TetherClient client = TetherClient.builder(uri).httpClient(http).listener(new TetherClient.Listener() {
                @Override
                public void onMessage(TetherClient c, Message message) {
                    mine.add(Integer.parseInt(message.payload().asText()));
                    othersDone.countDown();
                }
            }).build();
            clients.add(client);
            ready.add(client.connect().thenCompose(c -> c.subscribe("stream")));
        }
        CompletableFuture.allOf(ready.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

        try (RawWebSocket slow = RawWebSocket.connect(server.address(), "/tether")) {
            slow.sendText("{\"t\":\"hello\",\"v\":1}");
            JsonNode welcome = JSON.readTree(slow.readText());
            slow.sendText("{\"t\":\"sub\",\"id\":1,\"topic\":\"stream\"}");
            assertThat(JSON.readTree(slow.readText()).path("t").asText()).isEqualTo("ok");
            Session slowSession = tether.session(welcome.path("sid").asText()).orElseThrow();

            // From here the slow client reads nothing and acknowledges nothing.
            // Published in batches the healthy clients can absorb: a burst larger than a queue
            // would overflow anyone, which is not what this test is about.
            for (int n = 1; n <= MESSAGES; n++) {
                tether.publish("stream", "n", Payload.text(Integer.toString(n)));
                if (n % 50 == 0) {
                    long target = (long) OTHERS * n;
                    awaitUntil(() -> (long) OTHERS * MESSAGES - othersDone.getCount() >= target, "batch delivered");
                }
            }
            assertThat(othersDone.await(60, TimeUnit.SECONDS)).as("every other client got every message").isTrue();
            // Once the healthy clients have acknowledged (every 32 messages or 200 ms), what the hub
            // still holds is the slow client's, and it is within its bounds.
            awaitUntil(() -> tether.stats().pendingAcks() <= REPLAY, "healthy clients acknowledged");
            Stats stats = tether.stats();
            assertThat(stats.slowConsumerCloses()).isEqualTo(1);
            assertThat(stats.reliableOverflowed()).isPositive();
            assertThat(stats.queued()).as("held for the slow client, within its queue bound").isLessThanOrEqualTo(QUEUE);
            assertThat(stats.pendingAcks()).as("unacknowledged, within the replay bound").isEqualTo(REPLAY);
            assertThat(slowSession.isClosed()).as("the slow session stays resumable").isFalse();
            assertThat(slow.readCloseCode()).isEqualTo(CloseCodes.SLOW_CONSUMER);

            // Reading again: a resume gets everything still held, in order, then the gap.
            try (RawWebSocket back = RawWebSocket.connect(server.address(), "/tether")) {
                back.sendText("{\"t\":\"hello\",\"v\":1,\"sid\":\"" + welcome.path("sid").asText() + "\",\"token\":\""
                        + welcome.path("token").asText() + "\",\"last\":0,\"attempt\":1}");
                assertThat(JSON.readTree(back.readText()).path("resumed").asBoolean()).isTrue();
                long expectedSeq = 1;
                int delivered = 0;
                JsonNode frame;
                while (true) {
                    frame = JSON.readTree(back.readText());
                    String t = frame.path("t").asText();
                    if (t.equals("gap")) {
                        break;
                    }
                    if (t.equals("msg")) {
                        assertThat(frame.path("seq").asLong()).isEqualTo(expectedSeq);
                        assertThat(frame.path("d").asText()).isEqualTo(Long.toString(expectedSeq));
                        expectedSeq++;
                        delivered++;
                        if (delivered % 64 == 0) {
                            back.sendText("{\"t\":\"ack\",\"seq\":" + (expectedSeq - 1) + "}");
                        }
                    }
                }
                assertThat(delivered).isBetween(REPLAY, REPLAY + QUEUE);
                assertThat(frame.path("from").asLong()).isEqualTo(delivered + 1);
                assertThat(frame.path("to").asLong()).isEqualTo(MESSAGES);
                assertThat(frame.path("reason").asText()).isEqualTo("overflow");
            }
        }
        List<Integer> expected = new ArrayList<>();
        for (int n = 1; n <= MESSAGES; n++) {
            expected.add(n);
        }
        for (ConcurrentLinkedQueue<Integer> mine : seen) {
            assertThat(List.copyOf(mine)).isEqualTo(expected);
        }
    }
}
