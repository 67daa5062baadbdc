package dev.tether.undertow;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RFC 6455 framing rules with hand-built frames (a first part of the hardening suite): each
 * violation gets its exact close code, and well-formed edge cases are accepted.
 */
class RawFrameConformanceIT {

    private static final byte[] HELLO = "{\"t\":\"hello\",\"v\":1}".getBytes(StandardCharsets.UTF_8);

    private Tether tether;
    private TetherServer server;

    @BeforeEach
    void start() {
        tether = Tether.create(TetherConfig.builder().drainTimeout(Duration.ZERO).build(), new SessionHandler() { });
        server = TetherServer.start(tether, TetherUndertowConfig.builder().host("127.0.0.1").port(0).build());
    }

    @AfterEach
    void stop() {
        tether.close();
        server.close();
    }

    private RawWebSocket open() throws Exception {
        return RawWebSocket.connect(server.address(), "/tether");
    }

    @Test
    void rsvBitsWithoutAnExtensionAreAProtocolError() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(true, 0b100, RawWebSocket.OP_TEXT, HELLO);
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    @Test
    void reservedOpcodesAreAProtocolError() throws Exception {
        for (int opcode : new int[] {0x3, 0x7, 0xB, 0xF}) {
            try (RawWebSocket raw = open()) {
                raw.sendFrame(true, opcode, new byte[] {1});
                assertThat(raw.readCloseCode()).as("opcode %x", opcode).isEqualTo(1002);
            }
        }
    }

    @Test
    void aControlFrameOver125BytesIsAProtocolError() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(true, RawWebSocket.OP_PING, new byte[126]);
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    @Test
    void aFragmentedControlFrameIsAProtocolError() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(false, RawWebSocket.OP_PING, new byte[] {1});
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    @Test
    void aContinuationWithoutAStartIsAProtocolError() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(true, RawWebSocket.OP_CONTINUATION, HELLO);
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    @Test
    void invalidUtf8TextIsClosedWith1007EvenSplitAcrossFragments() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(true, RawWebSocket.OP_TEXT, new byte[] {'"', (byte) 0xC3, (byte) 0x28, '"'});
            assertThat(raw.readCloseCode()).isEqualTo(1007);
        }
        try (RawWebSocket raw = open()) {
            raw.sendFrame(false, RawWebSocket.OP_TEXT, new byte[] {'"', (byte) 0xE2, (byte) 0x82});
            raw.sendFrame(true, RawWebSocket.OP_CONTINUATION, new byte[] {(byte) 0x28, '"'});
            assertThat(raw.readCloseCode()).isEqualTo(1007);
        }
    }

    @Test
    void anUnmaskedClientFrameIsAProtocolError() throws Exception {
        try (RawWebSocket raw = open()) {
            ByteBuffer frame = ByteBuffer.allocate(2 + HELLO.length);
            frame.put((byte) 0x81).put((byte) HELLO.length).put(HELLO);
            raw.sendRaw(frame.array());
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    @Test
    void aPingIsAnsweredWithAPongCarryingItsPayload() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(true, RawWebSocket.OP_PING, new byte[] {7, 8, 9});
            RawWebSocket.WireFrame pong = raw.readFrame();
            assertThat(pong.opcode()).isEqualTo(RawWebSocket.OP_PONG);
            assertThat(pong.payload()).containsExactly(7, 8, 9);
        }
    }

    @Test
    void helloInOneByteTcpWritesIsAccepted() throws Exception {
        try (RawWebSocket raw = open()) {
            ByteBuffer frame = ByteBuffer.allocate(2 + 4 + HELLO.length);
            frame.put((byte) 0x81).put((byte) (0x80 | HELLO.length)).putInt(0).put(HELLO);
            for (byte b : frame.array()) {
                raw.sendRaw(new byte[] {b});
            }
            assertThat(raw.readText()).contains("\"welcome\"");
        }
    }
}
