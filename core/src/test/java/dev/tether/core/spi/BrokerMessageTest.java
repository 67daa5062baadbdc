package dev.tether.core.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tether.core.Payload;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The binary form every broker stores and ships: both versions, written and read. */
class BrokerMessageTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyPayloadKindSurvivesTheBinaryForm() throws Exception {
        for (Payload p : new Payload[] {Payload.text("héllo"), Payload.json(JSON.readTree("[1,{\"a\":\"b\"}]")),
                Payload.Binary.wrap(new byte[] {0, 1, 2, (byte) 0xff})}) {
            BrokerMessage m = new BrokerMessage("ev", p, true, 7, null);
            assertThat(BrokerMessage.fromBytes(m.toBytes())).isEqualTo(m);
            BrokerMessage excepting = new BrokerMessage("ev", p, true, 0, "s-1.abc");
            assertThat(BrokerMessage.fromBytes(excepting.toBytes())).isEqualTo(excepting);
        }
        BrokerMessage empty = BrokerMessage.volatileMessage("é", Payload.text(""));
        assertThat(BrokerMessage.fromBytes(empty.toBytes())).isEqualTo(empty);
    }

    @Test
    void aMessageWithoutExceptIsWrittenInVersionOneAsBefore() {
        byte[] bytes = new BrokerMessage("e", Payload.text("hi"), true, 3).toBytes();
        byte[] expected = ByteBuffer.allocate(3 + 8 + 4 + 1 + 2)
                .put((byte) 1).put((byte) 1).put((byte) 0).putLong(3).putInt(1).put((byte) 'e')
                .put("hi".getBytes(StandardCharsets.UTF_8)).array();
        assertThat(bytes).isEqualTo(expected);
        assertThat(BrokerMessage.fromBytes(expected).except()).isNull();
    }

    @Test
    void aMessageWithExceptIsWrittenInVersionTwoWithTheSessionIdAfterTheEvent() {
        byte[] bytes = new BrokerMessage("e", Payload.text("hi"), true, 0, "s1").toBytes();
        byte[] expected = ByteBuffer.allocate(3 + 8 + 4 + 1 + 4 + 2 + 2)
                .put((byte) 2).put((byte) 1).put((byte) 0).putLong(0).putInt(1).put((byte) 'e')
                .putInt(2).put("s1".getBytes(StandardCharsets.UTF_8))
                .put("hi".getBytes(StandardCharsets.UTF_8)).array();
        assertThat(bytes).isEqualTo(expected);
        BrokerMessage read = BrokerMessage.fromBytes(expected);
        assertThat(read.except()).isEqualTo("s1");
        assertThat(read.payload().asText()).isEqualTo("hi");
    }

    @Test
    void unknownVersionsAndTruncatedFormsAreRefused() {
        byte[] good = new BrokerMessage("event", Payload.text("x"), true, 0, "s1").toBytes();
        byte[] future = good.clone();
        future[0] = 3;
        assertThatThrownBy(() -> BrokerMessage.fromBytes(future)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("version 3");
        // Every cut before the payload (its one byte may go: an empty payload is still a form).
        for (int cut = 0; cut < good.length - 1; cut++) {
            byte[] truncated = Arrays.copyOf(good, cut);
            assertThatThrownBy(() -> BrokerMessage.fromBytes(truncated)).as("cut at " + cut)
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void anEmptyExceptIsACallerBug() {
        assertThatThrownBy(() -> new BrokerMessage("e", Payload.text("x"), true, 0, ""))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
