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
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HashedWheelTimerTest {

    /** Allowance for the OS waking the timer thread late on a loaded CI machine. */
    private static final long SLACK_MS = 30;

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
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Void>> producers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int base = t * perThread;
            CompletableFuture<Void> f = new CompletableFuture<>();
            producers.add(f);
            Thread producer = new Thread(() -> {
                try {
                    go.await();
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    for (int i = 0; i < perThread; i++) {
                        int id = base + i;
                        timer.schedule(() -> {
                            runs.incrementAndGet(id);
                            fired.incrementAndGet();
                            done.countDown();
                        }, rnd.nextInt(150), TimeUnit.MILLISECONDS);
                    }
                    f.complete(null);
                } catch (Throwable e) {
                    f.completeExceptionally(e);
                }
            }, "producer-" + t);
            producer.start();
        }
        go.countDown();
        CompletableFuture.allOf(producers.toArray(new CompletableFuture<?>[0])).get(10, TimeUnit.SECONDS);

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
}
