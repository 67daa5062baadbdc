package dev.tether.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tether.core.Payload;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ClientCodecTest {

    private static JsonNode json(Object frame) throws Exception {
        assertThat(frame).isInstanceOf(String.class);
        return ClientCodec.MAPPER.readTree((String) frame);
    }

    @Test
    void helloForANewSessionCarriesOnlyTheVersion() throws Exception {
        JsonNode hello = json(ClientCodec.hello(null, null, 0, 0, 0));
        assertThat(hello.get("t").asText()).isEqualTo("hello");
        assertThat(hello.get("v").asInt()).isEqualTo(3);
        assertThat(hello.has("sid")).isFalse();
        assertThat(hello.has("token")).isFalse();
        assertThat(hello.has("last")).isFalse();
    }

    @Test
    void authCarriesItsIdAndTheToken() throws Exception {
        JsonNode auth = json(ClientCodec.auth(5, "eyJ.x.y"));
        assertThat(auth.get("t").asText()).isEqualTo("auth");
        assertThat(auth.get("id").asLong()).isEqualTo(5);
        assertThat(auth.get("token").asText()).isEqualTo("eyJ.x.y");
    }

    @Test
    void helloForAResumeCarriesSidTokenLastAndThePositionOfLastIfKnown() throws Exception {
        JsonNode hello = json(ClientCodec.hello("s-1", "tok", 41, 3, 0));
        assertThat(hello.get("sid").asText()).isEqualTo("s-1");
        assertThat(hello.get("token").asText()).isEqualTo("tok");
        assertThat(hello.get("last").asLong()).isEqualTo(41);
        assertThat(hello.get("attempt").asLong()).isEqualTo(3);
        assertThat(hello.has("pos")).isFalse();
        assertThat(json(ClientCodec.hello("s-1", "tok", 41, 3, 9001)).get("pos").asLong()).isEqualTo(9001);
    }

    @Test
    void reliableMessageCarriesSeqEventAndJsonPayload() throws Exception {
        ObjectNode d = JsonNodeFactory.instance.objectNode().put("text", "hi");
        JsonNode msg = json(ClientCodec.message(7, 0, "chat", null, ClientCodec.body(Payload.json(d))));
        assertThat(msg.get("t").asText()).isEqualTo("msg");
        assertThat(msg.get("seq").asLong()).isEqualTo(7);
        assertThat(msg.get("e").asText()).isEqualTo("chat");
        assertThat(msg.get("d")).isEqualTo(d);
        assertThat(msg.has("rid")).isFalse();
        assertThat(msg.has("topic")).isFalse();
    }

    @Test
    void volatileMessageHasNoSeqAndRequestCarriesRidAndPublishCarriesTopic() throws Exception {
        JsonNode vol = json(ClientCodec.message(0, 0, "typing", null, ClientCodec.body(Payload.EMPTY)));
        assertThat(vol.has("seq")).isFalse();
        assertThat(vol.get("d").isNull()).isTrue();

        JsonNode req = json(ClientCodec.message(3, 9, "sum", null, ClientCodec.body(Payload.text("1+2"))));
        assertThat(req.get("rid").asLong()).isEqualTo(9);
        assertThat(req.get("d").isTextual()).isTrue();
        assertThat(req.get("d").asText()).isEqualTo("1+2");

        JsonNode pub = json(ClientCodec.message(4, 0, "chat", "room-1", ClientCodec.body(Payload.text("x"))));
        assertThat(pub.get("topic").asText()).isEqualTo("room-1");
    }

    @Test
    void namesAndTextsAreEscaped() throws Exception {
        String nasty = "a\"b\\c\n\u0001é😀";
        JsonNode msg = json(ClientCodec.message(1, 0, nasty, nasty, ClientCodec.body(Payload.text(nasty))));
        assertThat(msg.get("e").asText()).isEqualTo(nasty);
        assertThat(msg.get("topic").asText()).isEqualTo(nasty);
        assertThat(msg.get("d").asText()).isEqualTo(nasty);
    }

    @Test
    void binaryMessageIsLengthPrefixedHeaderThenRawBytes() throws Exception {
        byte[] bytes = {0, 1, 2, (byte) 0xFF, 42};
        Object frame = ClientCodec.message(5, 2, "blob", "t", ClientCodec.body(Payload.binary(bytes)));
        assertThat(frame).isInstanceOf(byte[].class);
        byte[] wire = (byte[]) frame;
        int headerLength = ByteBuffer.wrap(wire).getInt();
        JsonNode header = ClientCodec.MAPPER.readTree(new String(wire, 4, headerLength, StandardCharsets.UTF_8));
        assertThat(header.get("t").asText()).isEqualTo("msg");
        assertThat(header.get("seq").asLong()).isEqualTo(5);
        assertThat(header.get("rid").asLong()).isEqualTo(2);
        assertThat(header.get("e").asText()).isEqualTo("blob");
        assertThat(header.get("topic").asText()).isEqualTo("t");
        assertThat(header.has("d")).isFalse();
        assertThat(Arrays.copyOfRange(wire, 4 + headerLength, wire.length)).containsExactly(bytes);
    }

    @Test
    void binaryReplyUsesTheBinaryEncoding() throws Exception {
        byte[] wire = (byte[]) ClientCodec.reply(12, ClientCodec.body(Payload.binary(new byte[] {9})));
        ServerFrame decoded = ClientCodec.decode(wire, wire.length);
        assertThat(decoded.type()).isEqualTo("reply");
        assertThat(decoded.longField("rid", 1)).isEqualTo(12);
        assertThat(decoded.payload()).isEqualTo(Payload.binary(new byte[] {9}));
    }

    @Test
    void controlFramesMatchTheProtocol() throws Exception {
        assertThat(json(ClientCodec.ack(17))).isEqualTo(ClientCodec.MAPPER.readTree("{\"t\":\"ack\",\"seq\":17}"));
        assertThat(json(ClientCodec.pong(0))).isEqualTo(ClientCodec.MAPPER.readTree("{\"t\":\"pong\"}"));
        assertThat(json(ClientCodec.pong(5))).isEqualTo(ClientCodec.MAPPER.readTree("{\"t\":\"pong\",\"ack\":5}"));
        assertThat(json(ClientCodec.topic(true, 3, "r"))).isEqualTo(
                ClientCodec.MAPPER.readTree("{\"t\":\"sub\",\"id\":3,\"topic\":\"r\"}"));
        assertThat(json(ClientCodec.topic(false, 4, "r"))).isEqualTo(
                ClientCodec.MAPPER.readTree("{\"t\":\"unsub\",\"id\":4,\"topic\":\"r\"}"));
        assertThat(json(ClientCodec.replyError(8, "nope", "not now"))).isEqualTo(ClientCodec.MAPPER.readTree(
                "{\"t\":\"reply\",\"rid\":8,\"err\":{\"code\":\"nope\",\"message\":\"not now\"}}"));
        assertThat(json(ClientCodec.reply(8, ClientCodec.body(Payload.text("ok"))))).isEqualTo(
                ClientCodec.MAPPER.readTree("{\"t\":\"reply\",\"rid\":8,\"d\":\"ok\"}"));
    }

    @Test
    void decodesTextFramesAndTheirPayloads() throws Exception {
        ServerFrame msg = ClientCodec.decode("{\"t\":\"msg\",\"seq\":3,\"e\":\"x\",\"d\":{\"a\":1},\"future\":true}");
        assertThat(msg.type()).isEqualTo("msg");
        assertThat(msg.longField("seq", 1, 0)).isEqualTo(3);
        assertThat(msg.longField("rid", 1, 0)).isZero();
        assertThat(msg.payload().asText()).isEqualTo("{\"a\":1}");
        assertThat(ClientCodec.decode("{\"t\":\"msg\",\"e\":\"x\"}").payload()).isEqualTo(Payload.EMPTY);
        assertThat(ClientCodec.decode("{\"t\":\"msg\",\"e\":\"x\",\"d\":\"s\"}").payload()).isEqualTo(Payload.text("s"));
    }

    @Test
    void decodesBinaryFramesFromTheServer() throws Exception {
        byte[] header = "{\"t\":\"msg\",\"seq\":1,\"e\":\"img\"}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer frame = ByteBuffer.allocate(4 + header.length + 3 + 10);
        frame.putInt(header.length).put(header).put(new byte[] {7, 8, 9});
        // A reassembled message usually sits in a larger array: only [0, length) counts.
        int length = frame.position();
        ServerFrame decoded = ClientCodec.decode(frame.array(), length);
        assertThat(decoded.textField("e")).isEqualTo("img");
        assertThat(decoded.payload()).isEqualTo(Payload.binary(new byte[] {7, 8, 9}));
    }

    @Test
    void rejectsMalformedFrames() {
        assertThatThrownBy(() -> ClientCodec.decode("not json")).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> ClientCodec.decode("[1,2]")).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> ClientCodec.decode("{\"seq\":1}")).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> ClientCodec.decode("{\"t\":5}")).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> ClientCodec.decode(new byte[] {0, 0}, 2)).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> ClientCodec.decode(new byte[] {0, 0, 0, 9, '{', '}'}, 6))
                .isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> ClientCodec.decode(new byte[] {(byte) 0xFF, 0, 0, 0, '{', '}'}, 6))
                .isInstanceOf(FrameException.class);
    }

    @Test
    void fieldAccessorsRejectWrongTypesAndRanges() throws Exception {
        ServerFrame f = ClientCodec.decode(
                "{\"t\":\"x\",\"frac\":1.5,\"neg\":-1,\"big\":9007199254740992,\"s\":\"a\",\"b\":true}");
        assertThatThrownBy(() -> f.longField("frac", 0)).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> f.longField("neg", 0)).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> f.longField("big", 0)).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> f.longField("s", 0)).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> f.longField("missing", 0)).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> f.textField("b")).isInstanceOf(FrameException.class);
        assertThatThrownBy(() -> f.booleanField("s")).isInstanceOf(FrameException.class);
        assertThat(f.booleanField("b")).isTrue();
        assertThat(f.textField("nope", null)).isNull();
    }

    @Test
    void frameSizeEstimateIsAnUpperBound() {
        String[] texts = {"", "ascii", "é and ü", "日本語", "😀😀", "quote\"back\\slash"};
        for (String t : texts) {
            assertThat(ClientCodec.utf8Length(t)).isEqualTo(t.getBytes(StandardCharsets.UTF_8).length);
            ClientCodec.Body body = ClientCodec.body(Payload.text(t));
            String frame = (String) ClientCodec.message(ServerFrame.MAX_INT, ServerFrame.MAX_INT, "ev" + t, "to" + t, body);
            assertThat(body.frameBytes("ev" + t, "to" + t))
                    .isGreaterThanOrEqualTo(frame.getBytes(StandardCharsets.UTF_8).length);
        }
        ClientCodec.Body binary = ClientCodec.body(Payload.binary(new byte[1000]));
        byte[] wire = (byte[]) ClientCodec.message(ServerFrame.MAX_INT, ServerFrame.MAX_INT, "e", "t", binary);
        assertThat(binary.frameBytes("e", "t")).isGreaterThanOrEqualTo(wire.length);
    }
}
