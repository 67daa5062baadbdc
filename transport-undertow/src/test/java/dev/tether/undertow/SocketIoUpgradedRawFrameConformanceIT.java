package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;

/**
 * The RFC 6455 raw-frame suite ({@link RawFrameConformance}) against the Socket.IO WebSocket that
 * upgrades a long-polling session, {@code /socket.io/?EIO=4&transport=websocket&sid=<sid>}: a
 * different upgrade path from a WebSocket-only client's (the probe, then the session moved onto
 * the WebSocket), with the same transport under it. Each upgrade request gets a fresh polling
 * session; after the upgrade the client probes ({@code 2probe} → {@code 3probe}) and completes it
 * ({@code 5}); then the protocol is {@link SocketIoRawFrameConformanceIT}'s.
 */
@DisplayName("Socket.IO endpoint upgraded from polling /socket.io/?EIO=4&transport=websocket&sid=…")
class SocketIoUpgradedRawFrameConformanceIT extends SocketIoRawFrameConformanceIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A test whose upgrade is refused leaves a polling session that nobody polls; a server that
     * stops waits up to the close timeout for a GET to hand that session its close packet.
     */
    @Override
    TetherUndertowConfig.Builder serverConfig() {
        return super.serverConfig().closeTimeout(Duration.ofSeconds(1));
    }

    /** A new long-polling session's upgrade target: the open packet's sid in the query. */
    @Override
    String target() {
        String path = "/socket.io/?EIO=4&transport=polling";
        try {
            RawWebSocket.HttpHead open = RawWebSocket.exchange(server.address(),
                    "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            assertThat(open.status()).isEqualTo(200);
            assertThat(open.body()).startsWith("0{");
            JsonNode handshake = JSON.readTree(open.body().substring(1));
            assertThat(handshake.path("upgrades").toString()).isEqualTo("[\"websocket\"]");
            assertThat(handshake.path("maxPayload").asInt()).isEqualTo(MAX_MESSAGE_BYTES);
            return "/socket.io/?EIO=4&transport=websocket&sid=" + handshake.path("sid").asText();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The probe and the upgrade: from then on the session runs on this WebSocket. */
    @Override
    void readGreeting(RawWebSocket raw) throws IOException {
        raw.sendText("2probe");
        assertThat(raw.readText()).isEqualTo("3probe");
        raw.sendText("5");
    }
}
