package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tether.core.spi.ErrorHandler;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HashedWheelTimerTest {

    /** Allowance for the OS waking the timer thread late on a loaded CI machine. */
    private static final long SLACK_MS = 30;

    /**
     * Wider allowance for tests that race other threads against a parked timer on two cores;
     * still far below the 400 ms or more that a missed unpark costs after {@link #awaitLongSleep}.
     */
    private static final long WAKE_SLACK_MS = 100;

    private final List<HashedWheelTimer> timers = new ArrayList<>();

    @AfterEach
    void closeTimers() {
        timers.forEach(HashedWheelTimer::close);
    }

    private HashedWheelTimer timer(long tickMs, int wheelSize, ErrorHandler errors) {
        HashedWheelTimer t = new HashedWheelTimer("test-timer", tickMs, wheelSize, errors);
        timers.add(t);
        return t;
    }

    @Test
    void firesWithinOneTickOfDeadline() throws InterruptedException {
        long tickMs = 10;
        HashedWheelTimer timer = timer(tickMs, 64, ErrorHandler.LOGGING);
        long[] delaysMs = {0, 1, 15, 37, 50, 99, 120, 250};
        AtomicLongArray firedAt = new AtomicLongArray(delaysMs.length);
        long[] deadlines = new long[delaysMs.length];
        CountDownLatch done = new CountDownLatch(delaysMs.length);
        for (int i = 0; i < delaysMs.length; i++) {
            int idx = i;
            deadlines[i] = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delaysMs[i]);
            timer.schedule(() -> {
                firedAt.set(idx, System.nanoTime());
                done.countDown();
            }, delaysMs[i], TimeUnit.MILLISECONDS);
        }

        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < delaysMs.length; i++) {
            long lateMs = TimeUnit.NANOSECONDS.toMillis(firedAt.get(i) - deadlines[i]);
            assertThat(firedAt.get(i) - deadlines[i])
                    .as("delay %d ms fired %d ms after its deadline", delaysMs[i], lateMs)
                    .isGreaterThanOrEqualTo(0);
            assertThat(lateMs)
                    .as("delay %d ms lateness", delaysMs[i])
                    .isLessThanOrEqualTo(tickMs + SLACK_MS);
        }
    }

    @Test
    void firesDeadlinesSeveralRotationsAwayOnTimeWithoutDrift() throws InterruptedException {
        // 4 buckets of 2 ms: a 300 ms delay is about 37 rotations, exercising the rounds counter
        // and showing that ticks anchored on the start time do not drift over 150 ticks.
        long tickMs = 2;
        HashedWheelTimer timer = timer(tickMs, 4, ErrorHandler.LOGGING);
        long[] delaysMs = {300, 9, 41, 170};
        AtomicLongArray firedAt = new AtomicLongArray(delaysMs.length);
        long[] deadlines = new long[delaysMs.length];
        CountDownLatch done = new CountDownLatch(delaysMs.length);
        for (int i = 0; i < delaysMs.length; i++) {
            int idx = i;
            deadlines[i] = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delaysMs[i]);
            timer.schedule(() -> {
                firedAt.set(idx, System.nanoTime());
                done.countDown();
            }, delaysMs[i], TimeUnit.MILLISECONDS);
        }

        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < delaysMs.length; i++) {
            long lateNanos = firedAt.get(i) - deadlines[i];
            assertThat(lateNanos).as("delay %d ms fired early", delaysMs[i]).isGreaterThanOrEqualTo(0);
            assertThat(TimeUnit.NANOSECONDS.toMillis(lateNanos))
                    .as("delay %d ms lateness", delaysMs[i])
                    .isLessThanOrEqualTo(tickMs + SLACK_MS);
        }
        assertThat(timer.pending()).isZero();
    }

    @Test
    void cancelPreventsRunningAndDropsPendingToZero() throws InterruptedException {
        HashedWheelTimer timer = timer(5, 16, ErrorHandler.LOGGING);
        AtomicInteger ran = new AtomicInteger();
        List<HashedWheelTimer.Timeout> timeouts = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            // One rotation is 80 ms: spread over near and multi-rotation deadlines, some still in
            // the hand-off queue when cancelled, all far enough out not to fire before cancel.
            timeouts.add(timer.schedule(ran::incrementAndGet, 200 + i % 400, TimeUnit.MILLISECONDS));
        }
        assertThat(timer.pending()).isEqualTo(1_000);

        for (HashedWheelTimer.Timeout t : timeouts) {
            assertThat(t.cancel()).isTrue();
        }

        assertThat(timer.pending()).isZero();
        assertThat(timeouts).allSatisfy(t -> {
            assertThat(t.isCancelled()).isTrue();
            assertThat(t.isExpired()).isFalse();
            assertThat(t.cancel()).as("second cancel").isFalse();
        });
        // Every cancelled deadline is before this one, so once it has fired they all had their chance.
        CountDownLatch sentinel = new CountDownLatch(1);
        timer.schedule(sentinel::countDown, 700, TimeUnit.MILLISECONDS);
        assertThat(sentinel.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(ran).hasValue(0);
        assertThat(timer.pending()).isZero();
    }

    @Test
    void cancelAfterFiringReturnsFalseAndReportsExpired() throws Exception {
        HashedWheelTimer timer = timer(1, 8, ErrorHandler.LOGGING);
        CompletableFuture<Void> fired = new CompletableFuture<>();
        HashedWheelTimer.Timeout timeout = timer.schedule(() -> fired.complete(null), 0, TimeUnit.MILLISECONDS);
        fired.get(5, TimeUnit.SECONDS);

        assertThat(timeout.isExpired()).isTrue();
        assertThat(timeout.cancel()).isFalse();
        assertThat(timeout.isCancelled()).isFalse();
    }

    @Test
    void manyTimeoutsFromSeveralThreadsAllFireExactlyOnce() throws Exception {
        HashedWheelTimer timer = timer(1, 64, ErrorHandler.LOGGING);
        int threads = 8;
        int perThread = 12_500;
        int total = threads * perThread;
        AtomicIntegerArray runs = new AtomicIntegerArray(total);
        AtomicInteger fired = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(total);
        runTogether(threads, 10, t -> {
            int base = t * perThread;
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            for (int i = 0; i < perThread; i++) {
                int id = base + i;
                timer.schedule(() -> {
                    runs.incrementAndGet(id);
                    fired.incrementAndGet();
                    done.countDown();
                }, rnd.nextInt(150), TimeUnit.MILLISECONDS);
            }
        });

        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(fired).hasValue(total);
        for (int i = 0; i < total; i++) {
            if (runs.get(i) != 1) {
                assertThat(runs.get(i)).as("runs of timeout %d", i).isEqualTo(1);
            }
        }
        assertThat(timer.pending()).isZero();
    }

    @Test
    void throwingTaskIsReportedAndLaterTasksStillRun() throws Exception {
        CompletableFuture<String> context = new CompletableFuture<>();
        CompletableFuture<Throwable> error = new CompletableFuture<>();
        HashedWheelTimer timer = timer(2, 8, (ctx, e) -> {
            context.complete(ctx);
            error.complete(e);
        });
        IllegalStateException boom = new IllegalStateException("boom");
        timer.schedule(() -> {
            throw boom;
        }, 0, TimeUnit.MILLISECONDS);
        CountDownLatch later = new CountDownLatch(2);
        timer.schedule(later::countDown, 0, TimeUnit.MILLISECONDS);
        timer.schedule(later::countDown, 20, TimeUnit.MILLISECONDS);

        assertThat(context.get(5, TimeUnit.SECONDS)).isEqualTo("timer.task");
        assertThat(error.get(5, TimeUnit.SECONDS)).isSameAs(boom);
        assertThat(later.await(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void scheduleAfterCloseThrowsAndCloseDiscardsUnfiredTasks() {
        HashedWheelTimer timer = timer(5, 8, ErrorHandler.LOGGING);
        AtomicInteger ran = new AtomicInteger();
        HashedWheelTimer.Timeout far = timer.schedule(ran::incrementAndGet, 1, TimeUnit.HOURS);
        assertThat(timer.pending()).isEqualTo(1);

        timer.close();
        timer.close();

        assertThatThrownBy(() -> timer.schedule(ran::incrementAndGet, 1, TimeUnit.MILLISECONDS))
                .isInstanceOf(IllegalStateException.class);
        assertThat(timer.scheduleIfOpen(ran::incrementAndGet, 1, TimeUnit.MILLISECONDS))
                .as("a task that has no point once the owner stops").isNull();
        assertThat(timer.pending()).isZero();
        assertThat(far.isCancelled()).isTrue();
        assertThat(far.cancel()).isFalse();
        assertThat(ran).hasValue(0);
    }

    @Test
    void closeFromWithinATaskStopsTheTimer() throws Exception {
        HashedWheelTimer timer = timer(1, 8, ErrorHandler.LOGGING);
        CompletableFuture<Void> closed = new CompletableFuture<>();
        timer.schedule(() -> {
            timer.close();
            closed.complete(null);
        }, 0, TimeUnit.MILLISECONDS);
        closed.get(5, TimeUnit.SECONDS);

        assertThatThrownBy(() -> timer.schedule(() -> { }, 0, TimeUnit.MILLISECONDS))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void tasksFireInDeadlineOrderWhenDeadlinesDifferByMoreThanATick() throws InterruptedException {
        long tickMs = 5;
        HashedWheelTimer timer = timer(tickMs, 8, ErrorHandler.LOGGING);
        int n = 12;
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(i);
        }
        Collections.shuffle(ids);
        List<Integer> firedOrder = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch done = new CountDownLatch(n);
        // Deadlines are anchored on one base so scheduling time does not shrink the spacing.
        long base = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(30);
        long spacing = TimeUnit.MILLISECONDS.toNanos(tickMs * 2 + 1);
        for (int id : ids) {
            long delay = base + id * spacing - System.nanoTime();
            timer.schedule(() -> {
                firedOrder.add(id);
                done.countDown();
            }, delay, TimeUnit.NANOSECONDS);
        }

        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(firedOrder).isSorted().hasSize(n);
    }

    @Test
    void taskThatInterruptsTheTimerThreadDoesNotStopLaterTasks() throws InterruptedException {
        HashedWheelTimer timer = timer(2, 8, ErrorHandler.LOGGING);
        timer.schedule(() -> Thread.currentThread().interrupt(), 0, TimeUnit.MILLISECONDS);
        CountDownLatch later = new CountDownLatch(1);
        timer.schedule(later::countDown, 40, TimeUnit.MILLISECONDS);

        assertThat(later.await(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void rejectsOutOfRangeParametersNamingThem() {
        assertThatThrownBy(() -> new HashedWheelTimer("t", 0, 8, ErrorHandler.LOGGING))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tickMs");
        assertThatThrownBy(() -> new HashedWheelTimer("t", 1, 6, ErrorHandler.LOGGING))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("wheelSize");
        assertThatThrownBy(() -> new HashedWheelTimer("t", 1, 1, ErrorHandler.LOGGING))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("wheelSize");
    }

    @Test
    void idleTimerParksThroughEmptyTicks() throws InterruptedException {
        HashedWheelTimer timer = timer(10, 512, ErrorHandler.LOGGING);
        assertThat(parksDuring(timer, 1_000)).as("parks in 1 s at 100 ticks/s").isLessThan(20);
    }

    @Test
    void parksThroughTicksWhoseBucketsHoldOnlyLaterRotations() throws InterruptedException {
        // Every one of the 64 buckets holds a timeout several rotations (640 ms each) away: a
        // non-empty bucket is not a reason to wake.
        HashedWheelTimer timer = timer(10, 64, ErrorHandler.LOGGING);
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 64; i++) {
            timer.schedule(ran::incrementAndGet, 5_000 + i * 10L, TimeUnit.MILLISECONDS);
        }
        assertThat(parksDuring(timer, 1_000)).as("parks in 1 s at 100 ticks/s").isLessThan(20);
        assertThat(ran).hasValue(0);
    }

    @Test
    void scheduleWakesATimerSleepingTowardsALaterDeadline() throws InterruptedException {
        long tickMs = 10;
        long start = System.nanoTime();
        HashedWheelTimer timer = timer(tickMs, 512, ErrorHandler.LOGGING);
        timer.schedule(() -> { }, 5, TimeUnit.SECONDS);
        for (long delayMs : new long[] {0, 3, 25, 60}) {
            awaitLongSleep(timer, start, tickMs);
            CountDownLatch fired = new CountDownLatch(1);
            AtomicLong firedAt = new AtomicLong();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMs);
            timer.schedule(() -> {
                firedAt.set(System.nanoTime());
                fired.countDown();
            }, delayMs, TimeUnit.MILLISECONDS);

            assertThat(fired.await(5, TimeUnit.SECONDS)).isTrue();
            long lateNanos = firedAt.get() - deadline;
            assertThat(lateNanos).as("delay %d ms fired early", delayMs).isGreaterThanOrEqualTo(0);
            assertThat(TimeUnit.NANOSECONDS.toMillis(lateNanos))
                    .as("delay %d ms lateness", delayMs)
                    .isLessThanOrEqualTo(tickMs + WAKE_SLACK_MS);
        }
    }

    @Test
    void concurrentShortAndLongTimeoutsFireOnceOnTimeAndCancelledNever() throws Exception {
        // Long ones keep the timer parking for many ticks; short ones from other threads must
        // wake it. Producers pause at random so that schedules land on a parked timer.
        long tickMs = 10;
        HashedWheelTimer timer = timer(tickMs, 64, ErrorHandler.LOGGING);
        int threads = 4;
        int perThread = 400;
        int total = threads * perThread;
        long[] deadlines = new long[total];
        boolean[] cancelled = new boolean[total];
        AtomicIntegerArray runs = new AtomicIntegerArray(total);
        AtomicLongArray firedAt = new AtomicLongArray(total);
        runTogether(threads, 30, t -> {
            int base = t * perThread;
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            for (int i = 0; i < perThread; i++) {
                int id = base + i;
                long delayMs = rnd.nextInt(4) == 0 ? 300 + rnd.nextInt(1_200) : rnd.nextInt(80);
                deadlines[id] = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMs);
                HashedWheelTimer.Timeout timeout = timer.schedule(() -> {
                    firedAt.set(id, System.nanoTime());
                    runs.incrementAndGet(id);
                }, delayMs, TimeUnit.MILLISECONDS);
                // A cancel that loses to the firing is fine; one that wins must stick.
                cancelled[id] = rnd.nextInt(5) == 0 && timeout.cancel();
                LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(rnd.nextInt(3_000)));
            }
        });
        // Every deadline is at most 1.5 s after the last schedule; afterwards nothing may be pending.
        CountDownLatch sentinel = new CountDownLatch(1);
        timer.schedule(sentinel::countDown, 1_500 + tickMs, TimeUnit.MILLISECONDS);
        assertThat(sentinel.await(10, TimeUnit.SECONDS)).isTrue();

        assertThat(timer.pending()).isZero();
        long maxLateNanos = 0;
        for (int i = 0; i < total; i++) {
            if (cancelled[i]) {
                assertThat(runs.get(i)).as("runs of cancelled timeout %d", i).isZero();
                continue;
            }
            assertThat(runs.get(i)).as("runs of timeout %d", i).isEqualTo(1);
            long lateNanos = firedAt.get(i) - deadlines[i];
            assertThat(lateNanos).as("timeout %d fired early", i).isGreaterThanOrEqualTo(0);
            maxLateNanos = Math.max(maxLateNanos, lateNanos);
        }
        assertThat(TimeUnit.NANOSECONDS.toMillis(maxLateNanos))
                .as("worst lateness")
                .isLessThanOrEqualTo(tickMs + WAKE_SLACK_MS);
    }

    @Test
    void closeWakesASleepingTimerPromptly() throws InterruptedException {
        long tickMs = 10;
        long start = System.nanoTime();
        HashedWheelTimer timer = timer(tickMs, 512, ErrorHandler.LOGGING);
        HashedWheelTimer.Timeout far = timer.schedule(() -> { }, 5, TimeUnit.SECONDS);
        awaitLongSleep(timer, start, tickMs);

        long before = System.nanoTime();
        timer.close();
        long closeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - before);

        assertThat(closeMs).as("close() of a parked timer").isLessThan(200);
        assertThat(far.isCancelled()).as("discarded once the thread has finished").isTrue();
    }

    /**
     * Counts the timer thread's parks over a window; it parks once per wake-up. The window is a
     * measurement interval, not a synchronisation: nothing is awaited but the clock, so the wait
     * is a latch nobody counts down, bounded by the window.
     */
    private static long parksDuring(HashedWheelTimer timer, long windowMs) throws InterruptedException {
        long before = timer.parks();
        assertThat(new CountDownLatch(1).await(windowMs, TimeUnit.MILLISECONDS)).isFalse();
        return timer.parks() - before;
    }

    /**
     * Waits until the timer thread is parked for at least 50 more ticks (it parks for up to 100
     * when idle). {@code start} was taken before the timer was created, so it overestimates the
     * current tick by at most one.
     */
    private static void awaitLongSleep(HashedWheelTimer timer, long start, long tickMs) {
        long tickNanos = TimeUnit.MILLISECONDS.toNanos(tickMs);
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (timer.sleepUntilTick() < (System.nanoTime() - start) / tickNanos + 50) {
            assertThat(System.nanoTime() - giveUp).as("timer parked long").isNegative();
            Thread.onSpinWait();
        }
    }

    @Test
    void runsTasksOnANamedDaemonThread() throws Exception {
        HashedWheelTimer timer = new HashedWheelTimer("tether-timer-x", 1, 8, ErrorHandler.LOGGING);
        timers.add(timer);
        CompletableFuture<Thread> thread = new CompletableFuture<>();
        timer.schedule(() -> thread.complete(Thread.currentThread()), 0, TimeUnit.MILLISECONDS);

        Thread t = thread.get(5, TimeUnit.SECONDS);
        assertThat(t.getName()).isEqualTo("tether-timer-x");
        assertThat(t.isDaemon()).isTrue();
        assertThat(timer.tickMs()).isEqualTo(1);
    }

    /** What each of {@link #runTogether}'s threads does, given its index. */
    private interface Producer {
        void run(int thread) throws Exception;
    }

    /**
     * Runs {@code producer} on {@code threads} new threads released together, and waits up to
     * {@code timeoutSeconds} for all of them; a throw in any fails the test.
     */
    private static void runTogether(int threads, long timeoutSeconds, Producer producer) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Void>> producers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int index = t;
            CompletableFuture<Void> f = new CompletableFuture<>();
            producers.add(f);
            Thread thread = new Thread(() -> {
                try {
                    go.await();
                    producer.run(index);
                    f.complete(null);
                } catch (Throwable e) {
                    f.completeExceptionally(e);
                }
            }, "producer-" + t);
            thread.start();
        }
        go.countDown();
        CompletableFuture.allOf(producers.toArray(new CompletableFuture<?>[0])).get(timeoutSeconds, TimeUnit.SECONDS);
    }
}
