package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.Tether;
import dev.tether.socketio.SocketIo;
import dev.tether.socketio.SocketIoConfig;
import java.io.IOException;
import org.junit.jupiter.api.DisplayName;

/**
 * The RFC 6455 raw-frame suite ({@link RawFrameConformance}) against the Socket.IO endpoint's
 * WebSocket transport, {@code /socket.io/?EIO=4&transport=websocket}: the server greets with the
 * Engine.IO open packet {@code 0{…}}, the session opens with the namespace CONNECT {@code 40}
 * (answered {@code 40{"sid":…}}), and an {@code echo} event with an ack id, padded with its own
 * argument, is acknowledged with the argument's length: {@code 42<id>["echo","xx…"]} →
 * {@code 43<id>[<length>]}.
 */
@DisplayName("Socket.IO endpoint /socket.io/?EIO=4&transport=websocket")
class SocketIoRawFrameConformanceIT extends RawFrameConformance {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    TetherServer startServer(Tether tether, TetherUndertowConfig config) {
        SocketIo io = SocketIo.create(tether, SocketIoConfig.defaults());
        io.on("connection", socket -> socket.on("echo", (args, ack) -> ack.send(args.get(0).asText().length())));
        return TetherServer.start(io, config);
    }

    @Override
    String target() {
        return "/socket.io/?EIO=4&transport=websocket";
    }

    /** The open packet, which announces the hub's message limit as {@code maxPayload}. */
    @Override
    void readGreeting(RawWebSocket raw) throws IOException {
        String open = raw.readText();
        assertThat(open).startsWith("0{");
        JsonNode handshake = JSON.readTree(open.substring(1));
        assertThat(handshake.path("sid").isTextual()).as("sid in %s", open).isTrue();
        assertThat(handshake.path("upgrades").isArray() && handshake.path("upgrades").isEmpty()).isTrue();
        assertThat(handshake.path("maxPayload").asInt()).isEqualTo(MAX_MESSAGE_BYTES);
    }

    @Override
    String hello() {
        return "40";
    }

    @Override
    void assertWelcomed(RawWebSocket raw) throws IOException {
        String connect = raw.readText();
        assertThat(connect).startsWith("40{");
        assertThat(JSON.readTree(connect.substring(2)).path("sid").isTextual()).as("sid in %s", connect).isTrue();
    }

    @Override
    String request(int id, int bytes) {
        String head = "42" + id + "[\"echo\",\"";
        String tail = "\"]";
        return head + "x".repeat(padding(id, bytes)) + tail;
    }

    @Override
    void assertAnswered(RawWebSocket raw, int id, int bytes) throws IOException {
        assertThat(raw.readText()).isEqualTo("43" + id + "[" + padding(id, bytes) + "]");
    }

    private static int padding(int id, int bytes) {
        return bytes - ("42" + id + "[\"echo\",\"").length() - "\"]".length();
    }

    @Override
    String garbage() {
        return "not json";
    }

    @Override
    String garbageReason() {
        return "unknown engine.io packet type";
    }

    @Override
    String emptyMessageReason() {
        return "empty packet";
    }
}
