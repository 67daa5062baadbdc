package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.CloseCodes;
import dev.tether.core.Payload;
import dev.tether.core.SendResult;
import dev.tether.core.Session;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.testing.Await;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a third party who wrote a client from PROTOCOL.md alone found the server doing otherwise
 * (issue 13), checked with raw frames over a real socket against what the document now says.
 */
class ProtocolDocumentIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HELLO = "{\"t\":\"hello\",\"v\":1}";

    private Tether tether;
    private TetherServer server;

    private void start(TetherConfig.Builder config) {
        tether = Tether.create(config.drainTimeout(Duration.ZERO).build(), new SessionHandler() { });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    @AfterEach
    void stop() {
        if (tether != null) {
            tether.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private RawWebSocket connect() throws IOException {
        return RawWebSocket.connect(server.address(), "/tether");
    }

    private static JsonNode read(RawWebSocket raw) throws IOException {
        return JSON.readTree(raw.readText());
    }

    /** The next frame of type {@code t}, answering pings on the way. */
    private static JsonNode next(RawWebSocket raw, String t) throws IOException {
        for (;;) {
            JsonNode frame = read(raw);
            if (frame.path("t").asText().equals(t)) {
                return frame;
            }
            if (frame.path("t").asText().equals("ping")) {
                raw.sendText("{\"t\":\"pong\"}");
            }
        }
    }

    private static JsonNode hello(RawWebSocket raw) throws IOException {
        raw.sendText(HELLO);
        return next(raw, "welcome");
    }

    private static String resume(String sid, String token, long last) {
        return "{\"t\":\"hello\",\"v\":1,\"sid\":\"" + sid + "\",\"token\":\"" + token + "\",\"last\":" + last + "}";
    }

    /** §3.5: expired if this server issued the sid, unknown if it never did, its prefix or not. */
    @Test
    void aResumeOfANeverIssuedSidIsUnknownAndOfAnExpiredOneExpired() throws Exception {
        start(TetherConfig.builder().sessionRetention(Duration.ofMillis(200)));
        JsonNode issued;
        try (RawWebSocket raw = connect()) {
            issued = hello(raw);
            raw.sendClose(CloseCodes.GOING_AWAY, "away"); // resumable: the session waits for its window
            raw.readCloseCode();
        }
        String sid = issued.path("sid").asText();
        Await.until(() -> tether.session(sid).isEmpty(), Duration.ofSeconds(10), "session " + sid + " expired");
        String prefix = sid.substring(0, sid.indexOf('.') + 1);

        assertThat(failedResume(resume(sid, issued.path("token").asText(), 0))).isEqualTo("expired");
        assertThat(failedResume(resume(prefix + "AAAAAAAAAAAAAAAAAAAA", "x", 0))).isEqualTo("unknown");
        assertThat(failedResume(resume("elsewhere.AAAAAAAAAAAAAAAAAAAA", "x", 0))).isEqualTo("unknown");
    }

    private String failedResume(String hello) throws IOException {
        try (RawWebSocket raw = connect()) {
            raw.sendText(hello);
            JsonNode welcome = next(raw, "welcome");
            assertThat(welcome.path("resumed").asBoolean()).isFalse();
            assertThat(welcome.path("gap").path("from").asLong()).isZero();
            return welcome.path("gap").path("reason").asText();
        }
    }

    /** §2, §7: no 'ack' (never 'ack':0) until the server acknowledged a client message. */
    @Test
    void aPingHasNoAckUntilTheServerAcknowledgedAClientMessage() throws Exception {
        start(TetherConfig.builder().heartbeatInterval(Duration.ofMillis(200)).heartbeatTimeout(Duration.ofMillis(200)));
        try (RawWebSocket raw = connect()) {
            hello(raw);
            JsonNode first = next(raw, "ping");
            assertThat(first.has("ack")).as(first.toString()).isFalse();
            raw.sendText("{\"t\":\"pong\"}");
            raw.sendText("{\"t\":\"msg\",\"seq\":1,\"e\":\"x\"}");
            JsonNode ping = next(raw, "ping");
            while (!ping.has("ack")) { // one may have been on its way before the message arrived
                raw.sendText("{\"t\":\"pong\"}");
                ping = next(raw, "ping");
            }
            assertThat(ping.path("ack").asLong()).isEqualTo(1);
        }
    }

    /**
     * §1: the handshake rate admits its burst at once, then the rate; the rest get 503 + Retry-After: 1
     * (here with no wait for a turn; the wait is {@link HandshakeDelayIT}'s).
     */
    @Test
    void handshakesBeyondTheBurstAndTheRateGet503WithRetryAfterOne() throws Exception {
        int rate = 4;
        int burst = 3;
        start(TetherConfig.builder().maxHandshakesPerSecond(rate).handshakeBurst(burst).handshakeMaxDelay(Duration.ZERO));
        long startNanos = System.nanoTime();
        int upgraded = 0;
        for (int i = 0; i < 12; i++) {
            RawWebSocket.HttpHead answer = RawWebSocket.upgradeResponse(server.address(), "/tether", Map.of());
            if (answer.status() == 101) {
                upgraded++;
            } else {
                assertThat(answer.status()).isEqualTo(503);
                assertThat(answer.header("Retry-After")).isEqualTo("1");
            }
        }
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        // The bucket starts full: the burst always passes; beyond it, the rate over the time taken.
        assertThat(upgraded).isBetween(burst, burst + (int) Math.ceil(seconds * rate));
    }

    /** §4, §6: a request must be reliable and cannot be a publish. */
    @Test
    void aRequestWithoutSeqOrWithATopicClosesWithBadRequest() throws Exception {
        start(TetherConfig.builder());
        for (String request : List.of("{\"t\":\"msg\",\"rid\":1,\"e\":\"ask\"}",
                "{\"t\":\"msg\",\"seq\":1,\"rid\":1,\"e\":\"ask\",\"topic\":\"room\"}")) {
            try (RawWebSocket raw = connect()) {
                hello(raw);
                raw.sendText(request);
                RawWebSocket.WireFrame close = raw.readClose();
                assertThat(close.closeCode()).as(request).isEqualTo(CloseCodes.BAD_REQUEST);
                assertThat(close.closeReason()).as(request).isNotEmpty();
            }
        }
    }

    /** §2: an unknown frame type is ignored after hello, text or binary; as a first frame it closes. */
    @Test
    void anUnknownFrameTypeIsIgnoredAfterHelloAndClosesBeforeIt() throws Exception {
        start(TetherConfig.builder());
        try (RawWebSocket raw = connect()) {
            hello(raw);
            raw.sendText("{\"t\":\"presence\",\"id\":\"not a number\",\"topic\":[1]}");
            byte[] header = "{\"t\":\"upload\"}".getBytes(StandardCharsets.UTF_8);
            byte[] binary = ByteBuffer.allocate(4 + header.length + 3).putInt(header.length).put(header)
                    .put(new byte[] {1, 2, 3}).array();
            raw.sendBinary(binary);
            raw.sendText("{\"t\":\"msg\",\"seq\":1,\"rid\":7,\"e\":\"ask\"}");
            JsonNode reply = next(raw, "reply");
            assertThat(reply.path("rid").asLong()).isEqualTo(7);
            assertThat(reply.path("err").path("code").asText()).as("still served").isEqualTo("unhandled");
        }
        try (RawWebSocket raw = connect()) {
            raw.sendText("{\"t\":\"presence\"}");
            assertThat(raw.readCloseCode()).isEqualTo(CloseCodes.BAD_REQUEST);
        }
    }

    /**
     * §5.3, §9: a slow consumer is closed with 4009 at the first loss, without the gap; after its
     * resume it gets what was queued, then the gap, then new messages numbered after it.
     */
    @Test
    void aSlowConsumerGetsItsGapInSequenceAfterItsResumeNotBeforeTheClose() throws Exception {
        start(TetherConfig.builder().replayBufferMessages(4).outboundQueueCapacity(8).volatileQueueLimit(0));
        String sid;
        String token;
        int enqueued = 0;
        int lost = 0;
        List<JsonNode> beforeClose = new ArrayList<>();
        RawWebSocket.WireFrame close;
        try (RawWebSocket raw = connect()) {
            JsonNode welcome = hello(raw);
            sid = welcome.path("sid").asText();
            token = welcome.path("token").asText();
            Session session = tether.session(sid).orElseThrow();
            // Nothing is acknowledged: 4 messages go out and fill the replay buffer, the queue fills behind.
            SendResult result;
            while ((result = session.send("n", Payload.text(Integer.toString(enqueued + 1)))) == SendResult.ENQUEUED) {
                enqueued++;
            }
            assertThat(result).isEqualTo(SendResult.OVERFLOW);
            for (lost = 1; lost < 3; lost++) {
                assertThat(session.send("n", Payload.EMPTY)).isEqualTo(SendResult.OVERFLOW);
            }
            for (;;) {
                RawWebSocket.WireFrame frame = raw.readFrame();
                if (frame.isClose()) {
                    close = frame;
                    break;
                }
                if (frame.opcode() == RawWebSocket.OP_TEXT) {
                    beforeClose.add(JSON.readTree(frame.payload()));
                }
            }
        }
        assertThat(close.closeCode()).isEqualTo(CloseCodes.SLOW_CONSUMER);
        assertThat(beforeClose).extracting(f -> f.path("seq").asLong()).containsExactly(1L, 2L, 3L, 4L);

        try (RawWebSocket raw = connect()) {
            raw.sendText(resume(sid, token, 4));
            JsonNode welcome = next(raw, "welcome");
            assertThat(welcome.path("resumed").asBoolean()).isTrue();
            assertThat(welcome.has("gap")).isFalse();
            for (int seq = 5; seq <= enqueued; seq++) {
                JsonNode m = next(raw, "msg");
                assertThat(m.path("seq").asLong()).isEqualTo(seq);
                assertThat(m.path("d").asText()).isEqualTo(Integer.toString(seq));
                raw.sendText("{\"t\":\"ack\",\"seq\":" + seq + "}");
            }
            JsonNode gap = next(raw, "gap");
            assertThat(gap.path("from").asLong()).isEqualTo(enqueued + 1);
            assertThat(gap.path("to").asLong()).isEqualTo(enqueued + lost);
            assertThat(gap.path("reason").asText()).isEqualTo("overflow");
            tether.session(sid).orElseThrow().send("n", Payload.text("after"));
            JsonNode after = next(raw, "msg");
            assertThat(after.path("seq").asLong()).isEqualTo(enqueued + lost + 1);
            assertThat(after.path("d").asText()).isEqualTo("after");
        }
        assertThat(tether.stats().gaps()).isEqualTo(1);
    }
}
