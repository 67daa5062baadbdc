package dev.tether.core.spi.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The token bucket on a clock the test moves: no real time involved. */
class TokenBucketTest {

    private static final long START = 1_000_000L; // any nanoTime value, negative ones included

    private static int take(TokenBucket bucket, long nowNanos, int attempts) {
        int taken = 0;
        for (int i = 0; i < attempts; i++) {
            if (bucket.tryTake(nowNanos)) {
                taken++;
            }
        }
        return taken;
    }

    @Test
    void startsFullWithTheBurstAndNotWithTheRate() {
        TokenBucket bucket = new TokenBucket(5_000, 1_250, START);
        assertThat(take(bucket, START, 6_000)).isEqualTo(1_250);
    }

    @Test
    void anIntervalAdmitsAtMostTheBurstPlusTheRateTimesItsLength() {
        // The third party's case: 6,000 handshakes within 250 ms at 5,000/s.
        TokenBucket bucket = new TokenBucket(5_000, 1_250, START);
        int admitted = 0;
        for (int i = 0; i < 6_000; i++) {
            long now = START + TimeUnit.MILLISECONDS.toNanos(250) * i / 6_000;
            if (bucket.tryTake(now)) {
                admitted++;
            }
        }
        assertThat(admitted).isBetween(1_250 + 1_245, 1_250 + 1_250);
    }

    @Test
    void refillsAtTheRateUpToTheBurstOnly() {
        TokenBucket bucket = new TokenBucket(10, 4, START);
        assertThat(take(bucket, START, 10)).isEqualTo(4);
        assertThat(take(bucket, START + TimeUnit.MILLISECONDS.toNanos(250), 10)).isEqualTo(2); // 2.5 tokens
        assertThat(take(bucket, START + TimeUnit.MILLISECONDS.toNanos(310), 10)).isEqualTo(1); // 0.5 + 0.6
        assertThat(take(bucket, START + TimeUnit.HOURS.toNanos(1), 10)).isEqualTo(4);
    }

    @Test
    void reserveGivesTheNextFreeTurnsOneIntervalApartUpToTheLongestWait() {
        TokenBucket bucket = new TokenBucket(10, 2, START); // turns 100 ms apart
        long second = TimeUnit.SECONDS.toNanos(1);
        assertThat(bucket.reserve(START, second)).isZero();
        assertThat(bucket.reserve(START, second)).isZero();
        for (int turn = 1; turn <= 10; turn++) {
            assertThat(bucket.reserve(START, second)).as("turn %d", turn)
                    .isEqualTo(TimeUnit.MILLISECONDS.toNanos(100) * turn);
        }
        assertThat(bucket.reserve(START, second)).as("the 11th turn is after the longest wait").isEqualTo(-1);
        assertThat(bucket.tryTake(START)).as("the promised turns come first").isFalse();
        // 550 ms later five and a half of the ten promised turns have come; the next free one is 550 ms away.
        long later = START + TimeUnit.MILLISECONDS.toNanos(550);
        assertThat(bucket.reserve(later, second)).isEqualTo(TimeUnit.MILLISECONDS.toNanos(550));
    }

    @Test
    void reserveWithNoWaitIsTryTakeAndARefusalTakesNothing() {
        TokenBucket bucket = new TokenBucket(10, 1, START);
        assertThat(bucket.reserve(START, 0)).isZero();
        assertThat(bucket.reserve(START, 0)).isEqualTo(-1);
        assertThat(bucket.reserve(START, TimeUnit.MILLISECONDS.toNanos(99))).isEqualTo(-1);
        assertThat(take(bucket, START + TimeUnit.MILLISECONDS.toNanos(100), 3)).as("the refusals took nothing").isEqualTo(1);
    }

    @Test
    void bucketsThatShareARateKeepTheirOwnTokens() {
        TokenBucket.Rate rate = new TokenBucket.Rate(10, 3);
        TokenBucket first = new TokenBucket(rate, START);
        TokenBucket second = new TokenBucket(rate, START);
        assertThat(take(first, START, 10)).isEqualTo(3);
        assertThat(take(second, START, 1)).as("the other bucket is still full").isEqualTo(1);
        assertThat(take(second, START, 10)).isEqualTo(2);
        assertThat(take(first, START + TimeUnit.MILLISECONDS.toNanos(100), 10)).isEqualTo(1);
    }

    @Test
    void aRateOrBurstBelowOneIsRefused() {
        assertThatThrownBy(() -> new TokenBucket.Rate(0, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 1");
        assertThatThrownBy(() -> new TokenBucket.Rate(1, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 1");
    }

    @Test
    void worksAcrossTheSignOfNanoTime() {
        long start = -TimeUnit.MILLISECONDS.toNanos(50);
        TokenBucket bucket = new TokenBucket(100, 1, start);
        assertThat(take(bucket, start, 3)).isEqualTo(1);
        assertThat(take(bucket, start + TimeUnit.MILLISECONDS.toNanos(100), 3)).isEqualTo(1);
    }
}
