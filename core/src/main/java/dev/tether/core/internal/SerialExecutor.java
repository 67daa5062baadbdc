package dev.tether.core.internal;

import dev.tether.core.spi.ErrorHandler;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;

/**
 * Runs the tasks of one session one at a time, in submission order, on a shared pool, and
 * signals when too many are waiting so that the transport can stop reading from that session.
 *
 * <p>At most one drain task per executor is in the pool at any time. It runs a bounded batch and
 * then goes back to the end of the pool's queue, so one busy session cannot starve the others
 * sharing the pool.
 *
 * <p>Backpressure: {@link Backpressure#saturated} runs when {@link #pending()} reaches
 * {@code highWater}, {@link Backpressure#drained} when it falls back to {@code lowWater} after
 * that. The two strictly alternate and never overlap: each transition waits until the previous
 * callback has returned, so a suspend can never be overtaken by the resume that should have
 * followed it.
 *
 * <p>Memory: one executor exists per session, and most sessions are idle, so an executor holds
 * only its state, its owner and the {@link Settings} it shares with every other executor of its
 * hub; it is its own drain task.
 *
 * <p>Threading: {@link #execute} and {@link #pending} may be called from any thread and never
 * block. Tasks run on pool threads, never two at once, with each task's effects visible to the
 * next. {@link #run} is the drain: only the pool calls it.
 */
public final class SerialExecutor implements Executor, Runnable {

    /**
     * What the executors of one hub share.
     *
     * @param pool      shared pool that runs the drain tasks
     * @param highWater pending count at which {@link Backpressure#saturated} runs on the
     *                  submitting thread
     * @param lowWater  pending count at which {@link Backpressure#drained} runs on a pool thread,
     *                  after a saturation
     * @param errors    receives failures: {@code "handler"} for a task that threw,
     *                  {@code "executor.rejected"} when the pool refused the drain task
     */
    public record Settings(Executor pool, int highWater, int lowWater, ErrorHandler errors) {
        /** @throws IllegalArgumentException unless {@code highWater > lowWater >= 0} */
        public Settings {
            Objects.requireNonNull(pool, "pool");
            Objects.requireNonNull(errors, "errors");
            if (lowWater < 0) {
                throw new IllegalArgumentException("lowWater must be >= 0, got " + lowWater);
            }
            if (highWater <= lowWater) {
                throw new IllegalArgumentException("highWater must be > lowWater (" + lowWater
                        + "), got " + highWater);
            }
        }
    }

    /** The owner's side of backpressure. Both must be quick and should not throw. */
    public interface Backpressure {
        /** For an owner with nothing to slow down. */
        Backpressure NONE = new Backpressure() {
            @Override
            public void saturated() {
            }

            @Override
            public void drained() {
            }
        };

        /** Too many tasks wait: typically suspends reads. On the submitting thread. */
        void saturated();

        /** The tasks fell back to the low mark after a saturation: typically resumes reads. On a pool thread. */
        void drained();
    }

    private static final System.Logger LOG = System.getLogger(ServerLog.CORE);

    /** Long enough to amortise a pool hand-off, short enough to keep sessions fair. */
    private static final int BATCH = 64;

    // The pending count and the backpressure phase share one long so that deciding a transition
    // and observing the count that justifies it is a single atomic step.
    private static final long COUNT_MASK = 0xFFFF_FFFFL;
    private static final int PHASE_SHIFT = 32;
    private static final int NORMAL = 0;
    /** saturated() is running; no drained transition may start until it returns. */
    private static final int SATURATING = 1;
    private static final int SATURATED = 2;
    /** drained() is running; no saturated transition may start until it returns. */
    private static final int DRAINING = 3;

    private static final AtomicLongFieldUpdater<SerialExecutor> STATE =
            AtomicLongFieldUpdater.newUpdater(SerialExecutor.class, "state");
    private static final AtomicIntegerFieldUpdater<SerialExecutor> SCHEDULED =
            AtomicIntegerFieldUpdater.newUpdater(SerialExecutor.class, "scheduled");
    private static final AtomicReferenceFieldUpdater<SerialExecutor, Node> TAIL =
            AtomicReferenceFieldUpdater.newUpdater(SerialExecutor.class, Node.class, "tail");

    private final Settings settings;
    private final Backpressure owner;
    /*
     * The tasks: an intrusive multi-producer, single-consumer linked queue (Vyukov's). One
     * executor exists per session and most sessions are idle, so an empty queue is one 24-byte
     * node rather than an array queue and its first chunk (about 150 bytes); a task costs one node.
     * head: the consumer's (the drain's) last node taken, whose task is already gone; tail: the
     * node producers append after, swapped by each offer.
     */
    private Node head = new Node(null);
    private volatile Node tail = head;

    private volatile long state;
    private volatile int scheduled;

