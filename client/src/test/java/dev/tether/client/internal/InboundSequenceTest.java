package dev.tether.client.internal;

import static dev.tether.client.internal.InboundSequence.DELIVER;
import static dev.tether.client.internal.InboundSequence.DUPLICATE;
import static dev.tether.client.internal.InboundSequence.OUT_OF_ORDER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class InboundSequenceTest {

    @Test
    void deliversTheNextInOrderDropsReplaysAndFlagsHoles() {
        InboundSequence in = new InboundSequence(32);
        assertThat(in.accept(1, 0)).isEqualTo(DELIVER);
        assertThat(in.accept(2, 0)).isEqualTo(DELIVER);
        assertThat(in.accept(2, 0)).isEqualTo(DUPLICATE);
        assertThat(in.accept(1, 0)).isEqualTo(DUPLICATE);
        assertThat(in.accept(4, 0)).isEqualTo(OUT_OF_ORDER);
        assertThat(in.last()).isEqualTo(2);
        assertThat(in.accept(3, 0)).isEqualTo(DELIVER);
        assertThat(in.last()).isEqualTo(3);
    }

    @Test
    void replayAfterResumeIsDeliveredExactlyOnce() {
        InboundSequence in = new InboundSequence(32);
        int delivered = 0;
        for (long seq = 1; seq <= 10; seq++) {
            delivered += in.accept(seq, 0) == DELIVER ? 1 : 0;
        }
        // The server replays 6..15 after a resume that raced with our last ack.
        for (long seq = 6; seq <= 15; seq++) {
            delivered += in.accept(seq, 0) == DELIVER ? 1 : 0;
        }
        assertThat(delivered).isEqualTo(15);
        assertThat(in.last()).isEqualTo(15);
    }

    @Test
    void ackIsDueAfterAckEveryMessages() {
        InboundSequence in = new InboundSequence(3);
        in.accept(1, 0);
        assertThat(in.firstUnacked()).isTrue();
        assertThat(in.ackDue()).isFalse();
        in.accept(2, 0);
        assertThat(in.firstUnacked()).isFalse();
        assertThat(in.ackDue()).isFalse();
        in.accept(3, 0);
        assertThat(in.ackDue()).isTrue();
        assertThat(in.takeAck()).isEqualTo(3);
        assertThat(in.hasUnacked()).isFalse();
        assertThat(in.ackDue()).isFalse();
        in.accept(4, 0);
        assertThat(in.firstUnacked()).isTrue();
        assertThat(in.hasUnacked()).isTrue();
    }

    @Test
    void duplicatesNeitherCountTowardsTheAckNorArmTheTimer() {
        InboundSequence in = new InboundSequence(2);
        in.accept(1, 0);
        in.takeAck();
        in.accept(1, 0);
        in.accept(1, 0);
        assertThat(in.ackDue()).isFalse();
        assertThat(in.hasUnacked()).isFalse();
    }

    @Test
    void gapSkipsTheLostRangeAndTheNextMessageFollowsIt() {
        InboundSequence in = new InboundSequence(32);
        in.accept(1, 0);
        assertThat(in.skip(2, 5)).isTrue();
        assertThat(in.last()).isEqualTo(5);
        assertThat(in.hasUnacked()).isTrue();
        assertThat(in.accept(6, 0)).isEqualTo(DELIVER);
        assertThat(in.skip(3, 4)).as("a gap replayed after resume").isFalse();
        assertThatThrownBy(() -> in.skip(9, 10)).as("a gap that leaves a hole").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> in.skip(5, 4)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aResumeCountsAsAcknowledgedAndANewSessionRestartsAtOne() {
        InboundSequence in = new InboundSequence(32);
        in.accept(1, 0);
        in.accept(2, 0);
        in.resumed();
        assertThat(in.hasUnacked()).isFalse();
        assertThat(in.last()).isEqualTo(2);
        in.reset();
        assertThat(in.last()).isZero();
        assertThat(in.accept(1, 0)).isEqualTo(DELIVER);
    }

    @Test
    void keepsThePositionOfTheLastDeliveredMessageAndForgetsItAfterAGapOrANewSession() {
        InboundSequence in = new InboundSequence(32);
        in.accept(1, 17);
        in.accept(2, 40);
        assertThat(in.accept(2, 99)).isEqualTo(DUPLICATE);
        assertThat(in.lastPosition()).as("a duplicate changes nothing").isEqualTo(40);
        in.accept(3, 0);
        assertThat(in.lastPosition()).as("a message without a position: none known").isZero();
        in.accept(4, 55);
        in.skip(5, 6);
        assertThat(in.lastPosition()).as("a gap has no position").isZero();
        in.accept(7, 60);
        in.reset();
        assertThat(in.lastPosition()).isZero();
    }
}
