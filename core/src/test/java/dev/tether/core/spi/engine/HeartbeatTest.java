package dev.tether.core.spi.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tether.core.spi.Frame;
import dev.tether.core.spi.TransportConnection;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
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

    @Test
    void aShortIntervalIsNotAlignedAndAnUnansweredPingIsOverdueAtItsDeadlineBeforeTheTimerGetsThere() {
        ManualScheduler timer = new ManualScheduler();
        List<String> events = new ArrayList<>();
        Heartbeat heartbeat = new Heartbeat(new Heartbeat.Schedule(timer, Duration.ofMillis(300), Duration.ofMillis(200)), new InlineConnection(),
                new Heartbeat.Owner() {
                    @Override
                    public boolean sendPing() {
                        events.add("ping");
                        return true;
                    }

                    @Override
                    public void timedOut() {
                        events.add("timeout");
                    }
                });
        heartbeat.start(TimeUnit.MILLISECONDS.toNanos(300));
        assertThat(timer.delays).as("no grid below 5 s: the ping is due exactly one interval on")
                .containsExactly(TimeUnit.MILLISECONDS.toNanos(300));
        assertThat(heartbeat.overdue(System.nanoTime() + TimeUnit.DAYS.toNanos(1))).as("no ping yet").isFalse();

        long before = System.nanoTime();
        timer.runNext(); // the ping, early: its deadline counts from when it was sent
        long after = System.nanoTime();
        assertThat(events).containsExactly("ping");
        assertThat(timer.delays.get(1)).isBetween(TimeUnit.MILLISECONDS.toNanos(200) - (after - before),
                TimeUnit.MILLISECONDS.toNanos(200));
        assertThat(heartbeat.overdue(before + TimeUnit.MILLISECONDS.toNanos(200) - 1)).isFalse();
        assertThat(heartbeat.overdue(after + TimeUnit.MILLISECONDS.toNanos(200))).isTrue();

        heartbeat.heard(System.nanoTime());
        assertThat(heartbeat.overdue(after + TimeUnit.MILLISECONDS.toNanos(200))).as("answered").isFalse();
    }

    @Test
    void aClientThatLooksIsHeldToTheDeadlineFromWhenThePingWasDueHoweverLateItWasSent() {
        ManualScheduler timer = new ManualScheduler();
        Heartbeat heartbeat = new Heartbeat(new Heartbeat.Schedule(timer, Duration.ofMillis(300), Duration.ofMillis(200)), new InlineConnection(),
                new Heartbeat.Owner() {
                    @Override
                    public boolean sendPing() {
                        return true;
                    }

                    @Override
                    public void timedOut() {
                    }
                });
        heartbeat.start(1);
        long due = System.nanoTime() + 1; // at or after the ping's due time
        long late = TimeUnit.MILLISECONDS.toNanos(60); // three times the lateness the timer's deadline absorbs
        while (System.nanoTime() - (due + late) < 0) {
            Thread.onSpinWait(); // the timer running the ping late, not synchronisation
        }
        timer.runNext();
        assertThat(timer.delays.get(1)).as("the timer's deadline forgives most of its own lateness")
                .isGreaterThan(TimeUnit.MILLISECONDS.toNanos(200) - late);
        assertThat(heartbeat.overdue(due + TimeUnit.MILLISECONDS.toNanos(200))).as("a look at due + timeout").isTrue();
    }

    @Test
    void theDefaultIntervalIsAlignedOnTheGrid() {
        ManualScheduler timer = new ManualScheduler();
        Heartbeat heartbeat = new Heartbeat(new Heartbeat.Schedule(timer, Duration.ofSeconds(25), Duration.ofSeconds(20)), new InlineConnection(),
                new Heartbeat.Owner() {
                    @Override
                    public boolean sendPing() {
                        return true;
                    }

                    @Override
                    public void timedOut() {
                    }
                });
        heartbeat.start(TimeUnit.SECONDS.toNanos(25));
        assertThat(timer.delays.get(0)).isBetween(TimeUnit.SECONDS.toNanos(25), TimeUnit.SECONDS.toNanos(25)
                + TimeUnit.MILLISECONDS.toNanos(250));
    }

    /** Runs nothing by itself: the test runs each task when it likes. */
    private static final class ManualScheduler implements Scheduler {
        final List<Long> delays = new ArrayList<>();
        final List<Runnable> tasks = new ArrayList<>();

        @Override
        public Timeout schedule(Runnable task, long delay, TimeUnit unit) {
            delays.add(unit.toNanos(delay));
            tasks.add(task);
            return () -> tasks.remove(task);
        }

        @Override
        public Timeout scheduleIfOpen(Runnable task, long delay, TimeUnit unit) {
            return schedule(task, delay, unit);
        }

        void runNext() {
            tasks.remove(0).run();
        }
    }

    /** A connection whose I/O thread is the caller's. */
    private static final class InlineConnection implements TransportConnection {
        @Override
        public boolean write(Frame frame) {
            return true;
        }

        @Override
        public void flush() {
        }

        @Override
        public boolean isWritable() {
            return true;
        }

        @Override
        public void suspendReads() {
        }

        @Override
        public void resumeReads() {
        }

        @Override
        public void execute(Runnable task) {
            task.run();
        }

        @Override
        public boolean inIoThread() {
            return true;
        }

        @Override
        public void close(int code, String reason) {
        }

        @Override
        public InetSocketAddress remoteAddress() {
            return new InetSocketAddress("127.0.0.1", 1);
        }
    }
}
