package dev.tether.core.spi.engine;

import static org.assertj.core.api.Assertions.assertThat;

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
    void worksAcrossTheSignOfNanoTime() {
        long start = -TimeUnit.MILLISECONDS.toNanos(50);
        TokenBucket bucket = new TokenBucket(100, 1, start);
        assertThat(take(bucket, start, 3)).isEqualTo(1);
        assertThat(take(bucket, start + TimeUnit.MILLISECONDS.toNanos(100), 3)).isEqualTo(1);
    }
}
