package dev.tether.core.internal.protocol;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.tether.core.CloseCodes;
import dev.tether.core.Payload;
import dev.tether.core.spi.EncodedMessage;
import dev.tether.core.spi.Frame;
import dev.tether.core.spi.InboundFrame;
import dev.tether.core.spi.OutboundFrame;
import dev.tether.core.spi.ProtocolException;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class JsonProtocolTest {

    private static final JsonProtocol PROTOCOL = JsonProtocol.INSTANCE;
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Rejects trailing tokens and duplicate fields, so that a stray brace or field fails the test. */
    private static final ObjectReader STRICT = MAPPER.reader()
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);
    private static final byte[] FILE_BYTES = {0, 1, 2, (byte) 0xFF, (byte) 0x80, '{', '}', '"', 0x7F};

    // ---------------------------------------------------------------- decode: every client frame

    @Test
    void decodesHelloForANewSession() throws Exception {
        assertThat(decode("{\"t\":\"hello\",\"v\":1}"))
                .isEqualTo(new InboundFrame.Hello(null, null, 0, 0));
    }

    @Test
    void decodesHelloForAResume() throws Exception {
        assertThat(decode("{\"t\":\"hello\",\"v\":1,\"sid\":\"s-3f9a\",\"token\":\"q8Zk\",\"last\":41}"))
                .isEqualTo(new InboundFrame.Hello("s-3f9a", "q8Zk", 41, 0));
    }

    @Test
    void decodesTheClientsProtocolVersion() throws Exception {
        assertThat(decode("{\"t\":\"hello\",\"v\":2}")).isEqualTo(new InboundFrame.Hello(null, null, 0, 0, 2));
        // A later client's version is passed on as it is; the engine settles on its own highest.
        assertThat(decode("{\"t\":\"hello\",\"v\":9}")).isEqualTo(new InboundFrame.Hello(null, null, 0, 0, 9));
    }

    @Test
    void decodesAuthWithItsIdAndTokenAndNeverPrintsTheToken() throws Exception {
        InboundFrame frame = decode("{\"t\":\"auth\",\"id\":4,\"token\":\"eyJ.secret\"}");
        assertThat(frame).isEqualTo(new InboundFrame.Auth(4, "eyJ.secret"));
        assertThat(frame.toString()).doesNotContain("secret");
    }

    @Test
    void decodesResumeWithoutLastAsLastZero() throws Exception {
        assertThat(decode("{\"t\":\"hello\",\"v\":1,\"sid\":\"s\",\"token\":\"k\"}"))
                .isEqualTo(new InboundFrame.Hello("s", "k", 0, 0));
    }

    @Test
    void decodesReliableMessage() throws Exception {
        InboundFrame frame = decode("{\"t\":\"msg\",\"seq\":7,\"e\":\"chat\",\"d\":{\"text\":\"hi\"}}");

        assertThat(frame).isEqualTo(new InboundFrame.Msg(7, 0, "chat", Payload.json(tree("{\"text\":\"hi\"}")), null));
    }

    @Test
    void decodesVolatileMessageWithSeqZeroAndMissingDataAsJsonNull() throws Exception {
        InboundFrame frame = decode("{\"t\":\"msg\",\"e\":\"tick\"}");

        assertThat(frame).isEqualTo(new InboundFrame.Msg(0, 0, "tick", Payload.EMPTY, null));
    }

    @Test
    void decodesExplicitNullDataAsTheEmptyPayload() throws Exception {
        InboundFrame.Msg msg = (InboundFrame.Msg) decode("{\"t\":\"msg\",\"e\":\"tick\",\"d\":null}");

        assertThat(msg.payload()).isEqualTo(Payload.EMPTY);
    }

    @Test
    void decodesRequestWithRidAndTextPayload() throws Exception {
        InboundFrame frame = decode("{\"t\":\"msg\",\"seq\":3,\"rid\":12,\"e\":\"ask\",\"d\":\"hello\"}");

        assertThat(frame).isEqualTo(new InboundFrame.Msg(3, 12, "ask", Payload.text("hello"), null));
    }

    @Test
    void decodesPublishWithTopic() throws Exception {
        InboundFrame frame = decode("{\"t\":\"msg\",\"seq\":1,\"e\":\"say\",\"topic\":\"room-1\",\"d\":[1,2.5,true]}");

        assertThat(frame).isEqualTo(new InboundFrame.Msg(1, 0, "say", Payload.json(tree("[1,2.5,true]")), "room-1"));
    }

    @Test
    void decodesDataThatLooksLikeAFrameAsPlainPayload() throws Exception {
        InboundFrame frame = decode("{\"t\":\"msg\",\"e\":\"x\",\"d\":{\"t\":\"ack\",\"seq\":99},\"seq\":2}");

        assertThat(frame).isEqualTo(new InboundFrame.Msg(2, 0, "x", Payload.json(tree("{\"t\":\"ack\",\"seq\":99}")), null));
    }

    @Test
    void decodesReplyWithData() throws Exception {
        assertThat(decode("{\"t\":\"reply\",\"rid\":5,\"d\":{\"ok\":true}}"))
                .isEqualTo(new InboundFrame.Reply(5, Payload.json(tree("{\"ok\":true}")), null, null));
    }

    @Test
    void decodesReplyWithoutDataAsJsonNull() throws Exception {
        assertThat(decode("{\"t\":\"reply\",\"rid\":5}"))
                .isEqualTo(new InboundFrame.Reply(5, Payload.EMPTY, null, null));
    }

    @Test
    void decodesReplyWithError() throws Exception {
        assertThat(decode("{\"t\":\"reply\",\"rid\":6,\"err\":{\"code\":\"unhandled\",\"message\":\"no handler\",\"x\":[1]}}"))
                .isEqualTo(new InboundFrame.Reply(6, null, "unhandled", "no handler"));
    }

    @Test
    void decodesAck() throws Exception {
        assertThat(decode("{\"t\":\"ack\",\"seq\":32}")).isEqualTo(new InboundFrame.Ack(32));
    }

    @Test
    void decodesPongWithAndWithoutAck() throws Exception {
        assertThat(decode("{\"t\":\"pong\"}")).isEqualTo(new InboundFrame.Pong(-1));
        assertThat(decode("{\"t\":\"pong\",\"ack\":17}")).isEqualTo(new InboundFrame.Pong(17));
    }

    @Test
    void decodesSubscribeAndUnsubscribe() throws Exception {
        assertThat(decode("{\"t\":\"sub\",\"id\":1,\"topic\":\"room-1\"}"))
                .isEqualTo(new InboundFrame.Subscribe(1, "room-1"));
        assertThat(decode("{\"t\":\"unsub\",\"id\":2,\"topic\":\"room-1\"}"))
                .isEqualTo(new InboundFrame.Unsubscribe(2, "room-1"));
    }

    @Test
    void fieldOrderDoesNotMatter() throws Exception {
        assertThat(decode("{\"d\":{\"a\":1},\"rid\":4,\"e\":\"ev\",\"seq\":9,\"t\":\"msg\"}"))
                .isEqualTo(decode("{\"t\":\"msg\",\"seq\":9,\"rid\":4,\"e\":\"ev\",\"d\":{\"a\":1}}"))
                .isEqualTo(new InboundFrame.Msg(9, 4, "ev", Payload.json(tree("{\"a\":1}")), null));
        assertThat(decode("{\"d\":2,\"topic\":\"t\",\"e\":\"ev\",\"seq\":9,\"t\":\"msg\"}"))
                .isEqualTo(decode("{\"t\":\"msg\",\"seq\":9,\"e\":\"ev\",\"topic\":\"t\",\"d\":2}"))
                .isEqualTo(new InboundFrame.Msg(9, 0, "ev", Payload.json(tree("2")), "t"));
        assertThat(decode("{\"last\":3,\"token\":\"k\",\"sid\":\"s\",\"v\":1,\"t\":\"hello\"}"))
                .isEqualTo(new InboundFrame.Hello("s", "k", 3, 0));
    }

    @Test
    void unknownFieldsOfAnyShapeAreIgnored() throws Exception {
        assertThat(decode("{\"x\":{\"seq\":99,\"t\":\"msg\",\"y\":[1,{\"z\":null}]},\"t\":\"ack\",\"n\":1.5,"
                + "\"s\":\"str\",\"b\":false,\"nul\":null,\"arr\":[[],{}],\"seq\":5}"))
                .isEqualTo(new InboundFrame.Ack(5));
    }

    @Test
    void anUnknownFrameTypeDecodesAsUnknownWhateverItsFields() throws Exception {
        assertThat(decode("{\"t\":\"bogus\"}")).isEqualTo(new InboundFrame.Unknown("bogus"));
        assertThat(decode("{\"t\":\"MSG\",\"e\":\"x\"}")).isEqualTo(new InboundFrame.Unknown("MSG"));
        assertThat(decode("{\"seq\":{\"deep\":[1]},\"t\":\"presence\",\"d\":[1,2]}"))
                .isEqualTo(new InboundFrame.Unknown("presence"));
        byte[] header = "{\"t\":\"upload\",\"id\":3}".getBytes(UTF_8);
        assertThat(PROTOCOL.decode(ByteBuffer.wrap(binaryFrame(header.length, header, FILE_BYTES)), true))
                .isEqualTo(new InboundFrame.Unknown("upload"));
    }

    @Test
    void decodesFromTheBufferPositionOfASliceOrDirectOrReadOnlyBuffer() throws Exception {
        byte[] json = "{\"t\":\"ack\",\"seq\":8}".getBytes(UTF_8);
        byte[] padded = new byte[json.length + 10];
        Arrays.fill(padded, (byte) '#');
        System.arraycopy(json, 0, padded, 5, json.length);
        ByteBuffer slice = ByteBuffer.wrap(padded, 5, json.length).slice();
        ByteBuffer positioned = ByteBuffer.wrap(padded, 5, json.length);
        ByteBuffer direct = ByteBuffer.allocateDirect(json.length).put(json).flip();
        ByteBuffer readOnly = ByteBuffer.wrap(json).asReadOnlyBuffer();

        for (ByteBuffer data : new ByteBuffer[] {slice, positioned, direct, readOnly}) {
            assertThat(PROTOCOL.decode(data, false)).isEqualTo(new InboundFrame.Ack(8));
        }
    }

    // ---------------------------------------------------------------- decode: malformed input

    static Stream<String> malformedTextFrames() {
        return Stream.of(
                "",                                                          // empty
                "hello",                                                     // not JSON
                "{\"t\":\"pong\"",                                           // truncated
                "{\"t\":\"pong\",}",                                         // trailing comma
                "[{\"t\":\"pong\"}]",                                        // not an object
                "\"pong\"",
                "42",
                "null",
                "{\"t\":\"pong\"} x",                                        // trailing garbage
                "{\"t\":\"pong\"}{\"t\":\"pong\"}",
                "{\"t\":\"pong\"}}",
                "{\"seq\":1}",                                               // missing t
                "{\"t\":1}",                                                 // t not a string
                "{\"t\":null}",
                "{\"t\":\"welcome\",\"v\":1}",                               // server-to-client types
                "{\"t\":\"ping\",\"ack\":1}",
                "{\"t\":\"ok\",\"id\":1}",
                "{\"t\":\"error\",\"id\":1,\"code\":\"x\",\"message\":\"y\"}",
                "{\"t\":\"gap\",\"from\":1,\"to\":2,\"reason\":\"overflow\"}",
                "{\"t\":\"reconnect\",\"afterMs\":1}",
                "{\"t\":\"msg\",\"seq\":1,\"d\":1}",                         // msg without e
                "{\"t\":\"msg\",\"e\":\"\",\"seq\":1}",                      // empty e
                "{\"t\":\"msg\",\"e\":5,\"seq\":1}",                         // e not a string
                "{\"t\":\"msg\",\"e\":\"x\",\"seq\":0}",                     // seq 0
                "{\"t\":\"msg\",\"e\":\"x\",\"seq\":-1}",                    // negative seq
                "{\"t\":\"msg\",\"e\":\"x\",\"seq\":1.5}",                   // fraction
                "{\"t\":\"msg\",\"e\":\"x\",\"seq\":1.0}",
                "{\"t\":\"msg\",\"e\":\"x\",\"seq\":1e2}",
                "{\"t\":\"msg\",\"e\":\"x\",\"seq\":\"1\"}",                 // string
                "{\"t\":\"msg\",\"e\":\"x\",\"seq\":true}",
                "{\"t\":\"msg\",\"e\":\"x\",\"seq\":9223372036854775808}",   // Long.MAX_VALUE + 1
                "{\"t\":\"msg\",\"e\":\"x\",\"seq\":123456789012345678901234567890}",
                "{\"t\":\"msg\",\"e\":\"x\",\"seq\":1,\"rid\":0}",           // rid 0
                "{\"t\":\"msg\",\"e\":\"x\",\"rid\":3}",                     // request without seq
                "{\"t\":\"msg\",\"e\":\"x\",\"seq\":1,\"rid\":3,\"topic\":\"t\"}",  // a publish as a request
                "{\"t\":\"msg\",\"e\":\"x\",\"topic\":7}",                   // topic not a string
                "{\"t\":\"msg\",\"e\":\"x\",\"d\":{\"a\":}}",                // broken payload
                "{\"t\":\"msg\",\"e\":\"a\u0001b\"}",                        // raw control char
                "{\"t\":\"sub\",\"id\":1}",                                  // sub without topic
                "{\"t\":\"sub\",\"id\":1,\"topic\":\"\"}",
                "{\"t\":\"sub\",\"topic\":\"room\"}",                        // sub without id
                "{\"t\":\"sub\",\"id\":0,\"topic\":\"room\"}",
                "{\"t\":\"unsub\",\"id\":1}",
                "{\"t\":\"hello\",\"v\":1,\"sid\":\"s\"}",                   // sid without token
                "{\"t\":\"hello\",\"v\":1,\"token\":\"k\"}",                 // token without sid
                "{\"t\":\"hello\",\"v\":0}",                                 // no such version
                "{\"t\":\"hello\"}",                                         // no version
                "{\"t\":\"hello\",\"v\":\"1\"}",
                "{\"t\":\"hello\",\"v\":1,\"sid\":\"s\",\"token\":\"k\",\"last\":-1}",
                "{\"t\":\"reply\",\"d\":1}",                                 // reply without rid
                "{\"t\":\"reply\",\"rid\":0,\"d\":1}",
                "{\"t\":\"reply\",\"rid\":1,\"err\":\"boom\"}",              // err not an object
                "{\"t\":\"reply\",\"rid\":1,\"err\":{\"code\":1}}",
                "{\"t\":\"auth\",\"id\":1}",                                 // auth without token
                "{\"t\":\"auth\",\"id\":1,\"token\":\"\"}",
                "{\"t\":\"auth\",\"token\":\"abc\"}",                        // auth without id
                "{\"t\":\"auth\",\"id\":0,\"token\":\"abc\"}",
                "{\"t\":\"auth\",\"id\":1,\"token\":7}",
                "{\"t\":\"ack\"}",                                           // ack without seq
                "{\"t\":\"ack\",\"seq\":-4}",
                "{\"t\":\"pong\",\"ack\":-1}");
    }

    @ParameterizedTest
    @MethodSource("malformedTextFrames")
    void malformedTextFrameIsRejectedWithBadRequest(String input) {
        assertRejected(ByteBuffer.wrap(input.getBytes(UTF_8)), false);
    }

    static Stream<byte[]> malformedBinaryFrames() {
        byte[] header = "{\"t\":\"msg\",\"seq\":1,\"e\":\"f\"}".getBytes(UTF_8);
        byte[] noEvent = "{\"t\":\"msg\"}".getBytes(UTF_8);
        return Stream.of(
                new byte[0],                                                 // shorter than 4 bytes
                new byte[] {0, 0, 2},
                binaryFrame(header.length + 4, header, new byte[] {1, 2, 3}), // length beyond the frame
                ByteBuffer.allocate(14).putInt(100).put(new byte[10]).array(),
                ByteBuffer.allocate(14).putInt(-1).put(new byte[10]).array(), // > 2^31 unsigned
                ByteBuffer.allocate(14).putInt(0).put(new byte[10]).array(),
                binaryFrame(5, "hello".getBytes(UTF_8), FILE_BYTES),           // header not JSON
                binaryFrame(4, "[1] ".getBytes(UTF_8), FILE_BYTES),            // header not an object
                binaryFrame(3, "{}x".getBytes(UTF_8), FILE_BYTES),             // trailing garbage in header
                binaryFrame(noEvent.length, noEvent, FILE_BYTES));            // msg without e
    }

    @ParameterizedTest
    @MethodSource("malformedBinaryFrames")
    void malformedBinaryFrameIsRejectedWithBadRequest(byte[] input) {
        assertRejected(ByteBuffer.wrap(input), true);
    }

    // ---------------------------------------------------------------- decode: binary frames

    @Test
    void decodesBinaryMessageWithExactlyThePayloadBytes() throws Exception {
        byte[] header = "{\"t\":\"msg\",\"seq\":3,\"e\":\"file\",\"topic\":\"up\"}".getBytes(UTF_8);

        InboundFrame frame = PROTOCOL.decode(ByteBuffer.wrap(binaryFrame(header.length, header, FILE_BYTES)), true);

        assertThat(frame).isEqualTo(new InboundFrame.Msg(3, 0, "file", Payload.binary(FILE_BYTES), "up"));
        assertThat(((Payload.Binary) ((InboundFrame.Msg) frame).payload()).toByteArray()).containsExactly(FILE_BYTES);
    }

    @Test
    void binaryFrameWithADataFieldInItsHeaderIsRefused() {
        byte[] header = "{\"t\":\"msg\",\"e\":\"file\",\"d\":{\"ignored\":1}}".getBytes(UTF_8);

        assertThatThrownBy(() -> PROTOCOL.decode(ByteBuffer.wrap(binaryFrame(header.length, header, FILE_BYTES)), true))
                .isInstanceOf(ProtocolException.class)
                .extracting(e -> ((ProtocolException) e).closeCode()).isEqualTo(CloseCodes.BAD_REQUEST);
    }

    @Test
    void binaryFrameOfAControlTypeIsRefused() {
        byte[] header = "{\"t\":\"ack\",\"seq\":1}".getBytes(UTF_8);

        assertThatThrownBy(() -> PROTOCOL.decode(ByteBuffer.wrap(binaryFrame(header.length, header, FILE_BYTES)), true))
                .isInstanceOf(ProtocolException.class)
                .extracting(e -> ((ProtocolException) e).closeCode()).isEqualTo(CloseCodes.BAD_REQUEST);
    }

    @Test
    void decodesBinaryReplyAndEmptyBinaryPayload() throws Exception {
        byte[] header = "{\"rid\":4,\"t\":\"reply\"}".getBytes(UTF_8);

        assertThat(PROTOCOL.decode(ByteBuffer.wrap(binaryFrame(header.length, header, FILE_BYTES)), true))
                .isEqualTo(new InboundFrame.Reply(4, Payload.binary(FILE_BYTES), null, null));
        assertThat(PROTOCOL.decode(ByteBuffer.wrap(binaryFrame(header.length, header, new byte[0])), true))
                .isEqualTo(new InboundFrame.Reply(4, Payload.binary(new byte[0]), null, null));
    }

    @Test
    void decodesBinaryFrameAtANonZeroPositionAndFromADirectBuffer() throws Exception {
        byte[] header = "{\"t\":\"msg\",\"e\":\"file\"}".getBytes(UTF_8);
        byte[] frame = binaryFrame(header.length, header, FILE_BYTES);
        byte[] padded = new byte[frame.length + 7];
        System.arraycopy(frame, 0, padded, 3, frame.length);
        InboundFrame.Msg expected = new InboundFrame.Msg(0, 0, "file", Payload.binary(FILE_BYTES), null);

        assertThat(PROTOCOL.decode(ByteBuffer.wrap(padded, 3, frame.length), true)).isEqualTo(expected);
        assertThat(PROTOCOL.decode(ByteBuffer.wrap(padded, 3, frame.length).slice(), true)).isEqualTo(expected);
        assertThat(PROTOCOL.decode(ByteBuffer.allocateDirect(frame.length).put(frame).flip(), true)).isEqualTo(expected);
        assertThat(PROTOCOL.decode(ByteBuffer.wrap(frame).asReadOnlyBuffer(), true)).isEqualTo(expected);
    }

    @Test
    void decodedBinaryPayloadKeepsNoReferenceToTheInputBuffer() throws Exception {
        byte[] header = "{\"t\":\"msg\",\"e\":\"file\"}".getBytes(UTF_8);
        byte[] frame = binaryFrame(header.length, header, FILE_BYTES);

        InboundFrame.Msg msg = (InboundFrame.Msg) PROTOCOL.decode(ByteBuffer.wrap(frame), true);
        Arrays.fill(frame, (byte) 0x55);

        assertThat(((Payload.Binary) msg.payload()).toByteArray()).containsExactly(FILE_BYTES);
    }

    // ---------------------------------------------------------------- encode + frame

    @Test
    void framesReliableJsonMessage() throws Exception {
        JsonNode data = tree("{\"text\":\"hi\",\"n\":[1,2.5,null,{\"deep\":true}]}");

        Frame frame = PROTOCOL.frame(7, 0, PROTOCOL.encode("chat", Payload.json(data), null));

        JsonNode json = textJson(frame);
        assertThat(json).isEqualTo(tree("{\"t\":\"msg\",\"seq\":7,\"e\":\"chat\",\"d\":" + data + "}"));
        assertThat(json.has("rid")).isFalse();
        assertThat(json.has("topic")).isFalse();
    }

    @Test
    void framesRequestWithTopicAndTextPayload() throws Exception {
        Frame frame = PROTOCOL.frame(8, 3, PROTOCOL.encode("ask", Payload.text("hello"), "room-1"));

        assertThat(textJson(frame))
                .isEqualTo(tree("{\"t\":\"msg\",\"seq\":8,\"rid\":3,\"e\":\"ask\",\"topic\":\"room-1\",\"d\":\"hello\"}"));
    }

    @Test
    void framesVolatileMessageWithoutSeqAndWithExplicitNullData() throws Exception {
        Frame frame = PROTOCOL.frame(0, 0, PROTOCOL.encode("tick", Payload.EMPTY, null));

        JsonNode json = textJson(frame);
        assertThat(json).isEqualTo(tree("{\"t\":\"msg\",\"e\":\"tick\",\"d\":null}"));
        assertThat(json.get("d")).isEqualTo(NullNode.getInstance());
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 9, 10, 99, 100, 12345, 9_007_199_254_740_991L, Long.MAX_VALUE})
    void writesSeqAndRidOfEveryWidth(long n) throws Exception {
        JsonNode json = textJson(PROTOCOL.frame(n, n, PROTOCOL.encode("e", Payload.EMPTY, null)));

        assertThat(json.get("seq").isIntegralNumber()).isTrue();
        assertThat(json.get("seq").longValue()).isEqualTo(n);
        assertThat(json.get("rid").longValue()).isEqualTo(n);
    }

    @Test
    void framedMessagesDecodeBackToTheSameMessage() throws Exception {
        Payload[] payloads = {Payload.json(tree("{\"a\":[1,2]}")), Payload.text("plain \"text\""), Payload.EMPTY,
                Payload.json(tree("42")), Payload.binary(FILE_BYTES)};
        for (Payload payload : payloads) {
            Frame request = PROTOCOL.frame(11, 5, PROTOCOL.encode("ev", payload, null));
            Frame publish = PROTOCOL.frame(11, 0, PROTOCOL.encode("ev", payload, "top"));

            assertThat(PROTOCOL.decode(ByteBuffer.wrap(concat(request)), request.binary()))
                    .as("payload %s", payload)
                    .isEqualTo(new InboundFrame.Msg(11, 5, "ev", payload, null));
            assertThat(PROTOCOL.decode(ByteBuffer.wrap(concat(publish)), publish.binary()))
                    .as("payload %s", payload)
                    .isEqualTo(new InboundFrame.Msg(11, 0, "ev", payload, "top"));
        }
    }

    @Test
    void framesBinaryMessageWithAHeaderLengthPrefixThatMatchesTheHeader() throws Exception {
        EncodedMessage encoded = PROTOCOL.encode("file", Payload.binary(FILE_BYTES), "uploads");

        Frame frame = PROTOCOL.frame(5, 2, encoded);

        assertThat(frame.binary()).isTrue();
        ByteBuffer[] parts = frame.parts();
        int declared = parts[0].getInt(parts[0].position());
        assertThat(declared).isEqualTo(parts[0].remaining() - 4 + parts[1].remaining());
        byte[] all = concat(frame);
        assertThat(all).hasSize(frame.length());
        assertThat(declared).isEqualTo(all.length - 4 - FILE_BYTES.length);
        JsonNode header = STRICT.readTree(Arrays.copyOfRange(all, 4, 4 + declared));
        assertThat(header).isEqualTo(tree("{\"t\":\"msg\",\"seq\":5,\"rid\":2,\"e\":\"file\",\"topic\":\"uploads\"}"));
        assertThat(Arrays.copyOfRange(all, 4 + declared, all.length)).containsExactly(FILE_BYTES);
        assertThat(encoded.sizeBytes()).isEqualTo(parts[1].remaining() + FILE_BYTES.length);
    }

    @Test
    void framesTheClusterPositionOfAMessageInTextAndBinaryHeadersWhenGiven() throws Exception {
        Frame text = PROTOCOL.frame(8, 0, 123_456_789L, PROTOCOL.encode("ev", Payload.text("x"), "room"));
        assertThat(textJson(text))
                .isEqualTo(tree("{\"t\":\"msg\",\"seq\":8,\"pos\":123456789,\"e\":\"ev\",\"topic\":\"room\",\"d\":\"x\"}"));
        assertThat(textJson(PROTOCOL.frame(8, 0, 0, PROTOCOL.encode("ev", Payload.text("x"), null))).has("pos"))
                .as("no position, no field").isFalse();

        Frame binary = PROTOCOL.frame(5, 2, 77, PROTOCOL.encode("file", Payload.binary(FILE_BYTES), null));
        byte[] all = concat(binary);
        int declared = ByteBuffer.wrap(all).getInt();
        assertThat(STRICT.readTree(Arrays.copyOfRange(all, 4, 4 + declared)))
                .isEqualTo(tree("{\"t\":\"msg\",\"seq\":5,\"rid\":2,\"pos\":77,\"e\":\"file\"}"));
        assertThat(Arrays.copyOfRange(all, 4 + declared, all.length)).containsExactly(FILE_BYTES);
    }

    @Test
    void decodesThePositionOfAResume() throws Exception {
        assertThat(decode("{\"t\":\"hello\",\"v\":3,\"sid\":\"s\",\"token\":\"k\",\"last\":4,\"attempt\":1,\"pos\":991}"))
                .isEqualTo(new InboundFrame.Hello("s", "k", 4, 1, 3, 991));
        assertThatThrownBy(() -> decode("{\"t\":\"hello\",\"v\":3,\"pos\":\"x\"}")).isInstanceOf(ProtocolException.class);
    }

    @Test
    void encodedSizeIsTheSharedPartOfATextMessage() {
        EncodedMessage encoded = PROTOCOL.encode("chat", Payload.text("hello"), "room");

        Frame frame = PROTOCOL.frame(1, 0, encoded);

        assertThat(encoded.sizeBytes()).isEqualTo(frame.parts()[1].remaining()).isPositive();
    }

    @Test
    void framingOneEncodedMessageTwiceSharesItsBytesAndOnlyAllocatesThePrefix() {
        EncodedMessage encoded = PROTOCOL.encode("news", Payload.text("x".repeat(1000)), "topic");

        Frame first = PROTOCOL.frame(1, 0, encoded);
        Frame second = PROTOCOL.frame(2, 9, encoded);

        assertThat(first.parts()).hasSize(2);
        assertThat(second.parts()).hasSize(2);
        assertThat(ascii(first.parts()[0])).isEqualTo("{\"t\":\"msg\",\"seq\":1");
        assertThat(ascii(second.parts()[0])).isEqualTo("{\"t\":\"msg\",\"seq\":2,\"rid\":9");
        assertThat(first.parts()[1]).isEqualTo(second.parts()[1]);
        assertThat(first.parts()[1].remaining()).isEqualTo(encoded.sizeBytes());
        // A shared part must be unwritable by the transport that receives it.
        assertThat(first.parts()[1].isReadOnly()).isTrue();
        assertThat(second.parts()[1].isReadOnly()).isTrue();
        // Views are independent: one transport consuming its frame must not move another's position.
        ByteBuffer firstShared = first.parts()[1];
        firstShared.position(firstShared.limit());
        assertThat(second.parts()[1].remaining()).isEqualTo(encoded.sizeBytes());
        assertThat(PROTOCOL.frame(3, 0, encoded).parts()[1].remaining()).isEqualTo(encoded.sizeBytes());
    }

    @Test
    void framingDoesNotCopyTheSharedBytes() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        Assumptions.assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        int payloadBytes = 64 * 1024;
        EncodedMessage text = PROTOCOL.encode("big", Payload.text("y".repeat(payloadBytes)), null);
        EncodedMessage binary = PROTOCOL.encode("big", Payload.binary(new byte[payloadBytes]), null);
        long checksum = 0;
        for (int i = 1; i <= 1000; i++) {
            checksum += PROTOCOL.frame(i, i, text).length() + PROTOCOL.frame(i, i, binary).length();
        }
        int frames = 200;
        long tid = Thread.currentThread().getId();

        long before = threads.getThreadAllocatedBytes(tid);
        for (int i = 1; i <= frames; i++) {
            checksum += PROTOCOL.frame(i, i, text).length() + PROTOCOL.frame(i, i, binary).length();
        }
        long allocated = threads.getThreadAllocatedBytes(tid) - before;

        assertThat(checksum).isPositive();
        // A copy would cost 64 KiB per frame; a prefix, a Frame and a few views cost a few hundred bytes.
        assertThat(allocated / (2L * frames)).isLessThan(2048);
    }

    // ---------------------------------------------------------------- control frames

    @Test
    void framesWelcomeWithoutGap() throws Exception {
        Frame frame = PROTOCOL.frame(new OutboundFrame.Welcome("s-3f9a", "q8Zk", true, 41, 0, 0, null,
                25_000, 20_000, 65_536));

        assertThat(textJson(frame)).isEqualTo(tree("{\"t\":\"welcome\",\"v\":1,\"sid\":\"s-3f9a\",\"token\":\"q8Zk\","
                + "\"resumed\":true,\"lastClientSeq\":41,\"hb\":25000,\"hbTimeout\":20000,\"maxMessageBytes\":65536}"));
    }

    @Test
    void framesWelcomeWithTheAgreedVersion() throws Exception {
        Frame frame = PROTOCOL.frame(new OutboundFrame.Welcome("s", "k", false, 0, 0, 0, null, 1000, 500, 128, 2));

        assertThat(textJson(frame).path("v").asInt()).isEqualTo(2);
    }

    @Test
    void framesWelcomeWithGap() throws Exception {
        Frame expired = PROTOCOL.frame(new OutboundFrame.Welcome("s-new", "tok", false, 0, 0, 0, "expired",
                25_000, 20_000, 65_536));
        Frame overflow = PROTOCOL.frame(new OutboundFrame.Welcome("s-old", "tok", true, 3, 10, 20, "overflow",
                1000, 500, 128));

        assertThat(textJson(expired)).isEqualTo(tree("{\"t\":\"welcome\",\"v\":1,\"sid\":\"s-new\",\"token\":\"tok\","
                + "\"resumed\":false,\"lastClientSeq\":0,\"hb\":25000,\"hbTimeout\":20000,\"maxMessageBytes\":65536,"
                + "\"gap\":{\"from\":0,\"to\":0,\"reason\":\"expired\"}}"));
        assertThat(textJson(overflow)).isEqualTo(tree("{\"t\":\"welcome\",\"v\":1,\"sid\":\"s-old\",\"token\":\"tok\","
                + "\"resumed\":true,\"lastClientSeq\":3,\"hb\":1000,\"hbTimeout\":500,\"maxMessageBytes\":128,"
                + "\"gap\":{\"from\":10,\"to\":20,\"reason\":\"overflow\"}}"));
    }

    static Stream<Arguments> controlFrames() {
        return Stream.of(
                Arguments.of(new OutboundFrame.Ack(9), "{\"t\":\"ack\",\"seq\":9}"),
                Arguments.of(new OutboundFrame.Ping(4), "{\"t\":\"ping\",\"ack\":4}"),
                Arguments.of(new OutboundFrame.Ping(0), "{\"t\":\"ping\"}"),
                Arguments.of(new OutboundFrame.Reply(3, Payload.json(tree("{\"ok\":true}"))),
                        "{\"t\":\"reply\",\"rid\":3,\"d\":{\"ok\":true}}"),
                Arguments.of(new OutboundFrame.Reply(3, Payload.text("done")), "{\"t\":\"reply\",\"rid\":3,\"d\":\"done\"}"),
                Arguments.of(new OutboundFrame.Reply(3, Payload.EMPTY), "{\"t\":\"reply\",\"rid\":3,\"d\":null}"),
                Arguments.of(new OutboundFrame.ReplyError(3, "unhandled", "no handler for ask"),
                        "{\"t\":\"reply\",\"rid\":3,\"err\":{\"code\":\"unhandled\",\"message\":\"no handler for ask\"}}"),
                Arguments.of(new OutboundFrame.Ok(1), "{\"t\":\"ok\",\"id\":1}"),
                Arguments.of(new OutboundFrame.Ok(2, 1_767_225_600_000L),
                        "{\"t\":\"ok\",\"id\":2,\"exp\":1767225600000}"),
                Arguments.of(new OutboundFrame.Error(2, 0, "unauthorized", "expired token"),
                        "{\"t\":\"error\",\"id\":2,\"code\":\"unauthorized\",\"message\":\"expired token\"}"),
                Arguments.of(new OutboundFrame.Refresh(1_767_225_600_000L, 45_000),
                        "{\"t\":\"refresh\",\"exp\":1767225600000,\"expiresInMs\":45000}"),
                Arguments.of(new OutboundFrame.Error(1, 0, "forbidden", "not allowed"),
                        "{\"t\":\"error\",\"id\":1,\"code\":\"forbidden\",\"message\":\"not allowed\"}"),
                Arguments.of(new OutboundFrame.Error(0, 7, "forbidden", "not allowed"),
                        "{\"t\":\"error\",\"seq\":7,\"code\":\"forbidden\",\"message\":\"not allowed\"}"),
                Arguments.of(new OutboundFrame.Gap(5, 9, "overflow"),
                        "{\"t\":\"gap\",\"from\":5,\"to\":9,\"reason\":\"overflow\"}"),
                Arguments.of(new OutboundFrame.Reconnect(1500), "{\"t\":\"reconnect\",\"afterMs\":1500}"));
    }

    @ParameterizedTest
    @MethodSource("controlFrames")
    void framesControlFrameAsDocumented(OutboundFrame control, String expected) throws Exception {
        assertThat(textJson(PROTOCOL.frame(control))).isEqualTo(tree(expected));
    }

    @Test
    void framesBinaryReplyWithHeaderAndPayload() throws Exception {
        Frame frame = PROTOCOL.frame(new OutboundFrame.Reply(12, Payload.binary(FILE_BYTES)));

        assertThat(frame.binary()).isTrue();
        byte[] all = concat(frame);
        int declared = ByteBuffer.wrap(all).getInt();
        assertThat(STRICT.readTree(Arrays.copyOfRange(all, 4, 4 + declared))).isEqualTo(tree("{\"t\":\"reply\",\"rid\":12}"));
        assertThat(Arrays.copyOfRange(all, 4 + declared, all.length)).containsExactly(FILE_BYTES);
        assertThat(PROTOCOL.decode(ByteBuffer.wrap(all), true))
                .isEqualTo(new InboundFrame.Reply(12, Payload.binary(FILE_BYTES), null, null));
    }

    // ---------------------------------------------------------------- escaping

    static Stream<String> awkwardStrings() {
        return Stream.of(
                "say \"hi\"",
                "back\\slash/and/slash",
                "caf\u00e9 \u4e2d\u6587 \ud83d\ude00",
                "nul\u0000 bell\u0007 esc\u001b us\u001f del\u007f",
                "line\nbreak\rtab\tform\fback\b",
                "separators\u2028\u2029",
                "}\",\"t\":\"ack\",\"x\":\"");
    }

    @ParameterizedTest
    @MethodSource("awkwardStrings")
    void escapesEventTopicAndTextSoTheyRoundTrip(String s) throws Exception {
        Frame text = PROTOCOL.frame(1, 0, PROTOCOL.encode(s, Payload.text(s), s));
        Frame binary = PROTOCOL.frame(1, 0, PROTOCOL.encode(s, Payload.binary(FILE_BYTES), s));

        JsonNode json = textJson(text);
        assertThat(json.get("t").textValue()).isEqualTo("msg");
        assertThat(json.get("e").textValue()).isEqualTo(s);
        assertThat(json.get("topic").textValue()).isEqualTo(s);
        assertThat(json.get("d").textValue()).isEqualTo(s);
        assertThat(PROTOCOL.decode(ByteBuffer.wrap(concat(text)), false))
                .isEqualTo(new InboundFrame.Msg(1, 0, s, Payload.text(s), s));
        assertThat(PROTOCOL.decode(ByteBuffer.wrap(concat(binary)), true))
                .isEqualTo(new InboundFrame.Msg(1, 0, s, Payload.binary(FILE_BYTES), s));
    }

    @ParameterizedTest
    @MethodSource("awkwardStrings")
    void escapesStringsInControlFrames(String s) throws Exception {
        JsonNode error = textJson(PROTOCOL.frame(new OutboundFrame.Error(2, 0, s, s)));
        JsonNode welcome = textJson(PROTOCOL.frame(new OutboundFrame.Welcome(s, s, false, 0, 0, 0, s, 1, 1, 128)));

        assertThat(error.get("code").textValue()).isEqualTo(s);
        assertThat(error.get("message").textValue()).isEqualTo(s);
        assertThat(welcome.get("sid").textValue()).isEqualTo(s);
        assertThat(welcome.get("token").textValue()).isEqualTo(s);
        assertThat(welcome.get("gap").get("reason").textValue()).isEqualTo(s);
    }

    @Test
    void writesStrictlyValidUtf8WithNonAsciiTextUnescaped() throws Exception {
        String s = "caf\u00e9 \u4e2d\u6587 \ud83d\ude00";

        byte[] bytes = concat(PROTOCOL.frame(1, 0, PROTOCOL.encode(s, Payload.text(s), s)));

        String decoded = UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString();
        // Supplementary characters may be written as an escaped surrogate pair; both are valid JSON.
        assertThat(decoded).contains("caf\u00e9 \u4e2d\u6587 ");
        assertThat(STRICT.readTree(bytes).get("d").textValue()).isEqualTo(s);
    }

    // ---------------------------------------------------------------- helpers

    private static InboundFrame decode(String json) throws ProtocolException {
        return PROTOCOL.decode(ByteBuffer.wrap(json.getBytes(UTF_8)), false);
    }

    private static void assertRejected(ByteBuffer input, boolean binary) {
        assertThatThrownBy(() -> PROTOCOL.decode(input, binary))
                .isInstanceOfSatisfying(ProtocolException.class, e -> {
                    assertThat(e.closeCode()).isEqualTo(CloseCodes.BAD_REQUEST).isEqualTo(4500);
                    // The reason goes into a close frame: at most 123 bytes.
                    assertThat(e.getMessage()).isNotBlank();
                    assertThat(e.getMessage().getBytes(UTF_8).length).isLessThanOrEqualTo(123);
                });
    }

    private static JsonNode tree(String json) {
        try {
            return STRICT.readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static JsonNode textJson(Frame frame) throws Exception {
        assertThat(frame.binary()).isFalse();
        return STRICT.readTree(concat(frame));
    }

    /** The frame's bytes, without consuming its parts. */
    private static byte[] concat(Frame frame) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuffer part : frame.parts()) {
            ByteBuffer view = part.duplicate();
            byte[] bytes = new byte[view.remaining()];
            view.get(bytes);
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    private static String ascii(ByteBuffer part) {
        ByteBuffer view = part.duplicate();
        byte[] bytes = new byte[view.remaining()];
        view.get(bytes);
        return new String(bytes, java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static byte[] binaryFrame(int declaredHeaderLength, byte[] header, byte[] payload) {
        return ByteBuffer.allocate(4 + header.length + payload.length)
                .putInt(declaredHeaderLength).put(header).put(payload).array();
    }
}