    /**
     * Creates an executor for one session. Safe to call from any thread.
     *
     * @param settings what the hub's executors share
     * @param owner    told when the tasks pile up and when they have drained
     */
    public SerialExecutor(Settings settings, Backpressure owner) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.owner = Objects.requireNonNull(owner, "owner");
    }

    /**
     * Queues {@code task} to run after every task previously submitted to this executor. Safe to
     * call from any thread; never blocks and never rejects for being over {@code highWater}. If
     * the pool rejects the drain task, the rejection is reported and the tasks stay queued until
     * a later call retries.
     *
     * @param task the task
     */
    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        // Count before publishing so the drain's decrement can never run ahead of the increment.
        long s = STATE.incrementAndGet(this);
        boolean saturating = false;
        while (phase(s) == NORMAL && count(s) >= settings.highWater()) {
            if (STATE.compareAndSet(this, s, withPhase(s, SATURATING))) {
                saturating = true;
                break;
            }
            s = state;
        }
        offer(task);
        trySchedule();
        if (saturating) {
            signalSaturated();
        }
    }

    /**
     * Returns the number of tasks submitted and not yet finished, including one that is running.
     * Safe to call from any thread.
     *
     * @return the pending count
     */
    public int pending() {
        return count(state);
    }

    private void signalSaturated() {
        try {
            owner.saturated();
        } catch (Throwable error) {
            report("executor.saturated", error);
        }
        long s;
        do {
            s = state;
        } while (!STATE.compareAndSet(this, s, withPhase(s, SATURATED)));
        // The pool may have drained below lowWater while saturated() ran; that decrement saw
        // SATURATING and did nothing, so make sure a drain pass comes to signal drained.
        if (count(s) <= settings.lowWater()) {
            trySchedule();
        }
    }

    /** The drain: runs a batch of tasks. Only the pool calls it, never two at once. */
    @Override
    public void run() {
        Runnable task;
        for (int i = 0; i < BATCH && (task = poll()) != null; i++) {
            try {
                task.run();
            } catch (Throwable error) {
                report("handler", error);
            }
            long s = STATE.decrementAndGet(this);
            if (phase(s) == SATURATED && count(s) <= settings.lowWater()) {
                signalDrainedIfDue();
            }
        }
        signalDrainedIfDue();
        scheduled = 0;
        // Re-check after clearing the flag: a submitter that saw it set relied on this pass.
        if (!isEmpty() || drainedDue(state)) {
            trySchedule();
        }
    }

    /** Any thread. The swap orders producers; the link makes the task visible to the consumer. */
    private void offer(Runnable task) {
        Node node = new Node(task);
        TAIL.getAndSet(this, node).next = node;
    }

    /**
     * The drain's thread only. Waits out a producer between its swap and its link (a few
     * instructions), as JCTools' {@code poll} does, so that a task counted as queued is never
     * reported missing.
     */
    private Runnable poll() {
        Node next = head.next;
        if (next == null) {
            if (tail == head) {
                return null;
            }
            while ((next = head.next) == null) {
                Thread.onSpinWait();
            }
        }
        Node taken = head;
        head = next;
        // A node that outlives a young collection must not keep the ones after it alive (GC
        // nepotism): the spent head points to itself, as JCTools' linked queues do.
        Node.NEXT.lazySet(taken, taken);
        Runnable task = next.task;
        next.task = null; // the node stays as head: let the task go
        return task;
    }

    /** The drain's thread only. */
    private boolean isEmpty() {
        return tail == head;
    }

    private static final class Node {
        static final AtomicReferenceFieldUpdater<Node, Node> NEXT =
                AtomicReferenceFieldUpdater.newUpdater(Node.class, Node.class, "next");

        Runnable task;
        volatile Node next;

        Node(Runnable task) {
            this.task = task;
        }
    }

    private void signalDrainedIfDue() {
        long s = state;
        while (drainedDue(s)) {
            if (STATE.compareAndSet(this, s, withPhase(s, DRAINING))) {
                try {
                    owner.drained();
                } catch (Throwable error) {
                    report("executor.drained", error);
                }
                long t;
                do {
                    t = state;
                } while (!STATE.compareAndSet(this, t, withPhase(t, NORMAL)));
                // If submissions pushed the count back over highWater meanwhile, the next
                // execute() sees NORMAL over the mark and signals saturation on its own thread.
                return;
            }
            s = state;
        }
    }

    private boolean drainedDue(long s) {
        return phase(s) == SATURATED && count(s) <= settings.lowWater();
    }

    private void trySchedule() {
        if (scheduled != 0 || !SCHEDULED.compareAndSet(this, 0, 1)) {
            return;
        }
        try {
            settings.pool().execute(this);
        } catch (RuntimeException e) {
            // Clear the flag so the next execute() retries; the tasks stay queued.
            scheduled = 0;
            if (settings.pool() instanceof java.util.concurrent.ExecutorService s && s.isShutdown()) {
                // The hub closed its pool: callbacks of connections that close after it are dropped.
                LOG.log(System.Logger.Level.DEBUG, "tether: callback after the handler pool shut down, dropped");
                return;
            }
            report("executor.rejected", e);
        }
    }

    private void report(String context, Throwable error) {
        try {
            settings.errors().onError(context, error);
        } catch (Throwable ignored) {
            // ErrorHandler's contract says it never throws; the drain must survive one that does.
        }
    }

    private static int count(long s) {
        return (int) (s & COUNT_MASK);
    }

    private static int phase(long s) {
        return (int) (s >>> PHASE_SHIFT);
    }

    private static long withPhase(long s, int phase) {
        return (s & COUNT_MASK) | ((long) phase << PHASE_SHIFT);
    }

    @Override
    public String toString() {
        long s = state;
        return "SerialExecutor[pending=" + count(s) + ", phase=" + phase(s) + "]";
    }
}
