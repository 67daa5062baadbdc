package dev.tether.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BackoffTest {

    private final Backoff backoff = new Backoff(250, 30_000);

    @Test
    void ceilingDoublesFromBaseUntilCap() {
        assertThat(backoff.ceilingMs(0)).isEqualTo(250);
        assertThat(backoff.ceilingMs(1)).isEqualTo(500);
        assertThat(backoff.ceilingMs(2)).isEqualTo(1000);
        assertThat(backoff.ceilingMs(6)).isEqualTo(16_000);
        assertThat(backoff.ceilingMs(7)).isEqualTo(30_000);
        assertThat(backoff.ceilingMs(62)).isEqualTo(30_000);
        assertThat(backoff.ceilingMs(Integer.MAX_VALUE)).isEqualTo(30_000);
        assertThat(new Backoff(Long.MAX_VALUE / 2, Long.MAX_VALUE).ceilingMs(3)).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void everyDelayStaysInsideTheFullJitterWindow() {
        SplittableRandom random = new SplittableRandom(1);
        for (int attempt = 0; attempt < 12; attempt++) {
            long ceiling = backoff.ceilingMs(attempt);
            for (int i = 0; i < 2_000; i++) {
                assertThat(backoff.delayMs(attempt, 0, random)).isBetween(0L, ceiling);
            }
        }
    }

    @Test
    void delaysOfManyClientsAreSpreadOverTheWindowNotInLockStep() {
        SplittableRandom random = new SplittableRandom(7);
        int clients = 1_000;
        int attempt = 5; // window [0, 8000] ms
        long ceiling = backoff.ceilingMs(attempt);
        int[] buckets = new int[10];
        Set<Long> distinct = new HashSet<>();
        long min = Long.MAX_VALUE;
        long max = 0;
        for (int i = 0; i < clients; i++) {
            long d = backoff.delayMs(attempt, 0, random);
            distinct.add(d);
            buckets[(int) Math.min(9, d * 10 / (ceiling + 1))]++;
            min = Math.min(min, d);
            max = Math.max(max, d);
        }
        assertThat(distinct.size()).isGreaterThan(clients * 9 / 10);
        for (int count : buckets) {
            // Uniform would be 100 per bucket; full jitter must reach every tenth of the window.
            assertThat(count).isBetween(50, 150);
        }
        assertThat(min).isLessThan(ceiling / 10);
        assertThat(max).isGreaterThan(ceiling * 9 / 10);
    }

    @Test
    void aServerMinimumIsAFloorWithJitterOnTop() {
        SplittableRandom random = new SplittableRandom(3);
        Set<Long> distinct = new HashSet<>();
        for (int i = 0; i < 500; i++) {
            long d = backoff.delayMs(0, 5_000, random);
            assertThat(d).isBetween(5_000L, 5_250L);
            distinct.add(d);
        }
        assertThat(distinct.size()).isGreaterThan(100);
    }

    @Test
    void rejectsNonsense() {
        assertThatThrownBy(() -> new Backoff(0, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Backoff(10, 5)).isInstanceOf(IllegalArgumentException.class);
    }
}
