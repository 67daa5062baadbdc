package dev.tether.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tether.core.spi.ErrorHandler;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SerialExecutorTest {

    private static final Runnable NOTHING = () -> { };

    private final List<ExecutorService> pools = new ArrayList<>();

    @AfterEach
    void shutdownPools() {
        pools.forEach(ExecutorService::shutdownNow);
    }

    private ExecutorService pool(int threads) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        pools.add(pool);
        return pool;
    }

    private static SerialExecutor serial(ExecutorService pool) {
        return serial(pool, Integer.MAX_VALUE, 0, NOTHING, NOTHING, ErrorHandler.LOGGING);
    }

    private static SerialExecutor serial(Executor pool, int highWater, int lowWater, Runnable onSaturated,
                                         Runnable onDrained, ErrorHandler errors) {
        return new SerialExecutor(new SerialExecutor.Settings(pool, highWater, lowWater, errors),
                new SerialExecutor.Backpressure() {
                    @Override
                    public void saturated() {
                        onSaturated.run();
                    }

                    @Override
                    public void drained() {
                        onDrained.run();
                    }
                });
    }

    /**
     * A task's own decrement lands just after it returns, so a latch counted down inside the last
     * task can be observed a moment before pending() reaches zero; poll for that moment, bounded.
     */
    private static void awaitNothingPending(SerialExecutor serial) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (serial.pending() != 0) {
            assertThat(System.nanoTime() - deadline).as("pending() never reached 0").isNegative();
            Thread.yield();
        }
    }

    @Test
    void tasksFromManyProducersNeverOverlapRunInEachProducersOrderAndAllRun() throws Exception {
        SerialExecutor serial = serial(pool(4));
        int producers = 8;
        int perProducer = 10_000;
        int total = producers * perProducer;
        AtomicBoolean running = new AtomicBoolean();
        AtomicBoolean overlapped = new AtomicBoolean();
        // Deliberately not atomic: an exact total also proves each task sees the previous one's writes.
        int[] plainCounter = {0};
        // Each producer's tasks in its own order: the last of its indices run so far (plain, as above).
        int[] lastRun = new int[producers];
        Arrays.fill(lastRun, -1);
        AtomicBoolean outOfOrder = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(total);
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Void>> submitted = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            submitted.add(f);
            int producer = p;
            new Thread(() -> {
                try {
                    go.await();
                    for (int i = 0; i < perProducer; i++) {
                        int index = i;
                        serial.execute(() -> {
                            if (!running.compareAndSet(false, true)) {
                                overlapped.set(true);
                            }
                            if (lastRun[producer] != index - 1) {
                                outOfOrder.set(true);
                            }
                            lastRun[producer] = index;
                            plainCounter[0]++;
                            running.set(false);
                            done.countDown();
                        });
                    }
                    f.complete(null);
                } catch (Throwable e) {
                    f.completeExceptionally(e);
                }
            }, "producer-" + p).start();
        }
        go.countDown();
        CompletableFuture.allOf(submitted.toArray(new CompletableFuture<?>[0])).get(10, TimeUnit.SECONDS);

        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(overlapped).isFalse();
        assertThat(outOfOrder).as("a producer's tasks ran out of its order").isFalse();
        CompletableFuture<Integer> finalCount = new CompletableFuture<>();
        serial.execute(() -> finalCount.complete(plainCounter[0]));
        assertThat(finalCount.get(5, TimeUnit.SECONDS)).isEqualTo(total);
    }

    @Test
    void preservesSubmissionOrderForOneProducer() throws Exception {
        SerialExecutor serial = serial(pool(4));
        int n = 10_000;
        List<Integer> seen = new ArrayList<>();
        CompletableFuture<List<Integer>> result = new CompletableFuture<>();
        for (int i = 0; i < n; i++) {
            int id = i;
            serial.execute(() -> seen.add(id));
        }
        serial.execute(() -> result.complete(new ArrayList<>(seen)));

        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            expected.add(i);
        }
        assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo(expected);
    }

    @Test
    void blockedTaskOnOneExecutorDoesNotBlockAnotherOnTheSamePool() throws Exception {
        ExecutorService pool = pool(2);
        SerialExecutor a = serial(pool);
        SerialExecutor b = serial(pool);
        CountDownLatch aStarted = new CountDownLatch(1);
        CountDownLatch releaseA = new CountDownLatch(1);
        CountDownLatch aNextRan = new CountDownLatch(1);
        CountDownLatch bRan = new CountDownLatch(3);

        a.execute(() -> {
            aStarted.countDown();
            try {
                releaseA.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        a.execute(aNextRan::countDown);
        assertThat(aStarted.await(5, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < 3; i++) {
            b.execute(bRan::countDown);
        }

        try {
            assertThat(bRan.await(5, TimeUnit.SECONDS)).as("B ran while A was blocked").isTrue();
            assertThat(aNextRan.getCount()).as("A's next task waits for A's blocked one").isEqualTo(1);
        } finally {
            releaseA.countDown();
        }
        assertThat(aNextRan.await(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void busyExecutorYieldsThePoolToAnotherAfterABatch() throws Exception {
        ExecutorService pool = pool(1);
        SerialExecutor a = serial(pool);
        SerialExecutor b = serial(pool);
        CountDownLatch gate = new CountDownLatch(1);
        List<String> order = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(1_001);
        // The single pool thread is held inside A's drain while both queues fill up.
        a.execute(() -> {
            try {
                gate.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        for (int i = 0; i < 1_000; i++) {
            a.execute(() -> {
                synchronized (order) {
                    order.add("a");
                }
                done.countDown();
            });
        }
        b.execute(() -> {
            synchronized (order) {
                order.add("b");
            }
            done.countDown();
        });
        gate.countDown();

        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        synchronized (order) {
            assertThat(order.indexOf("b")).isBetween(0, 999);
        }
    }

    @Test
    void saturationFiresOnceAtHighWaterAndDrainedOnceAtLowWater() throws Exception {
        ExecutorService pool = pool(2);
        ConcurrentLinkedQueue<String> events = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Thread> saturatedOn = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Thread> drainedOn = new ConcurrentLinkedQueue<>();
        SerialExecutor[] holder = new SerialExecutor[1];
        CountDownLatch drained = new CountDownLatch(1);
        CountDownLatch drainedAgain = new CountDownLatch(2);
        SerialExecutor serial = serial(pool, 10, 3,
                () -> {
                    events.add("saturated@" + holder[0].pending());
                    saturatedOn.add(Thread.currentThread());
                },
                () -> {
                    events.add("drained@" + holder[0].pending());
                    drainedOn.add(Thread.currentThread());
                    drained.countDown();
                    drainedAgain.countDown();
                },
                ErrorHandler.LOGGING);
        holder[0] = serial;

        for (int cycle = 1; cycle <= 2; cycle++) {
            CountDownLatch gate = new CountDownLatch(1);
            CountDownLatch allRan = new CountDownLatch(20);
            // A blocked first task keeps pending() equal to the number submitted.
            serial.execute(() -> {
                try {
                    gate.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                allRan.countDown();
            });
            for (int i = 2; i <= 20; i++) {
                serial.execute(allRan::countDown);
                long saturations = events.stream().filter(e -> e.startsWith("saturated")).count();
                assertThat(saturations).as("saturations after %d submits", i).isEqualTo(i < 10 ? cycle - 1 : cycle);
            }
            gate.countDown();
            assertThat(allRan.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat((cycle == 1 ? drained : drainedAgain).await(10, TimeUnit.SECONDS)).isTrue();
            awaitNothingPending(serial);
        }

        assertThat(events).containsExactly("saturated@10", "drained@3", "saturated@10", "drained@3");
        assertThat(saturatedOn).containsOnly(Thread.currentThread());
        assertThat(drainedOn).doesNotContain(Thread.currentThread());
    }

    @Test
    void drainedStillFiresWhenThePoolEmptiesWhileOnSaturatedRuns() throws Exception {
        ExecutorService pool = pool(2);
        CountDownLatch saturating = new CountDownLatch(1);
        CompletableFuture<Integer> drained = new CompletableFuture<>();
        SerialExecutor[] holder = new SerialExecutor[1];
        // onSaturated stalls until the pool has finished everything, so the fall through lowWater
        // happens before saturation is armed: the transport must still be told to resume.
        SerialExecutor serial = serial(pool, 2, 0,
                () -> {
                    saturating.countDown();
                    awaitNothingPending(holder[0]);
                },
                () -> drained.complete(holder[0].pending()),
                ErrorHandler.LOGGING);
        holder[0] = serial;

        // The first task holds its slot until saturation has begun, so pending() reaches 2.
        serial.execute(() -> {
            try {
                saturating.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        serial.execute(NOTHING);

        assertThat(drained.get(10, TimeUnit.SECONDS)).isZero();
    }

    @Test
    void throwingTaskIsReportedAndNextTaskRuns() throws Exception {
        CompletableFuture<String> context = new CompletableFuture<>();
        CompletableFuture<Throwable> error = new CompletableFuture<>();
        SerialExecutor serial = serial(pool(2), 100, 0, NOTHING, NOTHING, (ctx, e) -> {
            context.complete(ctx);
            error.complete(e);
        });
        IllegalStateException boom = new IllegalStateException("boom");
        CountDownLatch next = new CountDownLatch(1);

        serial.execute(() -> {
            throw boom;
        });
        serial.execute(next::countDown);

        assertThat(next.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(context.get(5, TimeUnit.SECONDS)).isEqualTo("handler");
        assertThat(error.get(5, TimeUnit.SECONDS)).isSameAs(boom);
    }

    @Test
    void poolRejectionIsReportedAndALaterExecuteRetriesTheQueuedTasks() throws Exception {
        ExecutorService realPool = pool(2);
        AtomicBoolean reject = new AtomicBoolean(true);
        AtomicInteger rejections = new AtomicInteger();
        List<String> contexts = new ArrayList<>();
        ErrorHandler errors = (ctx, e) -> {
            synchronized (contexts) {
                contexts.add(ctx);
            }
            if (e instanceof RejectedExecutionException) {
                rejections.incrementAndGet();
            }
        };
        SerialExecutor serial = serial(task -> {
            if (reject.get()) {
                throw new RejectedExecutionException("full");
            }
            realPool.execute(task);
        }, 100, 0, NOTHING, NOTHING, errors);
        List<Integer> ran = new ArrayList<>();
        CompletableFuture<List<Integer>> result = new CompletableFuture<>();

        for (int i = 0; i < 3; i++) {
            int id = i;
            serial.execute(() -> ran.add(id));
        }

        // Rejection happens synchronously inside execute(), so nothing can have run.
        assertThat(rejections).hasValue(3);
        synchronized (contexts) {
            assertThat(contexts).containsOnly("executor.rejected");
        }
        assertThat(serial.pending()).isEqualTo(3);

        reject.set(false);
        serial.execute(() -> {
            ran.add(3);
            result.complete(new ArrayList<>(ran));
        });

        assertThat(result.get(5, TimeUnit.SECONDS)).containsExactly(0, 1, 2, 3);
        assertThat(rejections).hasValue(3);
    }

    @Test
    void pendingCountsQueuedAndRunningTasks() throws Exception {
        SerialExecutor serial = serial(pool(1));
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Integer> seenByLast = new CompletableFuture<>();
        serial.execute(() -> {
            started.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        serial.execute(NOTHING);
        serial.execute(() -> seenByLast.complete(serial.pending()));
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();

        assertThat(serial.pending()).isEqualTo(3);
        release.countDown();
        assertThat(seenByLast.get(5, TimeUnit.SECONDS)).as("only the running task is pending").isEqualTo(1);
    }

    @Test
    void rejectsWaterMarksOutOfOrder() {
        ExecutorService pool = pool(1);
        assertThatThrownBy(() -> serial(pool, 5, 5, NOTHING, NOTHING, ErrorHandler.LOGGING))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("highWater");
        assertThatThrownBy(() -> serial(pool, 5, -1, NOTHING, NOTHING, ErrorHandler.LOGGING))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lowWater");
    }

    @Test
    void aPoolThatWasShutDownDropsCallbacksQuietly() {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        pool.shutdown();
        List<String> contexts = new java.util.concurrent.CopyOnWriteArrayList<>();
        SerialExecutor serial = serial(pool, 100, 0, NOTHING, NOTHING, (ctx, e) -> contexts.add(ctx));
        serial.execute(() -> contexts.add("ran"));
        assertThat(contexts).as("the hub closed its pool: nothing runs, nothing is reported").isEmpty();
    }
}
