package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class UnackedAgesTest {

    private static final long SECOND = UnackedAges.EPOCH_NANOS;

    private long now = 1_000 * SECOND;
    private final UnackedAges ages = new UnackedAges(() -> now);

    private long ageSeconds() {
        return TimeUnit.NANOSECONDS.toSeconds(ages.oldestAgeNanos());
    }

    @Test
    void nothingCountedIsAgeZero() {
        now += 100 * SECOND;
        assertThat(ages.oldestAgeNanos()).isZero();
    }

    @Test
    void theOldestCountedEpochGivesTheAgeRoundedDownToTheSecond() {
        int first = ages.epochNow();
        ages.add(0, first);
        now += 3 * SECOND;
        ages.add(5, ages.epochNow());
        now += SECOND + SECOND / 2;
        assertThat(ageSeconds()).isEqualTo(4);
        ages.remove(0, first);
        assertThat(ageSeconds()).as("the younger session, in another stripe, is the oldest now").isEqualTo(1);
        ages.remove(5, first + 3);
        assertThat(ages.oldestAgeNanos()).isZero();
    }

    @Test
    void severalSessionsInOneEpochCountUntilTheLastLeaves() {
        int epoch = ages.epochNow();
        ages.add(1, epoch);
        ages.add(1, epoch);
        now += 2 * SECOND;
        ages.remove(1, epoch);
        assertThat(ageSeconds()).isEqualTo(2);
        ages.remove(1, epoch);
        assertThat(ages.oldestAgeNanos()).isZero();
    }

    @Test
    void aSessionOlderThanTheRingIsReportedAsAtLeastTheRingWhenItsSlotIsReused() {
        int old = ages.epochNow();
        ages.add(0, old);
        now += UnackedAges.SLOTS * SECOND;
        int young = ages.epochNow();
        ages.add(0, young); // the same slot: the old session moves out of the ring
        assertThat(ageSeconds()).isEqualTo(UnackedAges.SLOTS);
        now += 10 * SECOND;
        assertThat(ageSeconds()).as("no more than the ring is known").isEqualTo(UnackedAges.SLOTS);
        ages.remove(0, old);
        assertThat(ageSeconds()).isEqualTo(10);
        ages.remove(0, young);
        assertThat(ages.oldestAgeNanos()).isZero();
    }

    @Test
    void anOldEpochWhoseSlotAYoungerOneTookIsCountedOutsideTheRing() {
        int old = ages.epochNow();
        now += UnackedAges.SLOTS * SECOND;
        int young = ages.epochNow();
        ages.add(2, young);
        ages.add(2, old); // a session's head moved to a message written a ring ago
        assertThat(ageSeconds()).isEqualTo(UnackedAges.SLOTS);
        ages.remove(2, old);
        assertThat(ageSeconds()).isZero();
        ages.remove(2, young);
        assertThat(ages.oldestAgeNanos()).isZero();
    }

    @Test
    void anUnreusedSlotKeepsAnExactAgeBeyondTheRing() {
        int old = ages.epochNow();
        ages.add(3, old);
        now += (UnackedAges.SLOTS + 5) * SECOND;
        assertThat(ageSeconds()).isEqualTo(UnackedAges.SLOTS + 5);
    }
}
