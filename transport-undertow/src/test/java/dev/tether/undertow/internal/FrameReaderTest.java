package dev.tether.undertow.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FrameReaderTest {

    private static final int LIMIT = 1000;
    private static final int MASK = 0x37FA213D;

    /** What a reader reported, as strings. */
    private static final class Recorder implements FrameReader.Handler {
        final List<String> events = new ArrayList<>();

        @Override
        public void onMessage(ByteBuffer data, boolean binary) {
            events.add((binary ? "binary:" : "text:") + StandardCharsets.UTF_8.decode(data));
        }

        @Override
        public void onPing(ByteBuffer payload) {
            events.add("ping:" + StandardCharsets.UTF_8.decode(payload));
        }

        @Override
        public void onClose(int code, String reason) {
            events.add("close:" + code + ":" + reason);
        }

        @Override
        public void onViolation(int code, String reason) {
            events.add("violation:" + code);
        }
    }

    /** A masked client frame. */
    private static byte[] frame(boolean fin, int rsv, int opcode, byte[] payload) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write((fin ? 0x80 : 0) | (rsv << 4) | opcode);
        if (payload.length < 126) {
            out.write(0x80 | payload.length);
        } else if (payload.length <= 0xFFFF) {
            out.write(0x80 | 126);
            out.writeBytes(ByteBuffer.allocate(2).putShort((short) payload.length).array());
        } else {
            out.write(0x80 | 127);
            out.writeBytes(ByteBuffer.allocate(8).putLong(payload.length).array());
        }
        byte[] key = ByteBuffer.allocate(4).putInt(MASK).array();
        out.writeBytes(key);
        for (int i = 0; i < payload.length; i++) {
            out.write(payload[i] ^ key[i & 3]);
        }
        return out.toByteArray();
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    /** Feeds {@code wire} in pieces of the given sizes (the last piece takes the rest). */
    private static List<String> feed(byte[] wire, int... pieces) {
        FrameReader reader = new FrameReader(LIMIT);
        Recorder recorder = new Recorder();
        int at = 0;
        for (int i = 0; at < wire.length; i++) {
            int n = i < pieces.length ? Math.min(pieces[i], wire.length - at) : wire.length - at;
            // Each piece in a buffer of its own that the next read overwrites, as on an I/O thread.
            ByteBuffer in = ByteBuffer.wrap(Arrays.copyOfRange(wire, at, at + n));
            while (in.hasRemaining() && !reader.done()) {
                reader.read(in, recorder);
            }
            at += n;
        }
        return recorder.events;
    }

    private static byte[] closePayload(int code, byte[] reason) {
        return ByteBuffer.allocate(2 + reason.length).putShort((short) code).put(reason).array();
    }

    @Test
    void aMessageSplitAtEveryByteIsDeliveredWholeOnce() {
        byte[] wire = concat(frame(true, 0, FrameReader.OP_TEXT, text("héllo, wörld " + "x".repeat(200))),
                frame(true, 0, FrameReader.OP_BINARY, text("second")));
        for (int split = 1; split < wire.length; split++) {
            assertThat(feed(wire, split)).as("split at %d", split)
                    .containsExactly("text:héllo, wörld " + "x".repeat(200), "binary:second");
        }
        assertThat(feed(wire, ones(wire.length))).containsExactly("text:héllo, wörld " + "x".repeat(200), "binary:second");
    }

    private static int[] ones(int n) {
        int[] sizes = new int[n];
        Arrays.fill(sizes, 1);
        return sizes;
    }

    @Test
    void fragmentsWithAPingBetweenThemMakeOneMessageAndThePingIsReportedFirst() {
        byte[] wire = concat(frame(false, 0, FrameReader.OP_TEXT, text("one ")),
                frame(true, 0, FrameReader.OP_PING, text("p")),
                frame(false, 0, FrameReader.OP_CONTINUATION, text("two ")),
                frame(true, 0, FrameReader.OP_PONG, text("ignored")),
                frame(true, 0, FrameReader.OP_CONTINUATION, text("three")));
        for (int split = 1; split < wire.length; split++) {
            assertThat(feed(wire, split, split, split)).as("split %d", split).containsExactly("ping:p", "text:one two three");
        }
    }

    @Test
    void aCharacterSplitBetweenFragmentsIsValidUtf8() {
        byte[] euro = text("€");
        byte[] wire = concat(frame(false, 0, FrameReader.OP_TEXT, Arrays.copyOf(euro, 1)),
                frame(true, 0, FrameReader.OP_CONTINUATION, Arrays.copyOfRange(euro, 1, 3)));
        assertThat(feed(wire)).containsExactly("text:€");
    }

    @Test
    void aMessageThatEndsInTheMiddleOfACharacterDoesNotLeaveItToTheNextMessage() {
        // The first message is cut after the euro sign's lead byte: refused, whoever comes next.
        byte[] euro = text("€");
        byte[] cut = concat(frame(false, 0, FrameReader.OP_TEXT, Arrays.copyOf(euro, 1)),
                frame(true, 0, FrameReader.OP_CONTINUATION, new byte[0]));
        assertThat(feed(cut)).containsExactly("violation:1007");
        // A whole character after a fragmented message starts clean, in one read or byte by byte.
        byte[] wire = concat(frame(false, 0, FrameReader.OP_TEXT, text("a")),
                frame(true, 0, FrameReader.OP_CONTINUATION, euro),
                frame(true, 0, FrameReader.OP_TEXT, text("ascii first, then €")));
        assertThat(feed(wire)).containsExactly("text:a€", "text:ascii first, then €");
        assertThat(feed(wire, ones(wire.length))).containsExactly("text:a€", "text:ascii first, then €");
    }

    @Test
    void invalidUtf8AfterALongAsciiRunIsRefused() {
        byte[] bytes = concat(text("sixteen ascii by"), new byte[] {(byte) 0xE2, (byte) 0x28, (byte) 0xA1});
        assertThat(feed(frame(true, 0, FrameReader.OP_TEXT, bytes))).containsExactly("violation:1007");
    }

    @Test
    void invalidUtf8InTheFirstFragmentIsRefusedBeforeTheMessageEnds() {
        byte[] wire = frame(false, 0, FrameReader.OP_TEXT, new byte[] {'a', (byte) 0xC0, (byte) 0x80});
        assertThat(feed(wire)).containsExactly("violation:1007");
    }

    @ParameterizedTest
    @ValueSource(strings = {"C0AF", "E080AF", "EDA080", "F4908080", "F5", "80", "E282"})
    void textThatIsNotUtf8IsRefusedWith1007(String hex) {
        byte[] bytes = new byte[hex.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        assertThat(feed(frame(true, 0, FrameReader.OP_TEXT, bytes))).containsExactly("violation:1007");
    }

    @Test
    void aLengthWithItsTopBitSetIsRefusedBeforeTheMaskingKeyArrives() {
        byte[] header = ByteBuffer.allocate(10).put((byte) 0x81).put((byte) (0x80 | 127))
                .putLong(0x8000_0000_0000_0010L).array();
        assertThat(feed(header, ones(header.length))).containsExactly("violation:1002");
    }

    @Test
    void aHeaderDeclaringMoreThanTheLimitIsRefusedAtTheHeaderWith1009() {
        byte[] header = ByteBuffer.allocate(14).put((byte) 0x82).put((byte) (0x80 | 127))
                .putLong(Long.MAX_VALUE).putInt(MASK).array();
        assertThat(feed(header)).containsExactly("violation:1009");
        byte[] fragments = concat(frame(false, 0, FrameReader.OP_BINARY, new byte[LIMIT - 10]),
                Arrays.copyOf(frame(true, 0, FrameReader.OP_CONTINUATION, new byte[11]), 6));
        assertThat(feed(fragments)).containsExactly("violation:1009");
        byte[] exact = concat(frame(false, 0, FrameReader.OP_BINARY, new byte[LIMIT - 10]),
                frame(true, 0, FrameReader.OP_CONTINUATION, new byte[10]));
        assertThat(feed(exact, 7)).hasSize(1).allMatch(e -> e.startsWith("binary:"));
    }

    @Test
    void framingViolationsAreProtocolErrors() {
        assertThat(feed(frame(true, 4, FrameReader.OP_TEXT, text("x")))).as("RSV").containsExactly("violation:1002");
        assertThat(feed(frame(true, 0, 0x3, text("x")))).as("reserved opcode").containsExactly("violation:1002");
        assertThat(feed(frame(true, 0, 0xB, text("x")))).as("reserved control opcode").containsExactly("violation:1002");
        byte[] unmasked = {(byte) 0x81, 0x01, 'x'};
        assertThat(feed(unmasked)).as("unmasked").containsExactly("violation:1002");
        assertThat(feed(frame(true, 0, FrameReader.OP_PING, new byte[126]))).as("long ping").containsExactly("violation:1002");
        assertThat(feed(frame(false, 0, FrameReader.OP_PING, text("x")))).as("fragmented ping").containsExactly("violation:1002");
        assertThat(feed(frame(true, 0, FrameReader.OP_CONTINUATION, text("x")))).as("continuation").containsExactly("violation:1002");
        assertThat(feed(concat(frame(false, 0, FrameReader.OP_TEXT, text("a")), frame(true, 0, FrameReader.OP_TEXT, text("b")))))
                .as("new message inside one").containsExactly("violation:1002");
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999})
    void everyCloseCodeAPeerMaySendIsReported(int code) {
        assertThat(feed(frame(true, 0, FrameReader.OP_CLOSE, closePayload(code, text("bye")))))
                .containsExactly("close:" + code + ":bye");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000})
    void aCloseCodeAPeerMayNotSendIsAProtocolError(int code) {
        assertThat(feed(frame(true, 0, FrameReader.OP_CLOSE, closePayload(code, new byte[0])))).containsExactly("violation:1002");
    }

    @Test
    void closeFramesWithoutCodeWithOneByteOrWithAReasonThatIsNotUtf8() {
        assertThat(feed(frame(true, 0, FrameReader.OP_CLOSE, new byte[0]))).containsExactly("close:1005:");
        assertThat(feed(frame(true, 0, FrameReader.OP_CLOSE, new byte[] {3}))).containsExactly("violation:1002");
        assertThat(feed(frame(true, 0, FrameReader.OP_CLOSE, closePayload(1000, new byte[] {(byte) 0xFF}))))
                .containsExactly("violation:1007");
    }

    @Test
    void nothingIsParsedAfterTheCloseFrame() {
        byte[] wire = concat(frame(true, 0, FrameReader.OP_CLOSE, closePayload(1000, new byte[0])),
                frame(true, 0, FrameReader.OP_TEXT, text("late")));
        assertThat(feed(wire)).containsExactly("close:1000:");
    }

    @Test
    void theReaderIsIdleOnlyBetweenMessages() {
        FrameReader reader = new FrameReader(LIMIT);
        Recorder recorder = new Recorder();
        byte[] wire = frame(true, 0, FrameReader.OP_TEXT, text("abc"));
        assertThat(reader.idle()).isTrue();
        reader.read(ByteBuffer.wrap(Arrays.copyOf(wire, 1)), recorder);
        assertThat(reader.idle()).as("half a header").isFalse();
        reader.read(ByteBuffer.wrap(Arrays.copyOfRange(wire, 1, 7)), recorder);
        assertThat(reader.idle()).as("inside the payload").isFalse();
        reader.read(ByteBuffer.wrap(Arrays.copyOfRange(wire, 7, wire.length)), recorder);
        assertThat(reader.idle()).isTrue();
        assertThat(reader.boundaries()).isEqualTo(1);
        assertThat(recorder.events).containsExactly("text:abc");
    }

    @Test
    void unmaskingMatchesTheBytewiseDefinitionAtEveryOffsetAndLength() {
        Random random = new Random(6455);
        for (int index = 0; index < 4; index++) {
            for (int length = 0; length < 40; length++) {
                byte[] bytes = new byte[length + 3];
                random.nextBytes(bytes);
                byte[] expected = bytes.clone();
                byte[] key = ByteBuffer.allocate(4).putInt(MASK).array();
                for (int i = 0; i < length; i++) {
                    expected[3 + i] ^= key[(index + i) & 3];
                }
                int next = FrameReader.unmask(bytes, 3, length, MASK, index);
                assertThat(bytes).as("index %d length %d", index, length).isEqualTo(expected);
                assertThat(next).isEqualTo((index + length) & 3);
            }
        }
    }
}
