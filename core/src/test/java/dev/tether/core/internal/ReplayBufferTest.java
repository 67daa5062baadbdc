package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReplayBufferTest {

    private static List<Long> seqsAfter(ReplayBuffer buffer, long after) {
        List<Long> seqs = new ArrayList<>();
        buffer.forEachAfter(after, (item, seq) -> seqs.add(seq));
        return seqs;
    }

    @Test
    void holdsNothingUntilTheFirstEntryGrowsInOrderAcrossWrapAroundAndShrinksWhenEmptied() {
        ReplayBuffer buffer = new ReplayBuffer(1024, 1 << 20);
        assertThat(buffer.allocated()).isZero();
        assertThat(buffer.release(10)).isZero();
        assertThat(buffer.oldest()).isNull();
        assertThat(buffer.entryAt(1)).isNull();
        for (long seq = 1; seq <= 6; seq++) {
            buffer.add("m" + seq, seq, 10);
        }
        assertThat(buffer.release(4)).isEqualTo(4); // head moves: the next growth must unwrap
        for (long seq = 7; seq <= 40; seq++) {
            buffer.add("m" + seq, seq, 10);
        }
        assertThat(buffer.allocated()).isEqualTo(64);
        assertThat(buffer.size()).isEqualTo(36);
        assertThat(seqsAfter(buffer, 0)).containsExactlyElementsOf(
                java.util.stream.LongStream.rangeClosed(5, 40).boxed().toList());
        assertThat(buffer.bytes()).isEqualTo(360);
        assertThat(buffer.release(40)).isEqualTo(36);
        assertThat(buffer.allocated()).isEqualTo(ReplayBuffer.INITIAL_CAPACITY);
        assertThat(buffer.bytes()).isZero();
    }

    @Test
    void trimGivesUpTheRingOnlyWhenNothingWaitsForAnAcknowledgement() {
        ReplayBuffer buffer = new ReplayBuffer(1024, 1 << 20);
        buffer.add("m1", 1, 10);
        buffer.add("m2", 2, 10);
        buffer.trimIfEmpty();
        assertThat(buffer.allocated()).isEqualTo(ReplayBuffer.INITIAL_CAPACITY);
        assertThat(seqsAfter(buffer, 0)).containsExactly(1L, 2L);

        assertThat(buffer.release(2)).isEqualTo(2);
        buffer.trimIfEmpty();
        assertThat(buffer.allocated()).isZero();
        assertThat(buffer.size()).isZero();

        buffer.add("m3", 3, 10); // allocated again, numbering goes on
        assertThat(buffer.allocated()).isEqualTo(ReplayBuffer.INITIAL_CAPACITY);
        assertThat(buffer.entryAt(3)).isEqualTo("m3");
        assertThat(buffer.oldest()).isEqualTo("m3");
    }

    @Test
    void boundedInEntriesAndBytes() {
        ReplayBuffer byCount = new ReplayBuffer(16, 1 << 20);
        for (long seq = 1; seq <= 16; seq++) {
            assertThat(byCount.fits(1)).isTrue();
            byCount.add("m", seq, 1);
        }
        assertThat(byCount.fits(1)).isFalse();
        assertThatThrownBy(() -> byCount.add("m", 17, 1)).isInstanceOf(IllegalStateException.class);

        ReplayBuffer byBytes = new ReplayBuffer(16, 1024);
        byBytes.add("m", 1, 1000);
        assertThat(byBytes.fits(100)).isFalse();
        assertThat(byBytes.fits(24)).isTrue();
    }

    @Test
    void anEmptyBufferTakesOneEntryLargerThanItsByteLimit() {
        ReplayBuffer buffer = new ReplayBuffer(16, 1024);
        assertThat(buffer.fits(1 << 20)).isTrue();
        buffer.add("huge", 1, 1 << 20);
        assertThat(buffer.fits(1)).isFalse();
    }

    @Test
    void aGapEntryCoversItsRangeAndIsReleasedByAnAckOfItsLastNumber() {
        ReplayBuffer buffer = new ReplayBuffer(16, 1 << 20);
        buffer.add("m1", 1, 10);
        buffer.add(new dev.tether.core.spi.OutboundFrame.Gap(2, 9, "overflow"), 9, 32);
        buffer.add("m10", 10, 10);
        assertThat(seqsAfter(buffer, 1)).containsExactly(9L, 10L);
        assertThat(buffer.release(8)).isEqualTo(1); // the gap is not fully acknowledged yet
        assertThat(buffer.release(9)).isEqualTo(1);
        assertThat(seqsAfter(buffer, 0)).containsExactly(10L);
    }

    @Test
    void evictOldestDropsTheHeadAndReturnsItsLastSequenceNumber() {
        ReplayBuffer buffer = new ReplayBuffer(4, 1000);
        for (int seq = 1; seq <= 4; seq++) {
            buffer.add("m" + seq, seq, 10);
        }
        assertThat(buffer.fits(10)).isFalse();
        assertThat(buffer.evictOldest()).isEqualTo(1);
        assertThat(buffer.size()).isEqualTo(3);
        assertThat(buffer.bytes()).isEqualTo(30);
        assertThat(buffer.fits(10)).isTrue();
        StringBuilder left = new StringBuilder();
        buffer.forEachAfter(0, (item, seq) -> left.append(item));
        assertThat(left.toString()).isEqualTo("m2m3m4");
    }
}
