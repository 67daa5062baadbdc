package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.CloseCodes;
import dev.tether.core.Message;
import dev.tether.core.Payload;
import dev.tether.core.Responder;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Misbehaviour stays with its connection: a handler blocked for 5 seconds does not delay other
 * sessions' heartbeats or deliveries; a flood over the rate limit and an oversized message are
 * closed with their codes while a bystander carries on.
 */
class HandlerIsolationIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration HEARTBEAT = Duration.ofMillis(200);
    private static final int MAX_MESSAGE_BYTES = 4096;

    private final CountDownLatch blocking = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private Tether tether;
    private TetherServer server;

    @BeforeEach
    void start() {
        tether = Tether.create(TetherConfig.builder()
                .heartbeatInterval(HEARTBEAT).heartbeatTimeout(HEARTBEAT.dividedBy(2))
                .inboundRateLimit(100, 200)
                .maxMessageBytes(MAX_MESSAGE_BYTES)
                .drainTimeout(Duration.ZERO)
                .build(), new SessionHandler() {
                    @Override
                    public void onMessage(Session session, Message message) {
                        if (message.event().equals("block")) {
                            blocking.countDown();
                            try {
                                // Blocks like a slow database call would, for up to 5 seconds.
                                release.await(5, TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }
                    }

                    @Override
                    public void onRequest(Session session, Message message, Responder responder) {
                        responder.reply(message.payload());
                    }
                });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    @AfterEach
    void stop() {
        release.countDown();
        tether.close();
        server.close();
    }

    @Test
    void aHandlerBlockedForFiveSecondsDelaysNeitherHeartbeatsNorDeliveryElsewhere() throws Exception {
        try (RawWebSocket blocker = RawWebSocket.connect(server.address(), "/tether");
             RawWebSocket other = RawWebSocket.connect(server.address(), "/tether")) {
            // Sent together: this raw client answers no pings, so it must not wait for a round trip.
            blocker.sendText("{\"t\":\"hello\",\"v\":1}");
            blocker.sendText("{\"t\":\"msg\",\"seq\":1,\"e\":\"block\"}");
            hello(other);
            assertThat(blocking.await(10, TimeUnit.SECONDS)).isTrue();
            long blockedAt = System.nanoTime();

            // While it blocks: the other session's requests are answered at once and its pings keep
            // coming on time. Each round waits for the next ping, so the rounds span ~6 intervals.
            int pings = 0;
            long lastPing = System.nanoTime();
            long maxPingGapMs = 0;
            for (int rid = 1; rid <= 6; rid++) {
                long sent = System.nanoTime();
                other.sendText("{\"t\":\"msg\",\"seq\":" + rid + ",\"rid\":" + rid + ",\"e\":\"echo\",\"d\":" + rid + "}");
                boolean replied = false;
                boolean pinged = false;
                while (!replied || !pinged) {
                    JsonNode frame = JSON.readTree(other.readText());
                    String t = frame.path("t").asText();
                    if (t.equals("ping")) {
                        long now = System.nanoTime();
                        maxPingGapMs = Math.max(maxPingGapMs, TimeUnit.NANOSECONDS.toMillis(now - lastPing));
                        lastPing = now;
                        pings++;
                        pinged = true;
                        other.sendText("{\"t\":\"pong\"}");
                    } else if (t.equals("reply")) {
                        assertThat(frame.path("rid").asLong()).isEqualTo(rid);
                        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent))
                                .as("reply %d while another session's handler blocks", rid).isLessThan(1_000);
                        replied = true;
                    }
                }
            }
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - blockedAt))
                    .as("all of it happened while the handler was blocked").isLessThan(5_000);
            assertThat(pings).as("heartbeats kept coming").isGreaterThanOrEqualTo(2);
            assertThat(maxPingGapMs).as("no heartbeat delayed").isLessThan(HEARTBEAT.toMillis() * 3);
            assertThat(blocking.getCount()).isZero();
            assertThat(release.getCount()).as("still blocked").isEqualTo(1);
        }
    }

    @Test
    void floodAndOversizeAreClosedWithTheirCodesWhileABystanderCarriesOn() throws Exception {
        try (RawWebSocket bystander = RawWebSocket.connect(server.address(), "/tether");
             RawWebSocket flood = RawWebSocket.connect(server.address(), "/tether");
             RawWebSocket big = RawWebSocket.connect(server.address(), "/tether")) {
            String sid = hello(bystander).path("sid").asText();
            hello(flood);
            hello(big);
            for (int seq = 1; seq <= 400; seq++) {
                flood.sendText("{\"t\":\"msg\",\"seq\":" + seq + ",\"e\":\"spam\"}");
            }
            assertThat(flood.readCloseCode()).isEqualTo(CloseCodes.RATE_LIMITED);
            big.sendText("{\"t\":\"msg\",\"seq\":1,\"e\":\"x\",\"d\":\"" + "a".repeat(MAX_MESSAGE_BYTES) + "\"}");
            assertThat(big.readCloseCode()).isEqualTo(CloseCodes.MESSAGE_TOO_BIG);

            Session session = tether.session(sid).orElseThrow();
            for (int n = 1; n <= 5; n++) {
                session.send("n", Payload.text(Integer.toString(n)));
            }
            for (int n = 1; n <= 5; n++) {
                JsonNode msg;
                do {
                    msg = JSON.readTree(bystander.readText());
                } while (!msg.path("t").asText().equals("msg"));
                assertThat(msg.path("seq").asLong()).isEqualTo(n);
            }
            assertThat(session.isConnected()).isTrue();
        }
    }

    private static JsonNode hello(RawWebSocket raw) throws Exception {
        raw.sendText("{\"t\":\"hello\",\"v\":1}");
        JsonNode welcome = JSON.readTree(raw.readText());
        assertThat(welcome.path("t").asText()).isEqualTo("welcome");
        return welcome;
    }
}
