package dev.tether.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tether.core.Message;
import dev.tether.core.Payload;
import org.junit.jupiter.api.Test;

class UnackedBufferTest {

    private static Message m(String event) {
        return new Message(event, Payload.EMPTY);
    }

    @Test
    void numbersFromOneAndReleasesCumulatively() {
        UnackedBuffer buffer = new UnackedBuffer(4);
        assertThat(buffer.append("f1", m("a"))).isEqualTo(1);
        assertThat(buffer.append("f2", m("b"))).isEqualTo(2);
        assertThat(buffer.append("f3", m("c"))).isEqualTo(3);
        assertThat(buffer.size()).isEqualTo(3);
        assertThat(buffer.releaseUpTo(2)).isEqualTo(2);
        assertThat(buffer.releaseUpTo(1)).as("an old ack frees nothing").isZero();
        assertThat(buffer.firstSeq()).isEqualTo(3);
        assertThat(buffer.frame(3)).isEqualTo("f3");
        assertThatThrownBy(() -> buffer.frame(2)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> buffer.releaseUpTo(4)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void keepsOriginalFramesAcrossWrapAround() {
        UnackedBuffer buffer = new UnackedBuffer(3); // rounded up to 4 slots
        for (int round = 0; round < 100; round++) {
            long first = buffer.append("x" + round, null);
            long second = buffer.append("y" + round, null);
            assertThat(buffer.frame(first)).isEqualTo("x" + round);
            assertThat(buffer.frame(second)).isEqualTo("y" + round);
            buffer.releaseUpTo(second);
        }
        assertThat(buffer.highestSeq()).isEqualTo(200);
        assertThat(buffer.size()).isZero();
    }

    @Test
    void refusesToOverwriteUnacknowledgedMessages() {
        UnackedBuffer buffer = new UnackedBuffer(2);
        buffer.append("a", null);
        buffer.append("b", null);
        assertThatThrownBy(() -> buffer.append("c", null)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void clearReturnsTheHeldMessagesInOrderAndRestartsNumbering() {
        UnackedBuffer buffer = new UnackedBuffer(8);
        buffer.append("1", m("a"));
        buffer.append("2", null); // a request: reported through its future instead
        buffer.append("3", m("c"));
        buffer.releaseUpTo(1);
        assertThat(buffer.clear()).extracting(Message::event).containsExactly("c");
        assertThat(buffer.size()).isZero();
        assertThat(buffer.nextSeq()).isEqualTo(1);
    }
}
