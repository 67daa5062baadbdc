package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.Tether;
import java.io.IOException;
import org.junit.jupiter.api.DisplayName;

/**
 * The RFC 6455 raw-frame suite ({@link RawFrameConformance}) against the native endpoint,
 * {@code /tether}: the session opens with {@code hello} (answered {@code welcome}), and a
 * {@code sub} frame padded with a field the server ignores is answered {@code ok} with its id.
 */
@DisplayName("native endpoint /tether")
class RawFrameConformanceIT extends RawFrameConformance {

    private static final String HELLO = "{\"t\":\"hello\",\"v\":1}";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    TetherServer startServer(Tether tether, TetherUndertowConfig config) {
        return TetherServer.start(tether, config);
    }

    @Override
    String target() {
        return "/tether";
    }

    @Override
    void readGreeting(RawWebSocket raw) {
        // The native protocol speaks first from the client: nothing to read.
    }

    @Override
    String hello() {
        return HELLO;
    }

    @Override
    void assertWelcomed(RawWebSocket raw) throws IOException {
        assertThat(JSON.readTree(raw.readText()).path("t").asText()).isEqualTo("welcome");
    }

    /** {@code {"t":"sub","id":id,"topic":"room","pad":"xx…"}}. */
    @Override
    String request(int id, int bytes) {
        String head = "{\"t\":\"sub\",\"id\":" + id + ",\"topic\":\"room\",\"pad\":\"";
        String tail = "\"}";
        return head + "x".repeat(bytes - head.length() - tail.length()) + tail;
    }

    /** {@code {"t":"ok","id":id}}. */
    @Override
    void assertAnswered(RawWebSocket raw, int id, int bytes) throws IOException {
        JsonNode ok = JSON.readTree(raw.readText());
        assertThat(ok.path("t").asText()).isEqualTo("ok");
        assertThat(ok.path("id").asInt()).isEqualTo(id);
    }

    @Override
    String garbage() {
        return "not json";
    }

    @Override
    String garbageReason() {
        return "malformed JSON";
    }

    @Override
    String emptyMessageReason() {
        return "frame is not a JSON object";
    }
}
