package dev.tether.core.internal;

import dev.tether.core.spi.engine.Scheduler;
import dev.tether.core.spi.ErrorHandler;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.jctools.queues.MpscUnboundedXaddArrayQueue;

/**
 * A coarse-grained timer that serves every heartbeat and timeout of a server from one thread.
 *
 * <p>Timeouts are hashed into a ring of {@code wheelSize} buckets, one bucket per tick; a timeout
 * further away than one rotation waits in its bucket until a visit at or after its deadline tick.
 * Scheduling and cancelling are O(1) and lock-free: callers hand timeouts to the timer thread
 * through MPSC queues and only the timer thread ever touches the buckets. Precision is one tick:
 * a timeout fires on the first tick boundary at or after its deadline.
 *
 * <p>Idle ticks cost no wake-up: each bucket remembers the earliest deadline it may hold, so the
 * thread parks until the next tick that has something due (at most one rotation and one second
 * away) instead of waking on every tick, then runs the ticks it slept through back to back. It
 * publishes that tick in a volatile field; {@link #schedule} unparks it only for an earlier
 * deadline. Cancellations are unlinked when the thread next wakes.
 *
 * <p>Threading: {@link #schedule}, {@link #pending}, {@link #tickMs}, {@link #close} and all
 * {@link Timeout} methods may be called from any thread. Tasks run on the timer thread, one at a
 * time, and must be short; anything slow belongs on another executor.
 */
public final class HashedWheelTimer implements Scheduler, AutoCloseable {

    /** Bounded so that a stuck task cannot hang whoever shuts the server down. */
    private static final long CLOSE_JOIN_MS = 5_000;

    /**
     * Caps the hand-off work per tick so that a scheduling burst from many threads cannot push
     * the expiry of already-bucketed timeouts far past their tick; the rest moves next tick.
     */
    private static final int MAX_TRANSFERS_PER_TICK = 100_000;

    /** Large chunks because every session of the server schedules through these queues. */
    private static final int QUEUE_CHUNK_SIZE = 1024;

    /** Longest park with nothing due; keeps the look-ahead scan and pending cancels small. */
    private static final long MAX_SLEEP_MS = 1_000;

    /** {@link #sleepUntilTick} while the thread is not parked: no schedule needs to unpark it. */
    private static final long AWAKE = Long.MIN_VALUE;

    private final String threadName;
    private final long tickMs;
    private final long tickNanos;
    private final int mask;
    private final Bucket[] wheel;
    /** How many ticks ahead the thread looks for work before parking: never past one rotation. */
    private final int maxSleepTicks;
    private final ErrorHandler errors;
    private final MpscUnboundedXaddArrayQueue<Entry> incoming =
            new MpscUnboundedXaddArrayQueue<>(QUEUE_CHUNK_SIZE);
    private final MpscUnboundedXaddArrayQueue<Entry> cancelled =
            new MpscUnboundedXaddArrayQueue<>(QUEUE_CHUNK_SIZE);
    // LongAdder rather than an atomic counter: every session thread hits it on each (re)schedule.
    private final LongAdder pending = new LongAdder();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final long startNanos;
    private final Thread thread;
    /**
     * The tick whose boundary the parked thread waits for, or {@link #AWAKE}. Written by the
     * timer thread only; read by schedule() to decide whether to unpark it.
     */
    private volatile long sleepUntilTick = AWAKE;
    /** Times the thread has parked; single writer (the timer thread), for tests. */
    private volatile long parks;

