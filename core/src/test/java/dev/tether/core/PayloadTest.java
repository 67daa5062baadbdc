package dev.tether.core;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import org.junit.jupiter.api.Test;

class PayloadTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void jsonStringIsNormalisedToText() {
        Payload payload = Payload.json(TextNode.valueOf("hello"));

        assertThat(payload).isInstanceOf(Payload.Text.class).isEqualTo(Payload.text("hello"));
    }

    @Test
    void nonStringJsonStaysJson() throws Exception {
        JsonNode object = MAPPER.readTree("{\"a\":[1,\"x\"]}");

        assertThat(Payload.json(object)).isEqualTo(new Payload.Json(object));
        assertThat(Payload.json(JsonNodeFactory.instance.numberNode(5))).isInstanceOf(Payload.Json.class);
        assertThat(Payload.json(NullNode.getInstance())).isEqualTo(Payload.EMPTY);
    }

    @Test
    void nullValuesAreRejected() {
        assertThatThrownBy(() -> Payload.json(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> Payload.text(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> Payload.binary(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> Payload.Binary.wrap(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void binaryCopiesItsInput() {
        byte[] source = {1, 2, 3};

        Payload.Binary payload = (Payload.Binary) Payload.binary(source);
        source[0] = 99;

        assertThat(payload.toByteArray()).containsExactly(1, 2, 3);
        assertThat(payload.length()).isEqualTo(3);
    }

    @Test
    void binaryNeverExposesItsArray() {
        Payload.Binary payload = (Payload.Binary) Payload.binary(new byte[] {1, 2, 3});

        payload.toByteArray()[0] = 99;
        ByteBuffer view = payload.buffer();

        assertThat(view.isReadOnly()).isTrue();
        assertThatThrownBy(() -> view.put(0, (byte) 42)).isInstanceOf(ReadOnlyBufferException.class);
        assertThat(payload.toByteArray()).containsExactly(1, 2, 3);
        assertThat(view.remaining()).isEqualTo(3);
    }

    @Test
    void wrapTakesOverTheArrayWithoutCopying() {
        byte[] owned = {1, 2, 3};

        Payload.Binary payload = Payload.Binary.wrap(owned);
        owned[0] = 7;

        assertThat(payload.toByteArray()).containsExactly(7, 2, 3);
    }

    @Test
    void binaryPayloadsAreEqualByContent() {
        Payload a = Payload.binary(new byte[] {1, 2, 3});
        Payload b = Payload.Binary.wrap(new byte[] {1, 2, 3});
        Payload c = Payload.binary(new byte[] {1, 2, 4});

        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b).isNotEqualTo(c);
        assertThat(Payload.binary(new byte[0])).isEqualTo(Payload.binary(new byte[0]));
        assertThat(a).isNotEqualTo(Payload.text("\u0001\u0002\u0003"));
        assertThat(a.toString()).isEqualTo("Binary[3 bytes]");
    }

    @Test
    void asTextGivesTheStringTheJsonTextOrTheUtf8DecodedBytes() throws Exception {
        assertThat(Payload.text("h\u00e9llo \"q\"").asText()).isEqualTo("h\u00e9llo \"q\"");
        assertThat(Payload.json(TextNode.valueOf("plain")).asText()).isEqualTo("plain");
        assertThat(Payload.json(MAPPER.readTree("{\"a\":[1,true,null]}")).asText()).isEqualTo("{\"a\":[1,true,null]}");
        assertThat(Payload.EMPTY.asText()).isEqualTo("null");
        assertThat(Payload.binary("caf\u00e9 \ud83d\ude00".getBytes(UTF_8)).asText()).isEqualTo("caf\u00e9 \ud83d\ude00");
    }
}
