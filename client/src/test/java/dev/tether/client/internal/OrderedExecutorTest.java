package dev.tether.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OrderedExecutorTest {

    private final ExecutorService pool = Executors.newFixedThreadPool(4);
    private final List<String> errors = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    private OrderedExecutor executor() {
        return new OrderedExecutor(pool, (context, error) -> {
            synchronized (errors) {
                errors.add(context + ": " + error.getMessage());
            }
        });
    }

    @Test
    void tasksFromManyThreadsRunOneAtATimeInTheOrderEachThreadSubmittedThem() throws Exception {
        OrderedExecutor ordered = executor();
        int threads = 4;
        int perThread = 5_000;
        List<List<Integer>> seen = new ArrayList<>();
        AtomicInteger running = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(threads * perThread);
        Thread[] submitters = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int thread = t;
            seen.add(new ArrayList<>()); // only touched by the executor's tasks: never two at once
            submitters[t] = new Thread(() -> {
                for (int n = 0; n < perThread; n++) {
                    int value = n;
                    ordered.execute(() -> {
                        if (running.incrementAndGet() != 1) {
                            overlaps.incrementAndGet();
                        }
                        seen.get(thread).add(value);
                        running.decrementAndGet();
                        done.countDown();
                    });
                }
            });
            submitters[t].start();
        }
        for (Thread s : submitters) {
            s.join();
        }
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(overlaps).hasValue(0);
        for (List<Integer> values : seen) {
            assertThat(values).hasSize(perThread).isSorted();
        }
    }

    @Test
    void aTaskThatThrowsIsReportedAndTheNextOneRuns() throws Exception {
        OrderedExecutor ordered = executor();
        CountDownLatch next = new CountDownLatch(1);
        ordered.execute(() -> {
            throw new IllegalStateException("boom");
        });
        ordered.execute(next::countDown);
        assertThat(next.await(10, TimeUnit.SECONDS)).isTrue();
        synchronized (errors) {
            assertThat(errors).containsExactly("task: boom");
        }
    }

    @Test
    void aRefusedDrainIsReportedAndTheTasksRunOnTheNextExecute() throws Exception {
        AtomicInteger refusals = new AtomicInteger(1);
        OrderedExecutor ordered = new OrderedExecutor(task -> {
            if (refusals.getAndDecrement() > 0) {
                throw new RejectedExecutionException("full");
            }
            pool.execute(task);
        }, (context, error) -> {
            synchronized (errors) {
                errors.add(context + ": " + error.getMessage());
            }
        });
        List<Integer> ran = new ArrayList<>();
        CountDownLatch both = new CountDownLatch(2);
        ordered.execute(() -> {
            ran.add(1);
            both.countDown();
        });
        ordered.execute(() -> {
            ran.add(2);
            both.countDown();
        });
        assertThat(both.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(ran).containsExactly(1, 2);
        synchronized (errors) {
            assertThat(errors).containsExactly("executor.rejected: full");
        }
    }

    @Test
    void aPoolTheApplicationShutDownIsNotReportedAsAnError() throws Exception {
        ExecutorService ended = Executors.newSingleThreadExecutor();
        ended.shutdown();
        OrderedExecutor ordered = new OrderedExecutor(ended, (context, error) -> {
            synchronized (errors) {
                errors.add(context + ": " + error.getMessage());
            }
        });
        AtomicInteger ran = new AtomicInteger();
        ordered.execute(ran::incrementAndGet);
        assertThat(ran).hasValue(0);
        synchronized (errors) {
            assertThat(errors).isEmpty();
        }
    }
}