    /**
     * Creates the timer and starts its daemon thread. Safe to call from any thread.
     *
     * @param threadName name of the timer thread
     * @param tickMs     tick duration in milliseconds, at least 1
     * @param wheelSize  number of buckets, a power of two of at least 2
     * @param errors     receives failures of tasks, with context {@code "timer.task"}
     * @throws IllegalArgumentException if {@code tickMs} or {@code wheelSize} is out of range
     */
    public HashedWheelTimer(String threadName, long tickMs, int wheelSize, ErrorHandler errors) {
        this.threadName = Objects.requireNonNull(threadName, "threadName");
        this.errors = Objects.requireNonNull(errors, "errors");
        if (tickMs < 1) {
            throw new IllegalArgumentException("tickMs must be >= 1, got " + tickMs);
        }
        if (wheelSize < 2 || Integer.bitCount(wheelSize) != 1) {
            throw new IllegalArgumentException(
                    "wheelSize must be a power of two >= 2, got " + wheelSize);
        }
        this.tickMs = tickMs;
        this.tickNanos = TimeUnit.MILLISECONDS.toNanos(tickMs);
        this.mask = wheelSize - 1;
        this.wheel = new Bucket[wheelSize];
        for (int i = 0; i < wheelSize; i++) {
            wheel[i] = new Bucket();
        }
        this.maxSleepTicks = (int) Math.min(wheelSize, Math.max(1, MAX_SLEEP_MS / tickMs));
        // Fixed before the thread starts so that schedule() and the thread agree on tick 0.
        this.startNanos = System.nanoTime();
        this.thread = new Thread(this::runLoop, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * As {@link #schedule}, for a task that has no point once the timer's owner stops: null
     * instead of an exception when the timer has been closed, even concurrently.
     */
    @Override
    public Timeout scheduleIfOpen(Runnable task, long delay, TimeUnit unit) {
        if (closed.get()) {
            return null;
        }
        try {
            return schedule(task, delay, unit);
        } catch (IllegalStateException closedMeanwhile) {
            return null; // the only reason schedule() throws
        }
    }

    /**
     * Schedules {@code task} to run once on the timer thread, on the first tick at or after
     * {@code delay} from now. Safe to call from any thread, including the timer thread; never
     * blocks.
     *
     * @param task  short action to run on the timer thread
     * @param delay delay before running; zero or negative means the next tick
     * @param unit  unit of {@code delay}
     * @return a handle to cancel the task
     * @throws IllegalStateException if the timer has been closed
     */
    @Override
    public Timeout schedule(Runnable task, long delay, TimeUnit unit) {
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(unit, "unit");
        if (closed.get()) {
            throw new IllegalStateException(threadName + " is closed");
        }
        long delayNanos = delay <= 0 ? 0 : unit.toNanos(delay);
        long elapsed = System.nanoTime() - startNanos;
        long deadline = delayNanos > Long.MAX_VALUE - elapsed ? Long.MAX_VALUE : elapsed + delayNanos;
        // Round up: firing on the tick before the deadline would fire early.
        long deadlineTick = deadline / tickNanos + (deadline % tickNanos == 0 ? 0 : 1);
        Entry entry = new Entry(this, task, deadlineTick);
        // Count before publishing so a fast expiry can never drive the counter below zero.
        pending.increment();
        incoming.offer(entry);
        // Pairs with awaitTick, which stores sleepUntilTick and then looks at incoming: the offer
        // (an atomic add on the queue's producer index) and this volatile load are ordered, so
        // either the timer sees the entry before parking or this load sees what it parks for.
        // Nothing to do while it is awake or will wake at or before the deadline anyway.
        if (deadlineTick < sleepUntilTick) {
            LockSupport.unpark(thread);
        }
        // close() may have raced past the check above after the timer thread's final drain; the
        // state CAS decides whether the task ran after all or was dropped.
        if (closed.get() && entry.discard()) {
            throw new IllegalStateException(threadName + " is closed");
        }
        return entry;
    }

    /**
     * Returns the tick duration in milliseconds. Safe to call from any thread.
     *
     * @return the tick duration
     */
    public long tickMs() {
        return tickMs;
    }

    /**
     * Returns the number of timeouts scheduled and neither fired nor cancelled. Safe to call
     * from any thread; approximate while other threads schedule or the timer fires, exact once
     * the timer is quiescent.
     *
     * @return the number of pending timeouts
     */
    public int pending() {
        long n = pending.sum();
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, n));
    }

    /**
     * Stops the timer thread and discards every task that has not run; their timeouts then
     * report {@link Timeout#isCancelled()}. Safe to call from any thread, including from a task;
     * waits a bounded time for the thread to finish (not at all when called on the timer thread).
     * Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        LockSupport.unpark(thread);
        if (Thread.currentThread() == thread) {
            return;
        }
        try {
            thread.join(CLOSE_JOIN_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Number of times the timer thread has parked so far. Any thread; for tests. */
    long parks() {
        return parks;
    }

    /** The tick the parked timer thread waits for, or {@link Long#MIN_VALUE} while it is awake. */
    long sleepUntilTick() {
        return sleepUntilTick;
    }

    private void runLoop() {
        long tick = 0;
        try {
            // Every tick runs, in order: ticks slept through run back to back after the wake-up,
            // each in O(1) when its bucket has nothing due.
            while (!closed.get()) {
                tick++;
                if (!awaitTick(tick)) {
                    break;
                }
                processCancelled();
                transferIncoming(tick);
                expire(wheel[(int) (tick & mask)], tick);
            }
        } finally {
            discardAll();
        }
    }

    /**
     * Waits until tick {@code n}'s boundary, parking through the ticks after it that have nothing
     * due. Boundaries are derived from the start time rather than from the previous wake-up so
     * that late wake-ups do not accumulate into drift.
     */
    private boolean awaitTick(long n) {
        long boundary = n * tickNanos;
        while (true) {
            long now = System.nanoTime() - startNanos;
            if (now >= boundary) {
                return true;
            }
            if (closed.get()) {
                return false;
            }
            // Early: bucket what has been scheduled so far (tick n has not run, so its bucket is
            // still ahead) so that the look-ahead sees it. A full batch re-checks the clock.
            if (!transferIncoming(n)) {
                continue;
            }
            long wakeTick = nextDueTick(n);
            sleepUntilTick = wakeTick;
            // Re-check after publishing the target (see schedule()): an entry offered before the
            // store may have read the old value and not unparked us; go round and bucket it.
            if (incoming.isEmpty()) {
                // A task may leave the interrupt flag set; parkNanos would then return at once and
                // the wait would become a busy spin. Only close() stops the timer.
                Thread.interrupted();
                parks++;
                // Spurious or stale unparks only cost a trip round this loop.
                LockSupport.parkNanos(this, wakeTick * tickNanos - now);
            }
            sleepUntilTick = AWAKE;
        }
    }

    /**
     * The first tick from {@code from} whose bucket has something due, or the end of the
     * look-ahead. A bucket is only visited on its own ticks, so one whose earliest deadline is
     * after the tick scanned fires nothing before its next visit a rotation later; the look-ahead
     * never goes past a rotation.
     */
    private long nextDueTick(long from) {
        long end = from + maxSleepTicks;
        for (long t = from; t < end; t++) {
            if (wheel[(int) (t & mask)].earliestTick <= t) {
                return t;
            }
        }
        return end;
    }

    private void processCancelled() {
        Entry e;
        while ((e = cancelled.poll()) != null) {
            Bucket b = e.bucket;
            // Null when cancelled before transfer (transfer then skips it) or already unlinked.
            if (b != null) {
                b.remove(e);
            }
        }
    }

    /**
     * Buckets incoming timeouts relative to {@code tick}, the next tick to run.
     *
     * @return {@code false} if it stopped at the per-tick cap with more possibly waiting
     */
    private boolean transferIncoming(long tick) {
        for (int i = 0; i < MAX_TRANSFERS_PER_TICK; i++) {
            Entry e = incoming.poll();
            if (e == null) {
                return true;
            }
            if (e.state != Entry.PENDING) {
                continue;
            }
            // A deadline already behind us still fires now rather than a rotation later.
            long target = Math.max(e.deadlineTick, tick);
            wheel[(int) (target & mask)].add(e);
        }
        return false;
    }

    private void expire(Bucket bucket, long tick) {
        if (bucket.earliestTick > tick) {
            return;
        }
        long earliest = Long.MAX_VALUE;
        Entry e = bucket.head;
        while (e != null) {
            if (closed.get()) {
                return;
            }
            Entry next = e.next;
            if (e.state != Entry.PENDING) {
                // Cancelled but its cancel-queue hand-off has not been processed yet.
                bucket.remove(e);
            } else if (e.deadlineTick <= tick) {
                bucket.remove(e);
                e.fire();
            } else {
                earliest = Math.min(earliest, e.deadlineTick);
            }
            e = next;
        }
        bucket.earliestTick = earliest;
    }

    private void discardAll() {
        for (Bucket b : wheel) {
            Entry e = b.head;
            while (e != null) {
                Entry next = e.next;
                b.remove(e);
                e.discard();
                e = next;
            }
        }
        Entry e;
        while ((e = incoming.poll()) != null) {
            e.discard();
        }
        while (cancelled.poll() != null) {
            // Only emptied so the closed timer retains nothing.
        }
    }

    private void report(String context, Throwable error) {
        try {
            errors.onError(context, error);
        } catch (Throwable ignored) {
            // ErrorHandler's contract says it never throws; the timer must survive one that does.
        }
    }

    /**
     * Handle to a scheduled task. All methods are safe to call from any thread.
     */
    public interface Timeout extends Scheduler.Timeout {

        /**
         * Prevents the task from running if it has not started yet. Safe to call from any
         * thread, including from the task itself; O(1) and never blocks.
         *
         * @return {@code true} if this call cancelled the task, {@code false} if it had already
         *         fired, been cancelled, or been discarded by {@link HashedWheelTimer#close()}
         */
        @Override
        boolean cancel();

        /**
         * Safe to call from any thread.
         *
         * @return {@code true} once the timer has started (or finished) running the task
         */
        boolean isExpired();

        /**
         * Safe to call from any thread.
         *
         * @return {@code true} if the task was cancelled or discarded by close
         */
        boolean isCancelled();
    }

    /**
     * The single allocation per timeout: handle, queue element and bucket list node in one.
     * {@code state} is the only field written by several threads; the links and round counter
     * belong to the timer thread.
     */
    private static final class Entry implements Timeout {
        static final int PENDING = 0;
        static final int CANCELLED = 1;
        static final int EXPIRED = 2;

        private static final AtomicIntegerFieldUpdater<Entry> STATE =
                AtomicIntegerFieldUpdater.newUpdater(Entry.class, "state");

        final HashedWheelTimer timer;
        final long deadlineTick;
        // Not final: released on cancel/fire so a dead timeout does not pin the task's captures.
        Runnable task;
        volatile int state;

        Bucket bucket;
        Entry prev;
        Entry next;

        Entry(HashedWheelTimer timer, Runnable task, long deadlineTick) {
            this.timer = timer;
            this.task = task;
            this.deadlineTick = deadlineTick;
        }

        @Override
        public boolean cancel() {
            if (!discard()) {
                return false;
            }
            // Let the timer thread unlink it promptly: with heartbeats reset on every message,
            // waiting for the wheel to come round would pin a rotation's worth of dead entries.
            if (!timer.closed.get()) {
                timer.cancelled.offer(this);
            }
            return true;
        }

        /** Moves PENDING to CANCELLED without queueing an unlink; any thread. */
        boolean discard() {
            if (!STATE.compareAndSet(this, PENDING, CANCELLED)) {
                return false;
            }
            task = null;
            timer.pending.decrement();
            return true;
        }

        /** Timer thread only. */
        void fire() {
            if (!STATE.compareAndSet(this, PENDING, EXPIRED)) {
                return;
            }
            timer.pending.decrement();
            Runnable t = task;
            task = null;
            try {
                t.run();
            } catch (Throwable error) {
                timer.report("timer.task", error);
            }
        }

        @Override
        public boolean isExpired() {
            return state == EXPIRED;
        }

        @Override
        public boolean isCancelled() {
            return state == CANCELLED;
        }

        @Override
        public String toString() {
            return "Timeout[tick=" + deadlineTick + ", state=" + state + "]";
        }
    }

    /** Doubly linked so that a cancelled entry unlinks in O(1). Timer thread only. */
    private static final class Bucket {
        Entry head;
        Entry tail;
        /**
         * No entry is due before this tick. Exact after a visit; an unlink may leave it earlier
         * than the entries left (a wasted visit later), never later (a late timeout).
         */
        long earliestTick = Long.MAX_VALUE;

        void add(Entry e) {
            earliestTick = Math.min(earliestTick, e.deadlineTick);
            e.bucket = this;
            e.prev = tail;
            e.next = null;
            if (tail == null) {
                head = e;
            } else {
                tail.next = e;
            }
            tail = e;
        }

        void remove(Entry e) {
            Entry p = e.prev;
            Entry n = e.next;
            if (p == null) {
                head = n;
            } else {
                p.next = n;
            }
            if (n == null) {
                tail = p;
            } else {
                n.prev = p;
            }
            e.prev = null;
            e.next = null;
            e.bucket = null;
            if (head == null) {
                earliestTick = Long.MAX_VALUE;
            }
        }
    }
}
