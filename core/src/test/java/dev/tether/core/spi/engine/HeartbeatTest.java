package dev.tether.core.spi.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

class HeartbeatTest {

    @Test
    void pingDelaysEndOnTheGridAndAreNeverEarlyNorLateByAGridStep() {
        long grid = 250_000_000L;
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < 10_000; i++) {
            long now = random.nextLong(0, 1L << 50);
            long delay = random.nextLong(1, 30_000_000_000L);
            long aligned = Heartbeat.alignUp(now, delay, grid);
            assertThat(aligned).isBetween(delay, delay + grid - 1);
            assertThat((now + aligned) % grid).isZero();
        }
    }

    @Test
    void twoConnectionsWhosePingsFallInOneGridStepAreDueTogether() {
        long grid = 250_000_000L;
        long now = 10 * grid + 7;
        // Due 100 ms and 240 ms from now: the same grid step, so the same instant.
        assertThat(now + Heartbeat.alignUp(now, 100_000_000L, grid)).isEqualTo(now + Heartbeat.alignUp(now, 240_000_000L, grid));
    }
}
