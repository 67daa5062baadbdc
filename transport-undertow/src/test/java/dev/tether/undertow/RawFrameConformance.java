package dev.tether.undertow;

import static dev.tether.undertow.RawWebSocket.OP_BINARY;
import static dev.tether.undertow.RawWebSocket.OP_CLOSE;
import static dev.tether.undertow.RawWebSocket.OP_CONTINUATION;
import static dev.tether.undertow.RawWebSocket.OP_PING;
import static dev.tether.undertow.RawWebSocket.OP_PONG;
import static dev.tether.undertow.RawWebSocket.OP_TEXT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.CloseCodes;
import dev.tether.core.SessionHandler;
import dev.tether.core.Tether;
import dev.tether.core.TetherConfig;
import dev.tether.core.spi.Authorizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RFC 6455 conformance of a WebSocket endpoint of the Undertow transport with hand-built frames
 * over a plain socket ({@link RawWebSocket}), after the Autobahn|Testsuite case semantics: each
 * violation gets its exact close code or HTTP status, and each well-formed edge case gets its
 * answer. The display name of each test starts with the RFC section it checks; the case list is
 * printed after the run, one table per endpoint ({@link ConformanceCaseList}).
 *
 * <p>One subclass per endpoint (the native protocol, the Socket.IO WebSocket transport): the
 * endpoints share the transport, so every case holds for each; a subclass says how to start its
 * server, where to upgrade, and which messages of its protocol get an answer.
 *
 * <p>The server runs with {@value #MAX_MESSAGE_BYTES} bytes as the largest message and short
 * deadlines ({@link #READ_DEADLINE} for a message, {@link #PARSE_TIMEOUT} for the upgrade
 * request) so that the slow cases finish quickly. Messages that must be answered are padded with
 * a field the server ignores to the exact size under test ({@link #request(int, int)}).
 */
abstract class RawFrameConformance {

    @RegisterExtension
    static final ConformanceCaseList CASES = new ConformanceCaseList();

    static final int MAX_MESSAGE_BYTES = 65_536;
    static final Duration READ_DEADLINE = Duration.ofSeconds(2);
    static final Duration PARSE_TIMEOUT = Duration.ofSeconds(2);
    /** How late a deadline may fire on a busy two-core machine and still count as "at the deadline". */
    private static final Duration LATE = Duration.ofMillis(1500);

    Tether tether;
    TetherServer server;

    // ------------------------------------------------------------------ the endpoint under test

    /**
     * Starts the endpoint's server for {@code tether} (created with {@value #MAX_MESSAGE_BYTES}
     * bytes as the largest message) with {@code config} (loopback, any port, the suite's deadlines).
     */
    abstract TetherServer startServer(Tether tether, TetherUndertowConfig config);

    /** The request target of the upgrade: the endpoint's path and query. */
    abstract String target();

    /** Reads what the server sends by itself right after the upgrade, if anything. */
    abstract void readGreeting(RawWebSocket raw) throws IOException;

    /** The first message of a connection, which opens a session and is answered. */
    abstract String hello();

    /** Reads the answer to {@link #hello()}. */
    abstract void assertWelcomed(RawWebSocket raw) throws IOException;

    /**
     * A text message of a session that gets an answer naming {@code id}, padded to exactly
     * {@code bytes} bytes of UTF-8 with data the server ignores.
     */
    abstract String request(int id, int bytes);

    /** Reads the answer to {@code request(id, bytes)}. */
    abstract void assertAnswered(RawWebSocket raw, int id, int bytes) throws IOException;

    /** A well-formed text message (valid UTF-8) that is not a message of the endpoint's protocol. */
    abstract String garbage();

    /** The close reason of {@link #garbage()}, closed with 4500. */
    abstract String garbageReason();

    /** The close reason of an empty text message, closed with 4500. */
    abstract String emptyMessageReason();

    // ------------------------------------------------------------------ helpers

    @BeforeEach
    void start() {
        // The native endpoint's answered message is a client `sub` to "room" (RawFrameConformanceIT).
        tether = Tether.create(TetherConfig.builder().maxMessageBytes(MAX_MESSAGE_BYTES)
                .authorizer(Authorizer.topics("room"::equals, topic -> false))
                .drainTimeout(Duration.ZERO).build(), new SessionHandler() { });
        server = startServer(tether, serverConfig().build());
    }

    /** The server's configuration: loopback, any port, the suite's deadlines. */
    TetherUndertowConfig.Builder serverConfig() {
        return TetherUndertowConfig.builder().host("127.0.0.1").port(0)
                .messageReadTimeout(READ_DEADLINE).requestParseTimeout(PARSE_TIMEOUT);
    }

    @AfterEach
    void stop() {
        tether.close();
        server.close();
    }

    /** An upgraded connection, past the server's greeting. */
    private RawWebSocket open() throws IOException {
        RawWebSocket raw = RawWebSocket.connect(server.address(), target());
        try {
            readGreeting(raw);
            return raw;
        } catch (IOException | RuntimeException | AssertionError e) {
            raw.close();
            throw e;
        }
    }

    /** A connection that has said hello and got its welcome. */
    private RawWebSocket openWithSession() throws IOException {
        RawWebSocket raw = open();
        try {
            raw.sendText(hello());
            assertWelcomed(raw);
            return raw;
        } catch (IOException | RuntimeException | AssertionError e) {
            raw.close();
            throw e;
        }
    }

    /** {@link #request(int, int)} as bytes, checked to be exactly {@code bytes} long. */
    private byte[] padded(int id, int bytes) {
        byte[] message = request(id, bytes).getBytes(StandardCharsets.UTF_8);
        assertThat(message).as("padded request").hasSize(bytes);
        return message;
    }

    /** Splits {@code payload} into fragments of {@code size} bytes (the last may be shorter). */
    private static byte[][] fragments(byte[] payload, int size) {
        int count = (payload.length + size - 1) / size;
        byte[][] parts = new byte[count][];
        for (int i = 0; i < count; i++) {
            parts[i] = Arrays.copyOfRange(payload, i * size, Math.min(payload.length, (i + 1) * size));
        }
        return parts;
    }

    /** The frames of one fragmented message: the first with {@code opcode}, FIN on the last. */
    private static byte[] fragmentedMessage(int opcode, byte[][] parts) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < parts.length; i++) {
            bytes.writeBytes(RawWebSocket.frame(i == parts.length - 1, 0, i == 0 ? opcode : OP_CONTINUATION, parts[i]));
        }
        return bytes.toByteArray();
    }

    private static long millisSince(long startNs) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
    }

    /** Asserts that the server closed the connection with {@code code} and then the socket. */
    private static void assertClosedWith(RawWebSocket raw, int code) throws IOException {
        assertClosedWith(raw, code, null);
    }

    /** As {@link #assertClosedWith(RawWebSocket, int)}, with {@code reason} unless null. */
    private static void assertClosedWith(RawWebSocket raw, int code, String reason) throws IOException {
        RawWebSocket.WireFrame close = raw.readClose();
        assertThat(close.closeCode()).isEqualTo(code);
        if (reason != null) {
            assertThat(close.closeReason()).isEqualTo(reason);
        }
        try {
            raw.sendClose(code, ""); // the answer the closing handshake expects
        } catch (IOException e) {
            // the server may have closed the socket already
        }
        assertThat(raw.awaitEndOfStream()).isTrue();
    }

    // ------------------------------------------------------------------ §5.2 framing, lengths

    @ParameterizedTest(name = "§5.2 {0}-byte message ({1} length) → accepted and answered")
    @CsvSource({"125, 7-bit", "126, 16-bit", "65535, 16-bit", "65536, 64-bit"})
    void messagesOfEveryLengthEncodingAreAcceptedUpToTheLimit(int bytes, String encoding) throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendFrame(true, OP_TEXT, padded(bytes, bytes));
            assertAnswered(raw, bytes, bytes);
        }
    }

    @Test
    @DisplayName("§5.2 0-byte frames: an empty final fragment completes a message → answered")
    void anEmptyFinalFragmentCompletesAMessage() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendFrame(false, OP_TEXT, padded(1, 60));
            raw.sendFrame(false, OP_CONTINUATION, new byte[0]);
            raw.sendFrame(true, OP_CONTINUATION, new byte[0]);
            assertAnswered(raw, 1, 60);
        }
    }

    @Test
    @DisplayName("§5.6 0-byte text message reaches the protocol (malformed there) → 4500 with the protocol's reason")
    void anEmptyTextMessageIsDeliveredToTheProtocol() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendFrame(true, OP_TEXT, new byte[0]);
            assertClosedWith(raw, CloseCodes.BAD_REQUEST, emptyMessageReason());
        }
    }

    @Test
    @DisplayName("§5.6 text message that is valid UTF-8 but not the protocol's → 4500 with the protocol's reason")
    void aTextMessageTheProtocolCannotParseIsABadRequest() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendText(garbage());
            assertClosedWith(raw, CloseCodes.BAD_REQUEST, garbageReason());
        }
    }

    @Test
    @DisplayName("§5.2 frame written in 1-byte TCP segments → accepted and answered")
    void helloInOneByteTcpWritesIsAccepted() throws Exception {
        try (RawWebSocket raw = open()) {
            for (byte b : RawWebSocket.frame(true, 0, OP_TEXT, hello().getBytes(StandardCharsets.UTF_8))) {
                raw.sendRaw(new byte[] {b});
            }
            assertWelcomed(raw);
        }
    }

    @Test
    @DisplayName("§5.2 64-bit length with the most significant bit set → 1002")
    void aLengthWithTheTopBitSetIsAProtocolError() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendRaw(RawWebSocket.header64(OP_TEXT, 0x8000_0000_0000_0010L));
            assertClosedWith(raw, CloseCodes.PROTOCOL_ERROR);
        }
    }

    @Test
    @DisplayName("§5.2 64-bit length with the most significant bit set, header only (no masking key yet) → 1002 at the header")
    void aLengthWithTheTopBitSetIsRefusedAsItsHeaderArrives() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            long start = System.nanoTime();
            // The 10 bytes up to the length: refused before the masking key, not at the read deadline.
            raw.sendRaw(Arrays.copyOf(RawWebSocket.header64(OP_BINARY, 0xFFFF_FFFF_FFFF_FFFFL), 10));
            assertClosedWith(raw, CloseCodes.PROTOCOL_ERROR);
            assertThat(millisSince(start)).isLessThan(READ_DEADLINE.toMillis() / 2);
        }
    }

    @Test
    @DisplayName("§5.2 RSV bit set without a negotiated extension → 1002")
    void rsvBitsWithoutAnExtensionAreAProtocolError() throws Exception {
        for (int rsv : new int[] {0b100, 0b010, 0b001}) {
            try (RawWebSocket raw = open()) {
                raw.sendFrame(true, rsv, OP_TEXT, hello().getBytes(StandardCharsets.UTF_8));
                assertThat(raw.readCloseCode()).as("rsv %s", Integer.toBinaryString(rsv)).isEqualTo(1002);
            }
        }
    }

    @Test
    @DisplayName("§5.2 reserved opcodes 0x3-0x7, 0xB-0xF → 1002")
    void reservedOpcodesAreAProtocolError() throws Exception {
        for (int opcode : new int[] {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
            try (RawWebSocket raw = open()) {
                raw.sendFrame(true, opcode, new byte[] {1});
                assertThat(raw.readCloseCode()).as("opcode %x", opcode).isEqualTo(1002);
            }
        }
    }

    @Test
    @DisplayName("§5.1 unmasked client frame → 1002")
    void anUnmaskedClientFrameIsAProtocolError() throws Exception {
        try (RawWebSocket raw = open()) {
            byte[] hello = hello().getBytes(StandardCharsets.UTF_8);
            raw.sendRaw(ByteBuffer.allocate(2 + hello.length).put((byte) 0x81).put((byte) hello.length).put(hello).array());
            assertClosedWith(raw, 1002);
        }
    }

    // ------------------------------------------------------------------ §5.4 fragmentation

    @Test
    @DisplayName("§5.4 message in 200 fragments of 5 bytes → reassembled and answered")
    void aMessageInManyFragmentsIsReassembled() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendRaw(fragmentedMessage(OP_TEXT, fragments(padded(7, 1000), 5)));
            assertAnswered(raw, 7, 1000);
        }
    }

    @Test
    @DisplayName("§5.4 ping between fragments → pong at once, then the message is answered")
    void aPingBetweenFragmentsIsAnsweredAndTheMessageCompletes() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            byte[][] parts = fragments(padded(8, 300), 100);
            raw.sendFrame(false, OP_TEXT, parts[0]);
            raw.sendFrame(false, OP_CONTINUATION, parts[1]);
            raw.sendFrame(true, OP_PING, "mid-message".getBytes(StandardCharsets.UTF_8));
            RawWebSocket.WireFrame pong = raw.readFrame(); // before the message is complete
            assertThat(pong.opcode()).isEqualTo(OP_PONG);
            assertThat(pong.text()).isEqualTo("mid-message");
            raw.sendFrame(true, OP_CONTINUATION, parts[2]);
            assertAnswered(raw, 8, 300);
        }
    }

    @Test
    @DisplayName("§5.4 continuation frame with no message started → 1002")
    void aContinuationWithoutAStartIsAProtocolError() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(true, OP_CONTINUATION, hello().getBytes(StandardCharsets.UTF_8));
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    @Test
    @DisplayName("§5.4 new data frame while a fragmented message is open → 1002")
    void aNewMessageInsideAFragmentedOneIsAProtocolError() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendFrame(false, OP_TEXT, "{\"t\":".getBytes(StandardCharsets.UTF_8));
            raw.sendFrame(true, OP_TEXT, hello().getBytes(StandardCharsets.UTF_8));
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    // ------------------------------------------------------------------ §5.5 control frames

    @Test
    @DisplayName("§5.5.2 ping (empty and 125 bytes) → pong with the same payload")
    void aPingIsAnsweredWithAPongCarryingItsPayload() throws Exception {
        try (RawWebSocket raw = open()) {
            for (byte[] payload : new byte[][] {new byte[0], {7, 8, 9}, new byte[125]}) {
                Arrays.fill(payload, (byte) 42);
                raw.sendFrame(true, OP_PING, payload);
                RawWebSocket.WireFrame pong = raw.readFrame();
                assertThat(pong.opcode()).isEqualTo(OP_PONG);
                assertThat(pong.payload()).isEqualTo(payload);
            }
        }
    }

    @Test
    @DisplayName("§5.5.3 10 pings in one burst, then read → pongs for increasing pings, the last for the last "
            + "ping; the connection goes on")
    void aBurstOfPingsIsAnsweredUpToTheLastOne() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            ByteArrayOutputStream burst = new ByteArrayOutputStream();
            for (int i = 0; i < 10; i++) {
                burst.writeBytes(RawWebSocket.frame(true, 0, OP_PING, ("ping-" + i).getBytes(StandardCharsets.UTF_8)));
            }
            raw.sendRaw(burst.toByteArray());
            int answered = -1;
            int pongs = 0;
            while (answered < 9) {
                RawWebSocket.WireFrame pong = raw.readFrame();
                assertThat(pong.opcode()).isEqualTo(OP_PONG);
                assertThat(pong.text()).startsWith("ping-");
                int ping = Integer.parseInt(pong.text().substring("ping-".length()));
                assertThat(ping).as("a pong answers a later ping than the one before").isGreaterThan(answered);
                answered = ping;
                pongs++;
            }
            assertThat(pongs).isBetween(1, 10);
            raw.sendText(new String(padded(9, 100), StandardCharsets.UTF_8));
            assertAnswered(raw, 9, 100);
        }
    }

    @Test
    @DisplayName("§5.5.3 unsolicited pong → ignored, the connection goes on")
    void anUnsolicitedPongIsIgnored() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(true, OP_PONG, "unsolicited".getBytes(StandardCharsets.UTF_8));
            raw.sendText(hello());
            assertWelcomed(raw);
        }
    }

    @Test
    @DisplayName("§5.5 control frame with a 126-byte payload → 1002")
    void aControlFrameOver125BytesIsAProtocolError() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(true, OP_PING, new byte[126]);
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    @Test
    @DisplayName("§5.5 fragmented control frame (ping without FIN) → 1002")
    void aFragmentedControlFrameIsAProtocolError() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(false, OP_PING, new byte[] {1});
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    // ------------------------------------------------------------------ §5.5.1 / §7.4 close

    @Test
    @DisplayName("§5.5.1 close with an empty payload → close answered with 1000")
    void anEmptyCloseIsAnswered() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendFrame(true, OP_CLOSE, new byte[0]);
            // RFC 6455 allows an empty answer as well; this server always names a code.
            assertThat(raw.readCloseCode()).isEqualTo(1000);
            assertThat(raw.awaitEndOfStream()).isTrue();
        }
    }

    @ParameterizedTest(name = "§7.4.1 close with valid code {0} → echoed {0}")
    @ValueSource(ints = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999})
    void aValidCloseCodeIsEchoed(int code) throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendClose(code, "bye");
            assertThat(raw.readCloseCode()).isEqualTo(code);
            assertThat(raw.awaitEndOfStream()).isTrue();
        }
    }

    @ParameterizedTest(name = "§7.4.1 close with registered code {0} (IANA: restart, try again later, bad gateway) → echoed {0}")
    @ValueSource(ints = {1012, 1013, 1014})
    void aRegisteredCloseCodeIsEchoed(int code) throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendClose(code, "back soon");
            assertThat(raw.readCloseCode()).isEqualTo(code);
            assertThat(raw.awaitEndOfStream()).isTrue();
        }
    }

    @ParameterizedTest(name = "§7.4.2 close with invalid code {0} → 1002")
    @ValueSource(ints = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
    void anInvalidCloseCodeIsAProtocolError(int code) throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendClose(code, "");
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    @Test
    @DisplayName("§5.5.1 close with a 1-byte payload → 1002")
    void aOneByteClosePayloadIsAProtocolError() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendFrame(true, OP_CLOSE, new byte[] {0x03});
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    @Test
    @DisplayName("§5.5.1 close reason that is not UTF-8 → 1007")
    void aCloseReasonThatIsNotUtf8IsInvalidPayload() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendClose(1000, new byte[] {'b', (byte) 0xC3, (byte) 0x28, 'y'});
            assertThat(raw.readCloseCode()).isEqualTo(1007);
        }
    }

    @Test
    @DisplayName("§5.5 close reason of 124 bytes (control payload over 125) → 1002")
    void aCloseReasonTooLongIsAProtocolError() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendClose(1000, "r".repeat(124));
            assertThat(raw.readCloseCode()).isEqualTo(1002);
        }
    }

    // ------------------------------------------------------------------ §8.1 UTF-8

    @Test
    @DisplayName("§8.1 invalid UTF-8 in a text message, whole or split across fragments → 1007")
    void invalidUtf8TextIsClosedWith1007EvenSplitAcrossFragments() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(true, OP_TEXT, new byte[] {'"', (byte) 0xC3, (byte) 0x28, '"'});
            assertThat(raw.readCloseCode()).isEqualTo(1007);
        }
        try (RawWebSocket raw = open()) {
            raw.sendFrame(false, OP_TEXT, new byte[] {'"', (byte) 0xE2, (byte) 0x82});
            raw.sendFrame(true, OP_CONTINUATION, new byte[] {(byte) 0x28, '"'});
            assertThat(raw.readCloseCode()).isEqualTo(1007);
        }
    }

    @Test
    @DisplayName("§8.1 invalid UTF-8 in the first fragment fails fast, before the message ends → 1007")
    void invalidUtf8FailsFastOnTheFirstFragment() throws Exception {
        try (RawWebSocket raw = open()) {
            raw.sendFrame(false, OP_TEXT, new byte[] {'"', (byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80});
            assertThat(raw.readCloseCode()).isEqualTo(1007);
        }
    }

    // ------------------------------------------------------------------ §10.4 size limits

    @Test
    @DisplayName("§10.4 one frame of maxMessageBytes + 1 → 1009")
    void aFrameOverTheLimitIsTooBig() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendFrame(true, OP_TEXT, padded(1, MAX_MESSAGE_BYTES + 1));
            assertClosedWith(raw, CloseCodes.MESSAGE_TOO_BIG);
        }
    }

    @ParameterizedTest(name = "§10.4 header declaring {0} bytes, no payload → 1009 at the header")
    @ValueSource(longs = {MAX_MESSAGE_BYTES + 1, Integer.MAX_VALUE + 1L, Long.MAX_VALUE})
    void aHeaderDeclaringTooMuchIsRefusedAtTheHeader(long declared) throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            long start = System.nanoTime();
            raw.sendRaw(RawWebSocket.header64(OP_TEXT, declared));
            // 1009, not the read deadline's 1002: refused as the header arrived, nothing allocated.
            assertClosedWith(raw, CloseCodes.MESSAGE_TOO_BIG);
            assertThat(millisSince(start)).isLessThan(READ_DEADLINE.toMillis());
        }
    }

    @Test
    @DisplayName("§10.4 fragment header taking the message over the limit, no payload → 1009 at the header")
    void aFragmentHeaderTakingTheMessageOverTheLimitIsRefusedAtTheHeader() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            raw.sendFrame(false, OP_TEXT, Arrays.copyOf(padded(1, 60_000), 60_000));
            raw.sendRaw(ByteBuffer.allocate(8).put((byte) 0x00).put((byte) (0x80 | 126))
                    .putShort((short) 10_000).putInt(0).array()); // continuation header, payload never sent
            assertClosedWith(raw, CloseCodes.MESSAGE_TOO_BIG);
        }
    }

    @Test
    @DisplayName("§10.4 10,000 small fragments adding up over the limit → 1009")
    void manySmallFragmentsOverTheLimitAreTooBig() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            byte[] payload = new byte[10_000 * 7];
            Arrays.fill(payload, (byte) ' ');
            raw.sendRaw(fragmentedMessage(OP_BINARY, fragments(payload, 7)));
            assertClosedWith(raw, CloseCodes.MESSAGE_TOO_BIG);
        }
    }

    @Test
    @DisplayName("§10.4 fragments trickled over the limit across many TCP reads → 1009")
    void fragmentsTrickledOverTheLimitAreTooBig() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            byte[] chunk = new byte[1000];
            Arrays.fill(chunk, (byte) ' ');
            int sent = 0;
            raw.sendFrame(false, OP_TEXT, chunk);
            try {
                // 70 fragments in 250-byte writes, a millisecond apart: well within the read
                // deadline, and spread over many reads so that no single read sees the excess.
                for (sent = 1; sent < 70; sent++) {
                    byte[] frame = RawWebSocket.frame(sent == 69, 0, OP_CONTINUATION, chunk);
                    for (int offset = 0; offset < frame.length; offset += 250) {
                        raw.sendRaw(Arrays.copyOfRange(frame, offset, Math.min(frame.length, offset + 250)));
                        TimeUnit.MILLISECONDS.sleep(1); // pacing the trickle, not synchronisation
                    }
                }
            } catch (IOException e) {
                // the server may close the socket under the trickle once it has refused it
            }
            assertThat(sent).as("fragments sent before the refusal").isGreaterThan(MAX_MESSAGE_BYTES / 1000);
            assertThat(raw.readCloseCode()).isEqualTo(CloseCodes.MESSAGE_TOO_BIG);
        }
    }

    // ------------------------------------------------------------------ §7.1.7 / §10.4 deadlines

    @Test
    @DisplayName("§7.1.7 frame payload sent one byte a second (slowloris) → 1002 at the read deadline")
    void aFrameTrickledPastTheDeadlineIsClosedAtTheDeadline() throws Exception {
        ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
        try (RawWebSocket raw = openWithSession()) {
            byte[] frame = RawWebSocket.frame(true, 0, OP_TEXT, padded(9, 100));
            raw.sendRaw(Arrays.copyOf(frame, 6)); // the whole header: the message has begun
            long start = System.nanoTime();
            AtomicInteger next = new AtomicInteger(6);
            trickle.scheduleAtFixedRate(() -> {
                try {
                    raw.sendRaw(new byte[] {frame[next.getAndIncrement()]});
                } catch (IOException e) {
                    throw new RuntimeException(e); // closed: stops the trickle
                }
            }, 1, 1, TimeUnit.SECONDS);
            assertThat(raw.readCloseCode()).isEqualTo(CloseCodes.PROTOCOL_ERROR);
            long elapsed = millisSince(start);
            assertThat(elapsed).isBetween(READ_DEADLINE.toMillis() - 100, READ_DEADLINE.plus(LATE).toMillis());
            assertThat(next.get()).as("bytes sent").isLessThan(frame.length);
        } finally {
            trickle.shutdownNow();
            assertThat(trickle.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    @DisplayName("§7.1.7 frame that stops half-way → 1002 at the read deadline")
    void aFrameThatStopsHalfWayIsClosedAtTheDeadline() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            byte[] frame = RawWebSocket.frame(true, 0, OP_TEXT, padded(10, 100));
            long start = System.nanoTime();
            raw.sendRaw(Arrays.copyOf(frame, 50));
            assertClosedWith(raw, CloseCodes.PROTOCOL_ERROR);
            assertThat(millisSince(start)).isBetween(READ_DEADLINE.toMillis() - 100, READ_DEADLINE.plus(LATE).toMillis());
        }
    }

    @Test
    @DisplayName("§7.1.7 frame that stops half-way → 1002, then the socket ends at once, not at the close timeout")
    void aFrameThatStopsHalfWayEndsTheSocketWithoutWaitingForACloseThatCannotBeParsed() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            // A text frame of 100 bytes, masked with a key chosen so that the close frame below,
            // read as this frame's payload from offset 44 on, is valid UTF-8: the server cannot
            // tell it from payload, and must not wait for it (it did, for the whole close timeout).
            byte[] mask = {(byte) 0x88, (byte) 0x82, 0, 0};
            ByteBuffer frame = ByteBuffer.allocate(6 + 44).put((byte) 0x81).put((byte) (0x80 | 100)).put(mask);
            for (int i = 0; i < 44; i++) {
                frame.put((byte) ('a' ^ mask[i & 3]));
            }
            raw.sendRaw(frame.array());
            assertThat(raw.readClose().closeCode()).isEqualTo(CloseCodes.PROTOCOL_ERROR);
            long closed = System.nanoTime();
            // Our answer, close 1002 masked with {0x41, 0xC3, 0x08, 0x82}: under the text frame's
            // mask it reads 00 00 41 C3 80 00 42 29, valid UTF-8.
            raw.sendRaw(new byte[] {(byte) 0x88, (byte) 0x82, 0x41, (byte) 0xC3, 0x08, (byte) 0x82, 0x42, 0x29});
            assertThat(raw.awaitEndOfStream()).isTrue();
            assertThat(millisSince(closed)).as("the socket ended long before the close timeout")
                    .isLessThan(TetherUndertowConfig.DEFAULT_CLOSE_TIMEOUT.toMillis() / 2);
        }
    }

    @Test
    @DisplayName("§7.1.7 message of endless empty fragments (no size ever) → 1002 at the read deadline")
    void endlessEmptyFragmentsAreClosedAtTheDeadline() throws Exception {
        try (RawWebSocket raw = openWithSession()) {
            long start = System.nanoTime();
            raw.sendFrame(false, OP_TEXT, new byte[0]);
            byte[] empty = RawWebSocket.frame(false, 0, OP_CONTINUATION, new byte[0]);
            byte[] burst = new byte[empty.length * 1000];
            for (int i = 0; i < 1000; i++) {
                System.arraycopy(empty, 0, burst, i * empty.length, empty.length);
            }
            try {
                while (millisSince(start) < READ_DEADLINE.plus(LATE).toMillis()) {
                    raw.sendRaw(burst);
                    TimeUnit.MILLISECONDS.sleep(20); // pacing the flood, not synchronisation
                }
            } catch (IOException e) {
                // the server closed the socket under the flood
            }
            assertThat(raw.readCloseCode()).isEqualTo(CloseCodes.PROTOCOL_ERROR);
            assertThat(millisSince(start)).isGreaterThanOrEqualTo(READ_DEADLINE.toMillis() - 100);
        }
    }

    // ------------------------------------------------------------------ §4 opening handshake

    /** An upgrade request head to {@link #target()} with {@code headerLines}. */
    private String upgradeHead(String... headerLines) {
        StringBuilder request = new StringBuilder("GET " + target() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (String line : headerLines) {
            request.append(line).append("\r\n");
        }
        return request.append("\r\n").toString();
    }

    /**
     * Sends {@code head} (a complete upgrade request head) and reads the response; asserts that
     * the hub gained no connection from it.
     */
    private RawWebSocket.HttpHead exchangeNotUpgraded(String head) throws IOException {
        long before = tether.stats().connections();
        RawWebSocket.HttpHead response = RawWebSocket.exchange(server.address(), head);
        assertThat(tether.stats().connections()).as("connections").isEqualTo(before);
        return response;
    }

    @Test
    @DisplayName("§4.2.1 upgrade without Sec-WebSocket-Key → 400, not upgraded")
    void upgradeWithoutAKeyIsAnswered400() throws Exception {
        RawWebSocket.HttpHead response = exchangeNotUpgraded(upgradeHead(
                "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"));
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.header("Upgrade")).isNull();
    }

    @ParameterizedTest(name = "§4.2.1 Sec-WebSocket-Key \"{0}\" (not 16 bytes of base64) → 400, not upgraded")
    @ValueSource(strings = {"abc", "AAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAAAAA==",
            "!!!!!!!!!!!!!!!!!!!!!!==", "dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ=="})
    void upgradeWithAnInvalidKeyIsAnswered400(String key) throws Exception {
        RawWebSocket.HttpHead response = exchangeNotUpgraded(upgradeHead(
                "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"));
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.header("Sec-WebSocket-Accept")).isNull();
    }

    @Test
    @DisplayName("§4.2.1 a valid key (16 random bytes in base64) → 101 with the right Sec-WebSocket-Accept")
    void upgradeWithAValidKeyIsAccepted() throws Exception {
        byte[] nonce = new byte[16];
        Arrays.fill(nonce, (byte) 0xFB); // base64 with '+' and '/'
        String key = Base64.getEncoder().encodeToString(nonce);
        assertThat(key).contains("+").contains("/");
        try (RawWebSocket raw = RawWebSocket.connect(server.address(), target(), Map.of())) {
            assertThat(raw.handshakeResponse().status()).isEqualTo(101);
        }
        RawWebSocket.HttpHead response = RawWebSocket.exchange(server.address(), upgradeHead(
                "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"));
        assertThat(response.status()).isEqualTo(101);
        assertThat(response.header("Sec-WebSocket-Accept")).isNotNull();
    }

    @Test
    @DisplayName("§4.2.1 upgrade request head of 20 KB (over maxHeaderBytes, 16 KiB) → 400, not upgraded")
    void anUpgradeRequestHeadOverTheLimitIsAnswered400() throws Exception {
        RawWebSocket.HttpHead response = exchangeNotUpgraded(upgradeHead(
                "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version: 13", "X-Padding: " + "p".repeat(20_000)));
        assertThat(response.status()).isEqualTo(400);
    }

    @Test
    @DisplayName("§4.2.1 upgrade request with 1,000 headers (6 KB) → 400, not upgraded")
    void anUpgradeRequestWithAThousandHeadersIsAnswered400() throws Exception {
        String[] headers = new String[1004];
        Arrays.fill(headers, "X: v");
        headers[0] = "Upgrade: websocket";
        headers[1] = "Connection: Upgrade";
        headers[2] = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";
        headers[3] = "Sec-WebSocket-Version: 13";
        RawWebSocket.HttpHead response = exchangeNotUpgraded(upgradeHead(headers));
        assertThat(response.status()).isEqualTo(400);
    }

    @Test
    @DisplayName("§4.4 Sec-WebSocket-Version 8 → 426 with Sec-WebSocket-Version: 13, not upgraded")
    void unsupportedVersionIsAnswered426NamingVersion13() throws Exception {
        RawWebSocket.HttpHead response = exchangeNotUpgraded(upgradeHead(
                "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version: 8"));
        assertThat(response.status()).isEqualTo(426);
        assertThat(response.header("Sec-WebSocket-Version")).isEqualTo("13");
        assertThat(response.header("Sec-WebSocket-Accept")).isNull();
    }

    @Test
    @DisplayName("§4.2.1 GET without Upgrade: websocket → 400")
    void aPlainGetIsAnswered400() throws Exception {
        RawWebSocket.HttpHead response = RawWebSocket.exchange(server.address(), upgradeHead("Connection: close"));
        assertThat(response.status()).isEqualTo(400);
    }

    @Test
    @DisplayName("§4.1 upgrade request sent one byte every 200 ms (slowloris) → closed at the parse timeout, never upgraded")
    void aSlowlorisUpgradeRequestIsClosedAtTheParseTimeout() throws Exception {
        byte[] request = upgradeHead("Upgrade: websocket", "Connection: Upgrade",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
                "X-Padding: " + "p".repeat(200)).getBytes(StandardCharsets.US_ASCII);
        long connectionsBefore = tether.stats().connections();
        ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
        try (Socket socket = new Socket()) {
            socket.connect(server.address(), 10_000);
            socket.setSoTimeout((int) PARSE_TIMEOUT.plus(Duration.ofSeconds(10)).toMillis());
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            long start = System.nanoTime();
            AtomicInteger next = new AtomicInteger();
            trickle.scheduleAtFixedRate(() -> {
                try {
                    out.write(request[next.getAndIncrement()]);
                    out.flush();
                } catch (IOException e) {
                    throw new RuntimeException(e); // closed: stops the trickle
                }
            }, 0, 200, TimeUnit.MILLISECONDS);
            assertThat(in.readAllBytes()).as("no response to a request never finished").isEmpty();
            assertThat(millisSince(start)).isBetween(PARSE_TIMEOUT.toMillis() - 100, PARSE_TIMEOUT.plus(LATE).toMillis());
            assertThat(next.get()).as("bytes sent").isLessThan(request.length);
        } finally {
            trickle.shutdownNow();
            assertThat(trickle.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(tether.stats().connections()).as("connections").isEqualTo(connectionsBefore);
    }
}
