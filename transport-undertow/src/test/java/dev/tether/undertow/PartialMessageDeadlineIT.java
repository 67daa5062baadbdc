package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.CloseCodes;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A message must arrive whole within the read deadline: a message trickled too slowly is closed
 * with 1002 instead of holding the connection open forever. A frame header that declares an
 * enormous length is refused at once with 1009.
 */
class PartialMessageDeadlineIT {

    private Tether tether;
    private TetherServer server;

    @BeforeEach
    void start() {
        tether = Tether.create(TetherConfig.builder().drainTimeout(Duration.ZERO).build(), new SessionHandler() { });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .messageReadTimeout(Duration.ofMillis(300)).build());
    }

    @AfterEach
    void stop() {
        tether.close();
        server.close();
    }

    @Test
    void aHeaderDeclaringAHugeLengthWithNoPayloadIsRefusedAtTheHeaderNotTheDeadline() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            ByteBuffer header = ByteBuffer.allocate(14);
            header.put((byte) 0x81).put((byte) (0x80 | 127)).putLong(Long.MAX_VALUE).putInt(0x01020304);
            raw.sendRaw(header.array());
            assertThat(raw.readCloseCode()).isEqualTo(CloseCodes.MESSAGE_TOO_BIG);
        }
    }

    @Test
    void aTrickledMessageThatStopsHalfWayIsClosedAtTheDeadline() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            ByteBuffer frame = ByteBuffer.allocate(2 + 4 + 10);
            frame.put((byte) 0x81).put((byte) (0x80 | 100)).putInt(0); // declares 100 bytes, zero mask
            frame.put("{\"t\":\"hel".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).put((byte) ' ');
            raw.sendRaw(frame.array());
            assertThat(raw.readCloseCode()).isEqualTo(CloseCodes.PROTOCOL_ERROR);
        }
    }

    @Test
    void aMessageThatArrivesInTimeIsNotAffected() throws Exception {
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), "/tether")) {
            raw.sendText("{\"t\":\"hello\",\"v\":1}");
            assertThat(raw.readText()).contains("\"welcome\"");
            raw.sendText("{\"t\":\"sub\",\"id\":1,\"topic\":\"x\"}");
            assertThat(raw.readText()).contains("\"ok\"");
        }
    }
}
