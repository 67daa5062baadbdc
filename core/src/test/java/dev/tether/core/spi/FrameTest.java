package dev.tether.core.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FrameTest {

    @Test
    void copyBytesJoinsThePartsAndLeavesTheirPositionsAlone() {
        ByteBuffer head = ByteBuffer.wrap("xx{\"a\":".getBytes(StandardCharsets.UTF_8));
        head.position(2);
        ByteBuffer tail = ByteBuffer.wrap("1}".getBytes(StandardCharsets.UTF_8));
        Frame frame = Frame.text(head, tail);

        assertThat(new String(frame.copyBytes(), StandardCharsets.UTF_8)).isEqualTo("{\"a\":1}");
        assertThat(head.position()).isEqualTo(2);
        assertThat(tail.position()).isZero();
        assertThat(frame.copyBytes()).hasSize(frame.length());
    }
}
